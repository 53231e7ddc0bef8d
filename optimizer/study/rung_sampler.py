"""A sampler that learns from candidates successive halving stopped, by showing them scored at their last rung.

Out of the box, Optuna's multi-objective TPE learns nothing from PRUNED trials. ``RungAwareSampler`` wraps any
sampler and shows it each stopped candidate as COMPLETE, with its last rung's accuracy and its step time, through
``optuna_private.TrialsView``. Why: docs/successive-halving.md.
"""

from __future__ import annotations

import copy

import optuna
from optuna.trial import FrozenTrial, TrialState

from optimizer.study.sampler_views import ShownTrialsSampler
from optimizer.trial.halving import accuracy_key
from optimizer.trial.repeats import is_repeat


def shown_as_scored(trial: FrozenTrial) -> FrozenTrial:
    """A stopped candidate as a COMPLETE trial scored at its last rung; any other trial unchanged."""
    steps = trial.user_attrs.get("steps_trained")
    if trial.state != TrialState.PRUNED or steps is None or "step_time_ms" not in trial.user_attrs:
        return trial
    accuracy = trial.user_attrs.get(accuracy_key(int(steps)))
    if accuracy is None:
        return trial
    shown = copy.copy(trial)
    shown.state = TrialState.COMPLETE
    shown.values = [float(accuracy), float(trial.user_attrs["step_time_ms"])]
    return shown


def shown_as_failed(trial: FrozenTrial) -> FrozenTrial:
    """A trial as a FAIL: every sampler ignores failed trials, and the trial keeps its place in the list."""
    shown = copy.copy(trial)
    shown.state, shown.values = TrialState.FAIL, None
    return shown


def scored_at_rungs(trials: list[FrozenTrial]) -> list[FrozenTrial]:
    """Every trial at its place (NSGA-II indexes the list by trial number), stopped ones shown as scored and repeats
    (they carry nothing new: optimizer.trial.repeats) as failed."""
    return [shown_as_failed(t) if is_repeat(t) else shown_as_scored(t) for t in trials]


class RungAwareSampler(ShownTrialsSampler):
    """``base``, but every candidate successive halving stopped counts as scored at its last rung, and repeats of
    earlier candidates do not count at all."""

    def __init__(self, base: optuna.samplers.BaseSampler) -> None:
        super().__init__(base, shown=scored_at_rungs)
        self.base = base
