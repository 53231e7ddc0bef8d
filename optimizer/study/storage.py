"""The study's storage, made crash-safe: heartbeats, retried trials, and dead workers' trials failed.

A trial whose worker dies (SIGKILL, power loss, a lost machine) would stay RUNNING forever.
Two of Optuna's own mechanisms end that: every running trial's worker writes a heartbeat, and
a trial whose heartbeat is older than the grace period is failed by the next worker that looks
(``fail_stale``), its parameters queued again with ``RetryHeartbeatStaleTrialCallback``. A
restarted worker does not wait out the grace period for its own machine: a RUNNING trial
recorded with this host and a process id that no longer exists is failed at once.
"""

from __future__ import annotations

import contextlib
import copy
import os
import socket
import warnings
from typing import Iterator

import optuna
import sqlalchemy
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState

from optimizer.defaults import ENV_STORAGE
from optimizer.errors import ArchoptError, first_line
from optimizer.optional import try_import
from optimizer.optuna_private import stale_trial_ids, storage_of, trial_id
from optimizer.study.concurrent_retry import retry_concurrent

# Heartbeat every minute; a trial silent for three has lost its worker
# (a long GC or swap pause is shorter).
HEARTBEAT_S = int(os.environ.get("ARCHOPT_HEARTBEAT_S", "60"))
GRACE_S = int(os.environ.get("ARCHOPT_GRACE_S", "180"))
MAX_RETRY = (
    2  # a candidate that kills its worker every time (the OOM killer) is tried 3 times
)


class RetryStale(RetryHeartbeatStaleTrialCallback):
    """Optuna's retry, without carrying the dead trial's measurements into the new one."""

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        fresh = copy.copy(trial)
        fresh.user_attrs = {"retry_of": trial.number}
        super().__call__(study, fresh)


def normalize_url(url: str) -> str:
    """``url`` as Optuna and optuna-dashboard read it: SQLAlchemy URLs unchanged, ``postgres://`` as ``postgresql://``.

    A bare ``postgresql://`` uses SQLAlchemy's default driver (psycopg 3 since SQLAlchemy 2.1), which
    `archopt[postgres]` installs; ``postgresql+psycopg2://`` and other ``+driver`` forms name theirs, as in Optuna.
    """
    scheme, sep, rest = url.partition("://")
    return f"postgresql://{rest}" if sep and scheme == "postgres" else url


def make_storage(url: str, *, heartbeat_s: int = HEARTBEAT_S, grace_s: int = GRACE_S) -> RDBStorage:
    """An RDB storage with heartbeats for ``url``; an unreachable or unusable URL is one-line ArchoptError."""
    driver = try_import(
        feature=f"storage {redact(url)}", install="'archopt[postgres]' for PostgreSQL, or this database's driver"
    )
    try:
        with _no_experimental_warning(), driver:
            # Retried: workers started at once on a new database all create the tables (see fleet).
            storage = retry_concurrent(lambda: RDBStorage(
                normalize_url(url), heartbeat_interval=heartbeat_s, grace_period=grace_s,
                heartbeat_stale_trial_callback=RetryStale(max_retry=MAX_RETRY),
                engine_kwargs=_engine_kwargs(url),
            ))
    except Exception as error:  # SQLAlchemy's many errors for a bad scheme, host, password or database.
        raise ArchoptError(f"cannot open storage {redact(url)}: {type(error).__name__}: {first_line(error)}") from None
    driver.check()  # the database's driver is not installed
    if url.startswith("sqlite"):
        _write_ahead(storage)
    return storage


def _write_ahead(storage: RDBStorage) -> None:
    """SQLite in WAL mode with normal sync: each small commit of a trial (a parameter, its measurements, its state)
    costs a third as much.

    WAL also lets the heartbeat thread write while the trial's own writes wait less. A killed process loses
    nothing committed; only a power cut can lose the last transactions, never corrupt the file.
    """
    def on_connect(connection, _record) -> None:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")

    sqlalchemy.event.listen(storage.engine, "connect", on_connect)
    storage.engine.dispose()  # connections opened before the listener reconnect with it


def _engine_kwargs(url: str) -> dict:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 60}}  # heartbeats and trials: wait for the lock
    # pool_pre_ping: a connection dropped overnight is replaced instead of failing a trial.
    return (
        {"pool_pre_ping": True, "connect_args": {"connect_timeout": 10}}
        if url.startswith("postgres")
        else {"pool_pre_ping": True}
    )


def is_shared(url: str) -> bool:
    """Whether workers on other machines may use this storage (anything but a SQLite file)."""
    return not url.startswith("sqlite")


def fail_stale(study: optuna.Study) -> list[int]:
    """Fail the RUNNING trials whose worker is dead, with the reason, and queue their parameters again."""
    failed = []
    stale_ids = stale_trial_ids(study)  # Optuna's heartbeat verdict
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        reason = _death(trial, heartbeat_stale=trial_id(trial) in stale_ids)
        if reason and _fail(study, trial, reason=reason):
            retry(study, trial.number)
            failed.append(trial.number)
    return failed


def _death(trial: FrozenTrial, *, heartbeat_stale: bool) -> str | None:
    host, pid = trial.user_attrs.get("host"), trial.user_attrs.get("pid")
    if host == socket.gethostname() and isinstance(pid, int) and pid != os.getpid() and not alive(pid):
        return f"its worker (pid {pid} on {host}) died mid-trial (killed, crashed or lost power); retried."
    if heartbeat_stale:
        return (
            f"its worker ({pid or '?'} on {host or '?'}) sent no heartbeat for {GRACE_S} s (killed or lost); retried."
        )
    return None


def _fail(study: optuna.Study, trial: FrozenTrial, *, reason: str) -> bool:
    """Record why, then fail; False when another worker got there first."""
    storage, tid = storage_of(study), trial_id(trial)
    try:
        storage.set_trial_user_attr(tid, "fail_reason", reason)
        return storage.set_trial_state_values(tid, state=TrialState.FAIL)
    except optuna.exceptions.UpdateFinishedTrialError:
        return False


def retry(study: optuna.Study, number: int) -> None:
    """Queue trial ``number``'s parameters again (after a Ctrl-C or SIGTERM stopped it)."""
    trial = next(t for t in study.get_trials(deepcopy=True) if t.number == number)
    with _no_experimental_warning():
        RetryStale(max_retry=MAX_RETRY)(study, trial)


@contextlib.contextmanager
def _no_experimental_warning() -> Iterator[None]:
    # Heartbeats and their retry callback are "experimental" (Optuna 2.8): noise in each log.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield


def alive(pid: object) -> bool:
    """Whether a process of this id runs on this machine (a pid that is no int: no)."""
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


MASK = "***"


def masked(url: str) -> str:
    """``url`` with its password replaced by ``***`` (the user, host and database kept): what run.json records."""
    parsed = _parsed(url)
    return url if parsed is None or parsed.password is None else parsed.render_as_string(hide_password=True)


def unmasked(recorded: str, *, given: str | None) -> str:
    """The URL that ``recorded`` (run.json's, its password masked) names, with the password of ``given`` (--storage)
    or else of the environment's ARCHOPT_DB, which must name the same database."""
    parsed = _parsed(recorded)
    if parsed is None or parsed.password != MASK:
        return recorded  # no masked password: nothing to restore
    source, url = ("--storage", given) if given else (f"${ENV_STORAGE}", os.environ.get(ENV_STORAGE))
    if not url:
        raise ArchoptError(f"run.json records the storage {recorded} without its password; give the URL with "
                           f"--storage or in the environment variable {ENV_STORAGE}.")
    if masked(url) != recorded:
        raise ArchoptError(f"{source} names the storage {masked(url)}, but this run's study is on {recorded}.")
    return url


def _parsed(url: str) -> sqlalchemy.engine.URL | None:
    try:
        return sqlalchemy.engine.make_url(url)
    except sqlalchemy.exc.ArgumentError:
        return None


def redact(storage: object) -> str:
    """The URL without its password: error messages end up in logs."""
    text = str(storage)
    if "://" in text and "@" in text:
        scheme, rest = text.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return text
