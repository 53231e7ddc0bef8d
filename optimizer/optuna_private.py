"""Every use of Optuna's private API, in one place; tests/test_optuna_private.py pins each one.

Optuna has no public way to: ask which RUNNING trials' heartbeats are stale without failing them (archopt records
why first), reach a study's storage and a trial's storage id, or write many user attributes of a trial in one
transaction, add study attributes only where absent (first writer wins), correct a finished trial's values
(re-timing), or show a sampler another view of the trials (``TrialsView``). Everything else in archopt uses
Optuna's public API. Tested with Optuna 4.4-5.x (see pyproject.toml).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from typing import Any

import optuna
from optuna.storages import BaseStorage, RDBStorage
from optuna.trial import FrozenTrial


def storage_of(study: optuna.Study) -> BaseStorage:
    """The storage object a study reads and writes (``Study._storage``)."""
    return study._storage


def trial_id(trial: FrozenTrial | optuna.Trial) -> int:
    """A trial's id in its storage (``_trial_id``), which storage calls take instead of its number."""
    return trial._trial_id


def stale_trial_ids(study: optuna.Study) -> set[int]:
    """Ids of the RUNNING trials whose heartbeat is older than the grace period (Optuna's own verdict)."""
    return set(study._storage._get_stale_trial_ids(study._study_id))


def rdb_backend(trial: Any) -> RDBStorage | None:
    """The RDB storage behind a live trial (under Optuna's cache), or None for a FixedTrial or another storage."""
    backend = getattr(getattr(trial, "storage", None), "_backend", None)
    return backend if isinstance(backend, RDBStorage) else None


def upsert_user_attrs(backend: RDBStorage, trial: optuna.Trial, attrs: dict) -> None:
    """Write ``attrs`` in one transaction: one multi-row upsert on SQLite and PostgreSQL, per key elsewhere."""
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    tid = trial_id(trial)
    with _create_scoped_session(backend.scoped_session, True) as session:
        backend.check_trial_is_updatable(tid, models.TrialModel.find_or_raise_by_id(tid, session).state)
        upsert = _bulk_upsert(backend.engine.name, trial_id=tid, attrs=attrs)
        if upsert is not None:
            session.execute(upsert)
        else:
            for key, value in attrs.items():
                backend._set_trial_attr_without_commit(session, models.TrialUserAttributeModel, tid, key, value)
    trial._cached_frozen_trial.user_attrs.update(attrs)  # as Trial.set_user_attr keeps it


def _bulk_upsert(dialect: str, *, trial_id: int, attrs: dict) -> Any:
    """One INSERT ... ON CONFLICT DO UPDATE for every attribute (the statement Optuna runs per key), or None."""
    from optuna.storages._rdb.models import TrialUserAttributeModel as Model
    from sqlalchemy.dialects import postgresql, sqlite

    if dialect not in ("sqlite", "postgresql") or not attrs:
        return None
    rows = [{"trial_id": trial_id, "key": key, "value_json": json.dumps(value)} for key, value in attrs.items()]
    insert = (sqlite if dialect == "sqlite" else postgresql).insert(Model).values(rows)
    return insert.on_conflict_do_update(
        index_elements=[Model.trial_id, Model.key], set_={"value_json": insert.excluded.value_json}
    )


def insert_study_user_attrs(study: optuna.Study, attrs: dict) -> None:
    """Add ``attrs`` to the study's user attributes unless another worker added any of them first; never overwrite.

    Optuna's ``set_user_attr`` overwrites, so of two workers that join a study at once the later would replace the
    earlier's settings. This inserts every row in one transaction, which the unique (study, key) index fails as a
    whole when another worker got there first; the caller then reads theirs.
    """
    storage = storage_of(study)
    backend = getattr(storage, "_backend", storage)
    if not isinstance(backend, RDBStorage):
        for key, value in attrs.items():
            if key not in study.user_attrs:
                study.set_user_attr(key, value)
        return
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    with _create_scoped_session(backend.scoped_session, True) as session:  # True: ignore lost races
        session.add_all([models.StudyUserAttributeModel(study_id=study._study_id, key=key, value_json=json.dumps(value))
                         for key, value in attrs.items()])


def overwrite_values(
    study: optuna.Study, values: dict[int, Sequence[float]], *, user_attrs: dict[int, dict] | None = None
) -> None:
    """Replace finished trials' ``values`` (number -> every objective's) and upsert their ``user_attrs``, in one commit.

    Re-timing corrects a finished trial's step time, and whatever reads the study (``best_trials``, the dashboard)
    must see the corrected one. Optuna has no public API to edit a finished trial, so this writes the RDB models
    (tests/optimizer/results/test_trial_values.py pins them) and updates this process's cache of finished trials.
    """
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    storage, user_attrs = storage_of(study), user_attrs or {}
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
    cached = getattr(storage, "_studies", {}).get(study._study_id)  # finished trials, kept forever
    for number in numbers if cached is not None else ():
        if number in cached.trials:
            trial = copy.copy(cached.trials[number])
            trial.values = list(values.get(number, trial.values))
            trial.user_attrs = {**trial.user_attrs, **user_attrs.get(number, {})}
            cached.trials[number] = trial


class TrialsView:
    """A study as a sampler sees it: its trials passed through ``shown``; everything else is the study's own.

    Samplers read a study's trials through the private ``Study._get_trials`` (TPE once per group of knobs and
    proposal), so the view answers that call and ``get_trials``: all trials go through ``shown`` (which may change a
    trial's state, e.g. a stopped candidate shown as scored), then the caller's ``states`` filter applies.
    """

    def __init__(self, study: optuna.Study, *, shown: Callable[[list[FrozenTrial]], list[FrozenTrial]]) -> None:
        self._study = study
        self._shown = shown

    def __getattr__(self, name: str) -> Any:
        return getattr(self._study, name)

    def _get_trials(self, deepcopy: bool = True, states: Any = None, use_cache: bool = False) -> list[FrozenTrial]:
        trials = self._shown(self._study._get_trials(deepcopy=deepcopy, states=None, use_cache=use_cache))
        return [t for t in trials if states is None or t.state in states]

    def get_trials(self, deepcopy: bool = True, states: Any = None) -> list[FrozenTrial]:
        return self._get_trials(deepcopy=deepcopy, states=states)

    @property
    def trials(self) -> list[FrozenTrial]:
        return self.get_trials()
