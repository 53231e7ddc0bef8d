"""Pins for every private Optuna call in optimizer/optuna_private.py: each fails when Optuna changes what it uses."""

from __future__ import annotations

import optuna
import pytest
from optuna.storages import RDBStorage
from optuna.trial import TrialState

from optimizer import optuna_private
from optimizer.study import storage
from tests.helpers import age_heartbeat


@pytest.fixture
def study(tmp_path):
    return optuna.create_study(storage=storage.make_storage(f"sqlite:///{tmp_path / 's.db'}", heartbeat_s=1, grace_s=1))


def ask(study) -> optuna.Trial:
    return study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})


def test_storage_of_and_trial_id_reach_the_stored_trial(study):
    trial = ask(study)
    assert isinstance(optuna_private.storage_of(study), optuna.storages.BaseStorage)
    frozen = optuna_private.storage_of(study).get_trial(optuna_private.trial_id(trial))
    assert frozen.number == trial.number and optuna_private.trial_id(study.trials[0]) == optuna_private.trial_id(trial)


def test_stale_trial_ids_names_a_silent_running_trial(tmp_path):
    # A grace period of a minute: the fresh heartbeat is not stale however slow the machine.
    study = optuna.create_study(storage=storage.make_storage(f"sqlite:///{tmp_path / 's.db'}", grace_s=60))
    trial = ask(study)
    optuna_private.storage_of(study).record_heartbeat(optuna_private.trial_id(trial))
    assert optuna_private.stale_trial_ids(study) == set()
    age_heartbeat(study, optuna_private.trial_id(trial), seconds=120)  # silent for twice the grace period
    assert optuna_private.stale_trial_ids(study) == {optuna_private.trial_id(trial)}
    assert study.trials[0].state == TrialState.RUNNING  # asking does not fail it


def test_rdb_backend_is_found_under_the_cache_and_not_for_fixed_trials(study):
    assert isinstance(optuna_private.rdb_backend(ask(study)), RDBStorage)
    assert optuna_private.rdb_backend(optuna.trial.FixedTrial({"x": 0.5})) is None


def test_upsert_user_attrs_overwrites_and_refuses_a_finished_trial(study):
    trial = ask(study)
    backend = optuna_private.rdb_backend(trial)
    optuna_private.upsert_user_attrs(backend, trial, {"a": 1, "b": [1, 2]})
    optuna_private.upsert_user_attrs(backend, trial, {"a": 2})
    assert study.trials[0].user_attrs == {"a": 2, "b": [1, 2]} and trial.user_attrs["a"] == 2
    study.tell(trial, [0.5, 1.0] if len(study.directions) == 2 else 0.5)
    with pytest.raises(RuntimeError):  # Optuna's UpdateFinishedTrialError
        optuna_private.upsert_user_attrs(backend, trial, {"a": 3})
