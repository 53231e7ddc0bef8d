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
import json
import os
import socket
import warnings
from typing import Any, Iterator, Sequence

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState

from optimizer.errors import ArchoptError, first_line

# Heartbeat every minute; a trial silent for three is its worker's death (a long GC or swap pause is not).
HEARTBEAT_S = int(os.environ.get("ARCHOPT_HEARTBEAT_S", "60"))
GRACE_S = int(os.environ.get("ARCHOPT_GRACE_S", "180"))
MAX_RETRY = 2  # a candidate that kills its worker every time (e.g. the kernel's OOM killer) is tried 3 times, not forever


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
    try:
        with _no_experimental_warning():
            storage = RDBStorage(
                normalize_url(url), heartbeat_interval=heartbeat_s, grace_period=grace_s,
                heartbeat_stale_trial_callback=RetryStale(max_retry=MAX_RETRY),
                engine_kwargs=_engine_kwargs(url),
            )
    except ImportError as error:  # Optuna re-raises the driver's ModuleNotFoundError as an ImportError
        missing = getattr(error.__cause__, "name", None) or "database"
        raise ArchoptError(f"storage {redact(url)} needs the {missing} driver, which is not installed (for PostgreSQL: pip install 'archopt[postgres]').") from None
    except Exception as error:  # SQLAlchemy's many errors for a bad scheme, host, password or database.
        raise ArchoptError(f"cannot open storage {redact(url)}: {type(error).__name__}: {first_line(error)}") from None
    if url.startswith("sqlite"):
        _write_ahead(storage)
    return storage


def _write_ahead(storage: RDBStorage) -> None:
    """SQLite in WAL mode with normal sync: each small commit of a trial (a parameter, its measurements, its state)
    costs a third as much.

    WAL also lets the heartbeat thread write while the trial's own writes wait less. A killed process loses
    nothing committed; only a power cut can lose the last transactions, never corrupt the file.
    """
    import sqlalchemy

    def on_connect(connection, _record) -> None:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")

    sqlalchemy.event.listen(storage.engine, "connect", on_connect)
    storage.engine.dispose()  # connections opened before the listener reconnect with it


def _engine_kwargs(url: str) -> dict:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 60}}  # heartbeats and trials write at once: wait for the lock
    # pool_pre_ping: a connection the server dropped overnight is replaced instead of failing a trial.
    return {"pool_pre_ping": True, "connect_args": {"connect_timeout": 10}} if url.startswith("postgres") else {"pool_pre_ping": True}


def is_shared(url: str) -> bool:
    """Whether workers on other machines may use this storage (anything but a SQLite file)."""
    return not url.startswith("sqlite")


def fail_stale(study: optuna.Study) -> list[int]:
    """Fail the RUNNING trials whose worker is dead, with the reason, and queue their parameters again."""
    failed = []
    stale_ids = set(study._storage._get_stale_trial_ids(study._study_id))  # Optuna's heartbeat verdict
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        reason = _death(trial, heartbeat_stale=trial._trial_id in stale_ids)
        if reason and _fail(study, trial, reason=reason):
            retry(study, trial.number)
            failed.append(trial.number)
    return failed


def _death(trial: FrozenTrial, *, heartbeat_stale: bool) -> str | None:
    host, pid = trial.user_attrs.get("host"), trial.user_attrs.get("pid")
    if host == socket.gethostname() and isinstance(pid, int) and pid != os.getpid() and not _alive(pid):
        return f"its worker (pid {pid} on {host}) died mid-trial (killed, crashed or lost power); retried."
    if heartbeat_stale:
        return f"its worker ({pid or '?'} on {host or '?'}) sent no heartbeat for {GRACE_S} s (killed or lost); retried."
    return None


def _fail(study: optuna.Study, trial: FrozenTrial, *, reason: str) -> bool:
    """Record why, then fail; False when another worker got there first."""
    storage = study._storage
    try:
        storage.set_trial_user_attr(trial._trial_id, "fail_reason", reason)
        return storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
    except optuna.exceptions.UpdateFinishedTrialError:
        return False


def retry(study: optuna.Study, number: int) -> None:
    """Queue trial ``number``'s parameters again (after a Ctrl-C or SIGTERM stopped it)."""
    trial = next(t for t in study.get_trials(deepcopy=True) if t.number == number)
    with _no_experimental_warning():
        RetryStale(max_retry=MAX_RETRY)(study, trial)


def set_user_attrs(trial: optuna.Trial | optuna.trial.FixedTrial, attrs: dict) -> None:
    """Write ``attrs`` as the trial's user attributes in one statement and one transaction.

    Optuna writes each ``set_user_attr`` on its own (a lookup, a check, an upsert and a commit per key, ~2.7 ms on
    SQLite here); a trial records about 30 measurements. On SQLite and PostgreSQL this is one multi-row upsert;
    other databases get Optuna's per-key writes in one transaction, and the in-memory ``FixedTrial`` of exports and
    KerasTuner its own ``set_user_attr``.
    """
    backend = getattr(getattr(trial, "storage", None), "_backend", None)
    if not isinstance(backend, RDBStorage):
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
        return
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    with _create_scoped_session(backend.scoped_session, True) as session:
        backend.check_trial_is_updatable(trial._trial_id, models.TrialModel.find_or_raise_by_id(trial._trial_id, session).state)
        upsert = _bulk_upsert(backend.engine.name, trial_id=trial._trial_id, attrs=attrs)
        if upsert is not None:
            session.execute(upsert)
        else:
            for key, value in attrs.items():
                backend._set_trial_attr_without_commit(session, models.TrialUserAttributeModel, trial._trial_id, key, value)
    trial._cached_frozen_trial.user_attrs.update(attrs)  # as Trial.set_user_attr keeps it


def overwrite_values(
    study: optuna.Study, values: dict[int, Sequence[float]], *, user_attrs: dict[int, dict] | None = None
) -> None:
    """Replace finished trials' ``values`` (number -> every objective's) and upsert their ``user_attrs``, in one commit.

    Re-timing corrects a finished trial's step time, and whatever reads the study (``best_trials``, the dashboard)
    must see the corrected one. Optuna has no public API to edit a finished trial, so this writes the RDB models
    (``tests/optimizer/test_trial_values.py`` pins them) and updates this process's cache of finished trials.
    """
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    storage, user_attrs = study._storage, user_attrs or {}
    backend = getattr(storage, "_backend", storage)
    if not isinstance(backend, RDBStorage):
        raise TypeError(f"only an RDB storage's trials can be edited, but the study uses {type(backend).__name__}.")
    numbers = values.keys() | user_attrs.keys()
    ids = {n: storage.get_trial_id_from_study_id_trial_number(study._study_id, n) for n in numbers}
    Value, Attr = models.TrialValueModel, models.TrialUserAttributeModel
    with _create_scoped_session(backend.scoped_session) as session:
        for number, trial_values in values.items():
            rows = {row.objective: row for row in session.query(Value).filter_by(trial_id=ids[number])}
            if sorted(rows) != list(range(len(trial_values))):
                raise ValueError(f"trial {number} has objectives {sorted(rows)}, but got {len(trial_values)} values.")
            for objective, value in enumerate(trial_values):
                rows[objective].value, rows[objective].value_type = Value.value_to_stored_repr(value)
        for number, attrs in user_attrs.items():
            for key, value in attrs.items():
                row = session.query(Attr).filter_by(trial_id=ids[number], key=key).one_or_none()
                if row is None:
                    session.add(Attr(trial_id=ids[number], key=key, value_json=json.dumps(value)))
                else:
                    row.value_json = json.dumps(value)
    cached = getattr(storage, "_studies", {}).get(study._study_id)  # _CachedStorage keeps finished trials forever
    for number in numbers if cached is not None else ():
        if number in cached.trials:
            trial = copy.copy(cached.trials[number])
            trial.values = list(values.get(number, trial.values))
            trial.user_attrs = {**trial.user_attrs, **user_attrs.get(number, {})}
            cached.trials[number] = trial


def _bulk_upsert(dialect: str, *, trial_id: int, attrs: dict) -> Any:
    """One INSERT ... ON CONFLICT DO UPDATE for every attribute (the statement Optuna runs per key), or None."""
    import json

    from optuna.storages._rdb.models import TrialUserAttributeModel as Model
    from sqlalchemy.dialects import postgresql, sqlite

    if dialect not in ("sqlite", "postgresql") or not attrs:
        return None
    rows = [{"trial_id": trial_id, "key": key, "value_json": json.dumps(value)} for key, value in attrs.items()]
    insert = (sqlite if dialect == "sqlite" else postgresql).insert(Model).values(rows)
    return insert.on_conflict_do_update(index_elements=[Model.trial_id, Model.key], set_={"value_json": insert.excluded.value_json})


@contextlib.contextmanager
def _no_experimental_warning() -> Iterator[None]:
    # Heartbeats and their retry callback have been "experimental" since Optuna 2.8: noise in every worker's log.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def redact(storage: object) -> str:
    """The URL without its password: error messages end up in logs."""
    text = str(storage)
    if "://" in text and "@" in text:
        scheme, rest = text.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return text
