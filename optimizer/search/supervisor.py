"""Run a long search as a series of worker processes that each exit after a few trials.

TensorFlow keeps memory from every model ``fit`` trains (keras-team/keras#17458); a process that exits returns it,
and the study's storage carries the search on. The supervisor starts workers, forwards Ctrl-C and SIGTERM, and never
imports TensorFlow. See docs/development.md.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time

ENV_WORKER = "ARCHOPT_WORKER"
ENV_DEADLINE = "ARCHOPT_DEADLINE"
EXIT_MORE = 75  # a worker at its trial quota, the search not over (EX_TEMPFAIL)
STOP_GRACE_S = 60.0  # seconds a worker has to exit once Ctrl-C or SIGTERM was forwarded to it


def is_worker() -> bool:
    return os.environ.get(ENV_WORKER) == "1"


def remaining_timeout(timeout: float | None) -> float | None:
    """In a worker, what is left of the supervisor's --timeout; elsewhere ``timeout`` itself."""
    deadline = os.environ.get(ENV_DEADLINE) if is_worker() else None
    return max(0.0, float(deadline) - time.time()) if deadline else timeout


def supervise(argv: list[str], *, timeout: float | None) -> int:
    """Start workers running ``archopt <argv>`` one after another until one says the search is over."""
    env = {**os.environ, ENV_WORKER: "1"}
    if timeout is not None:
        env[ENV_DEADLINE] = str(time.time() + timeout)
    stop: list[int] = []  # signals received: once asked to stop, no new worker starts
    code = EXIT_MORE
    while code == EXIT_MORE and not stop:
        code = _run_worker(argv, env=env, stop=stop)
    if stop and code == EXIT_MORE:  # the signal came as the worker ended its quota: stopped all the same
        raise KeyboardInterrupt(f"signal {stop[0]}")
    return code if code >= 0 else 128 - code  # a worker ended by a signal: the shell's 128 + signal number


def _run_worker(argv: list[str], *, env: dict, stop: list[int]) -> int:
    # A session of its own: Ctrl-C reaches only the supervisor, which forwards it once.
    worker = subprocess.Popen(
        [sys.executable, "-m", "optimizer.cli", *argv], env=env, start_new_session=True, preexec_fn=_die_with_parent
    )

    # A stopped worker has recorded its trial before it exits; one that has not exited STOP_GRACE_S later
    # (TensorFlow was once seen hanging in its exit after an interrupted trial) is killed.
    grace = threading.Timer(STOP_GRACE_S, worker.kill)
    grace.daemon = True

    def forward(signum: int, frame: object) -> None:
        stop.append(signum)
        worker.send_signal(signum)
        if len(stop) == 1:  # the first signal starts the grace
            grace.start()

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = worker.wait()
    finally:
        grace.cancel()
        for s, handler in previous.items():
            signal.signal(s, handler)
    if stop and code in (EXIT_MORE, -signal.SIGKILL):  # stopped at the end of its quota, or killed after the grace
        raise KeyboardInterrupt(f"signal {stop[0]}")
    return code


def _die_with_parent() -> None:
    """Linux: if the supervisor is killed (SIGKILL, power loss of its terminal), its worker dies with it."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: a worker then finishes its few trials alone
        pass
