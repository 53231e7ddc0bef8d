"""Real servers and worker processes for the crash and fleet tests: PostgreSQL on loopback, `archopt search` workers.

No mock and no SQLite stand-in: the server is Debian's `postgresql` package (what `.ci/run` installs), started in a
temporary folder on a free port. initdb refuses to run as root, so as root it runs as the `postgres` user.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator

import optuna

from optimizer.study.concurrent_retry import retry_concurrent
from optimizer.study.storage import normalize_url

PG_BIN = Path("/usr/lib/postgresql/15/bin")
# A space whose trials take about 2 s: the build sleeps, so that a test can kill a worker in the
# middle of a trial.
TINY_SPACE = '''
import time
import keras

def build(hp):
    units = hp.Int("units", 4, 256)
    time.sleep(1.5)
    return keras.Sequential([
        keras.Input((28, 28, 1)), keras.layers.Flatten(),
        keras.layers.Dense(units, activation="relu"), keras.layers.Dense(10, activation="softmax"),
    ])
'''
TINY_BUDGET = [
    "--finalists",
    "0",
    "--train-steps",
    "20",
    "--train-size",
    "500",
    "--val-size",
    "200",
    "--timing-s",
    "0.1",
    "--batch-size",
    "32",
]


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Start PostgreSQL on 127.0.0.1 and yield its URL; stop it and delete its files after."""
    root = Path(tempfile.mkdtemp(prefix="archopt-pg-"))
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:
        shutil.chown(root, user="postgres")
    data, port = root / "data", _free_port()
    try:
        _run(as_postgres + [str(PG_BIN / "initdb"), "-D", str(data), "-U", "archopt", "--auth=trust"], root)
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
        _run(
            as_postgres
            + [str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-o", options, "start"],
            root,
        )
        _run(
            as_postgres + [str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "archopt", "archopt"],
            root,
        )
        yield f"postgresql://archopt@127.0.0.1:{port}/archopt"
    finally:
        subprocess.run(
            as_postgres + [str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)


def _run(command: list[str], root: Path) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:  # the test errors: a fleet test never passes by skipping its server
        log = (root / "log").read_text() if (root / "log").exists() else ""
        raise RuntimeError(f"{command[-1]!r} failed ({done.returncode}): {done.stderr.strip()} {log[-2000:]}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker(args: list[str], *, log: Path, heartbeat_s: int = 1, grace_s: int = 4) -> subprocess.Popen:
    """`archopt search ARGS` as a separate process, with short heartbeats; output to ``log``."""
    env = {
        **os.environ,
        "ARCHOPT_HEARTBEAT_S": str(heartbeat_s),
        "ARCHOPT_GRACE_S": str(grace_s),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    # One process per worker (no supervisor): the trials' recorded pid is the pid a test kills.
    command = [sys.executable, "-m", "optimizer.cli", "search", "--no-progress", "--trials-per-process", "0", *args]
    return subprocess.Popen(
        command, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env, cwd=Path(__file__).parents[1]
    )


def trials(url: str, study: str) -> list[optuna.trial.FrozenTrial]:
    """The study's trials as another process sees them (a plain storage: no heartbeat of its own)."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return []  # the worker has not created it yet
    try:
        # The observer's first poll may create Optuna's tables at the moment the worker does: the
        # loser of that race retries as a worker would (CI saw "table studies already exists" here).
        return optuna.load_study(study_name=study, storage=retry_concurrent(lambda: _observer(url))).get_trials()
    except KeyError:  # not created yet
        return []


@functools.cache
def _observer(url: str) -> optuna.storages.RDBStorage:
    # One storage (one connection pool) for all polls: a new one per poll would exhaust the server's
    # connections. pool_pre_ping: a later test's server may reuse the port, and a pooled connection
    # to the stopped one is dead.
    return optuna.storages.RDBStorage(normalize_url(url), engine_kwargs={"pool_pre_ping": True})


def wait_for(condition: Callable[[], bool], *, what: str, timeout: float = 240, procs: tuple = ()) -> None:
    """Poll until ``condition()``; fail naming ``what`` if it never holds or a worker exits early."""
    deadline = time.monotonic() + timeout
    while not condition():
        for proc in procs:
            if proc.poll() is not None:
                raise AssertionError(f"a worker exited ({proc.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def kill_mid_trial(proc: subprocess.Popen, url: str, study: str) -> int:
    """SIGKILL ``proc`` once it has completed a trial and is inside another; returns that trial's number."""
    def mine(state):  # a trial with params: it is past the suggestions, in the build's sleep or later
        return [t for t in trials(url, study) if t.user_attrs.get("pid") == proc.pid and t.state == state and t.params]

    wait_for(lambda: mine(optuna.trial.TrialState.COMPLETE) and mine(optuna.trial.TrialState.RUNNING),
             what=f"pid {proc.pid} to complete a trial and start another", procs=(proc,))
    proc.send_signal(signal.SIGKILL)
    (running,) = mine(optuna.trial.TrialState.RUNNING)
    return running.number
