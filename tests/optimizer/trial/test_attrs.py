"""A trial's measurements go to the real SQLite storage in one transaction."""

import optuna
import pytest
import sqlalchemy

from optimizer.optuna_private import rdb_backend
from optimizer.study import storage
from optimizer.trial.attrs import set_user_attrs


@pytest.fixture
def study(tmp_path):
    return optuna.create_study(storage=storage.make_storage(f"sqlite:///{tmp_path / 's.db'}"))


def test_set_user_attrs_writes_every_value_in_one_transaction(study):
    trial = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    trial.set_user_attr("accuracy", 0.1)
    statements = []
    backend = rdb_backend(trial)
    sqlalchemy.event.listen(backend.engine, "commit", lambda connection: statements.append("commit"))
    set_user_attrs(trial, {"accuracy": 0.9, "macs": 12, "device": "cpu:x", "spread": [1.0, 2.5]})
    assert statements == ["commit"]
    assert study.trials[0].user_attrs == {"accuracy": 0.9, "macs": 12, "device": "cpu:x", "spread": [1.0, 2.5]}
    assert trial.user_attrs["macs"] == 12  # the trial's own cached copy agrees with the storage


def test_set_user_attrs_on_a_fixed_trial_keeps_them_in_memory():
    trial = optuna.trial.FixedTrial({"x": 0.5})
    set_user_attrs(trial, {"accuracy": 0.9})
    assert trial.user_attrs == {"accuracy": 0.9}
