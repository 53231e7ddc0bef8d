"""Ctrl-C and SIGTERM as one KeyboardInterrupt, also when the first one lands where Python cannot raise it."""

import os
import signal
import time
import weakref

import pytest

from optimizer import interrupts


def wait_for_interrupt(seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.01)


def test_sigterm_raises_keyboard_interrupt_and_is_remembered():
    with interrupts.as_keyboard_interrupt():
        assert not interrupts.received()
        with pytest.raises(KeyboardInterrupt, match="signal 15"):
            os.kill(os.getpid(), signal.SIGTERM)
            wait_for_interrupt()
        assert interrupts.received()
    assert signal.getsignal(signal.SIGTERM) is not interrupts.raise_interrupt  # restored


def test_an_interrupt_swallowed_by_a_weakref_callback_comes_again():
    class Referent:
        pass

    def callback(_ref):  # as if the signal had landed in garbage collection's callback
        raise KeyboardInterrupt("signal 15")

    with interrupts.as_keyboard_interrupt():
        referent = Referent()
        ref = weakref.ref(referent, callback)
        with pytest.raises(KeyboardInterrupt, match="signal 15"):
            del referent  # the callback's exception is unraisable: Python would print it and go on
            wait_for_interrupt()
        assert ref() is None
