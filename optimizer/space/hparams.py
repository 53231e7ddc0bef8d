"""Let an Optuna trial answer a KerasTuner search space.

A space is written once with KerasTuner's API (``hp.Int``, ``hp.Choice``, ...). Here
each hyperparameter that becomes *active* is turned into the matching Optuna
``suggest_*`` call, so Optuna's define-by-run sampling sees exactly the knobs the
space uses; conditional ones are never suggested when their condition is off.
``optuna.trial.FixedTrial`` works in place of a trial to rebuild a chosen candidate.
"""

from __future__ import annotations

from typing import Any

import keras_tuner as kt
from keras_tuner.engine import hyperparameters as hps


def _suggest_numeric(trial: Any, hp: hps.Int | hps.Float) -> Any:
    if hp.sampling != "linear" and (hp.step is not None or hp.sampling == "reverse_log"):
        # KerasTuner's log step is a *multiplier*: the grid it samples is hp.values.
        cast = int if isinstance(hp, hps.Int) else float
        return trial.suggest_categorical(hp.name, sorted({cast(round(v, 12)) for v in hp.values}))
    log = hp.sampling == "log"
    if isinstance(hp, hps.Int):
        return trial.suggest_int(hp.name, hp.min_value, hp.max_value, step=1 if log else hp.step or 1, log=log)
    return trial.suggest_float(hp.name, hp.min_value, hp.max_value, step=hp.step, log=log)


def suggest(trial: Any, hp: hps.HyperParameter) -> Any:
    """Ask ``trial`` for a value of the KerasTuner hyperparameter ``hp``."""
    if isinstance(hp, hps.Fixed):
        # A one-value categorical keeps Fixed values in trial.params, hence in the CSV.
        return trial.suggest_categorical(hp.name, [hp.value])
    if isinstance(hp, hps.Boolean):
        return trial.suggest_categorical(hp.name, [False, True])
    if isinstance(hp, hps.Choice):
        return trial.suggest_categorical(hp.name, list(hp.values))
    if isinstance(hp, (hps.Int, hps.Float)):
        return _suggest_numeric(trial, hp)
    raise TypeError(f"hyperparameter {hp.name!r} has an unsupported type {type(hp).__name__}.")


class OptunaHyperParameters(kt.HyperParameters):
    """KerasTuner ``HyperParameters`` whose active values come from an Optuna trial."""

    def __init__(self, trial: Any) -> None:
        super().__init__()
        self.trial = trial

    def _register(self, hyperparameter: hps.HyperParameter, overwrite: bool = False) -> Any:
        if super()._register(hyperparameter, overwrite=overwrite) is None:
            return None  # inactive: its condition does not hold, so it is not suggested.
        self.values[hyperparameter.name] = suggest(self.trial, hyperparameter)
        return self.values[hyperparameter.name]
