"""Every KerasTuner hyperparameter kind becomes the matching Optuna distribution; inactive ones are never asked."""

import keras_tuner as kt
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from optimizer.space.hparams import OptunaHyperParameters


def declare(hp: kt.HyperParameters) -> dict:
    """A space using every kind, with a knob that exists only when `use_dense` is True."""
    values = {
        "units": hp.Int("units", 8, 128, sampling="log"),
        "depth": hp.Int("depth", 1, 7, step=2),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-1, sampling="log"),
        "dropout": hp.Float("dropout", 0.0, 0.5, step=0.25),
        "activation": hp.Choice("activation", ["relu", "gelu"]),
        "use_dense": hp.Boolean("use_dense"),
        "momentum": hp.Fixed("momentum", 0.9),
    }
    with hp.conditional_scope("use_dense", [True]):
        values["dense_units"] = hp.Int("dense_units", 16, 64, step=16)
    return values


def asked(params: dict) -> tuple[dict, dict]:
    trial = optuna.trial.FixedTrial(params)
    values = declare(OptunaHyperParameters(trial))
    return values, trial.distributions


BASE = {"units": 32, "depth": 3, "learning_rate": 0.01, "dropout": 0.25, "activation": "gelu", "momentum": 0.9}


def test_each_kind_maps_to_its_optuna_distribution():
    _, distributions = asked({**BASE, "use_dense": True, "dense_units": 48})
    assert distributions["units"] == IntDistribution(8, 128, log=True)
    assert distributions["depth"] == IntDistribution(1, 7, step=2)
    assert distributions["learning_rate"] == FloatDistribution(1e-4, 1e-1, log=True)
    assert distributions["dropout"] == FloatDistribution(0.0, 0.5, step=0.25)
    assert distributions["activation"] == CategoricalDistribution(["relu", "gelu"])
    assert distributions["use_dense"] == CategoricalDistribution([False, True])
    assert distributions["momentum"] == CategoricalDistribution([0.9])  # Fixed: kept in params, hence in the CSV
    assert distributions["dense_units"] == IntDistribution(16, 64, step=16)


def test_the_space_receives_the_trials_values():
    values, _ = asked({**BASE, "use_dense": True, "dense_units": 48})
    assert values == {**BASE, "use_dense": True, "dense_units": 48}


def test_a_conditional_knob_is_not_asked_when_its_parent_did_not_select_it():
    values, distributions = asked({**BASE, "use_dense": False})  # FixedTrial would raise if dense_units were asked
    assert values["dense_units"] is None
    assert "dense_units" not in distributions


def test_a_study_samples_inside_the_declared_ranges(seed):
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=optuna.samplers.RandomSampler(seed=seed))
    for _ in range(20):
        trial = study.ask()
        values = declare(OptunaHyperParameters(trial))
        assert 8 <= values["units"] <= 128 and values["depth"] in (1, 3, 5, 7)
        assert ("dense_units" in trial.params) == values["use_dense"]


def test_log_scaled_int_with_a_step_multiplier_becomes_kerastuners_grid():
    trial = optuna.trial.FixedTrial({"filters": 32})
    OptunaHyperParameters(trial).Int("filters", 8, 64, step=2, sampling="log")
    assert trial.distributions["filters"] == CategoricalDistribution([8, 16, 32, 64])


def test_an_unsupported_hyperparameter_type_is_named():
    from optimizer.space.hparams import suggest

    class Odd(kt.engine.hyperparameters.HyperParameter):
        pass

    with pytest.raises(TypeError, match="'odd'.*Odd"):
        suggest(optuna.trial.FixedTrial({}), Odd("odd"))
