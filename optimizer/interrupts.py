"""Ctrl-C and SIGTERM stop a command alike, as one KeyboardInterrupt raised where Python code can take it.

A signal's exception lands wherever the main thread is. Where C code called back into Python (an import that
TensorFlow's C++ makes, a weakref callback during garbage collection) it cannot propagate: Python prints it with a
traceback, or the C code turns it into an unrelated error. There the signal is sent again a moment later instead.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from types import FrameType
from typing import Iterator

_received: list[int] = []  # the signals this command was asked to stop by


def received() -> bool:
    """Whether a stop was asked for: an error raised after it is the interrupt's doing, not a bug."""
    return bool(_received)


@contextlib.contextmanager
def as_keyboard_interrupt() -> Iterator[None]:
    """While inside, SIGINT and SIGTERM raise KeyboardInterrupt("signal N") in plain Python code."""
    _received.clear()
    previous = {signum: signal.signal(signum, raise_interrupt) for signum in (signal.SIGINT, signal.SIGTERM)}
    hook, sys.unraisablehook = sys.unraisablehook, _unraisable(sys.unraisablehook)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        sys.unraisablehook = hook


def raise_interrupt(signum: int, frame: FrameType | None) -> None:
    """The signal handler: raise KeyboardInterrupt, or signal again soon inside an import that C code made."""
    _received.append(signum)
    if frame is not None and frame.f_code.co_filename.startswith("<frozen importlib"):
        _again_soon(signum)
        return
    raise KeyboardInterrupt(f"signal {signum}")


def _unraisable(hook):
    """An unraisable-exception hook that sends a swallowed interrupt's signal again instead of printing it."""

    def handle(unraisable) -> None:
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            return hook(unraisable)
        text = str(unraisable.exc_value)  # "signal 15"; empty from Python's own Ctrl-C handler
        _again_soon(int(text.removeprefix("signal ")) if text.startswith("signal ") else signal.SIGINT)

    return handle


def _again_soon(signum: int) -> None:
    # From another thread a moment later, when the main thread has left the code that can't take it.
    timer = threading.Timer(0.1, os.kill, args=(os.getpid(), signum))
    timer.daemon = True
    timer.start()
