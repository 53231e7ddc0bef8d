"""Every use of Optuna's private API, in one place; tests/test_optuna_private.py pins each one.

Optuna has no public way to: ask which RUNNING trials' heartbeats are stale without failing them (archopt records
why first), reach a study's storage and a trial's storage id, or write many user attributes of a trial in one
transaction, or narrow the trials a sampler reads (``RecentTrials``, pinned by tests/optimizer/study/test_samplers.py).
Everything else in archopt uses Optuna's public API. Tested with Optuna 4.4-5.x (see pyproject.toml).
"""

from __future__ import annotations

import json
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
    return insert.on_conflict_do_update(index_elements=[Model.trial_id, Model.key], set_={"value_json": insert.excluded.value_json})


class RecentTrials:
    """A study as a sampler sees it: every unfinished trial, and only the last ``limit`` finished ones.

    Samplers read a study's trials through the private ``Study._get_trials`` (TPE once per group of knobs and
    proposal), so this view narrows that call and ``get_trials``; everything else is the study's own.
    """

    def __init__(self, study: optuna.Study, *, limit: int) -> None:
        self._study = study
        self._limit = limit

    def __getattr__(self, name: str) -> Any:
        return getattr(self._study, name)

    def _get_trials(self, deepcopy: bool = True, states: Any = None, use_cache: bool = False) -> list[FrozenTrial]:
        return self._recent(self._study._get_trials(deepcopy=deepcopy, states=states, use_cache=use_cache))

    def get_trials(self, deepcopy: bool = True, states: Any = None) -> list[FrozenTrial]:
        return self._recent(self._study.get_trials(deepcopy=deepcopy, states=states))

    @property
    def trials(self) -> list[FrozenTrial]:
        return self.get_trials()

    def _recent(self, trials: list[FrozenTrial]) -> list[FrozenTrial]:
        finished = [t.number for t in trials if t.state.is_finished()]
        if len(finished) <= self._limit:
            return trials
        first = finished[-self._limit]  # trials come in number order
        return [t for t in trials if not t.state.is_finished() or t.number >= first]
