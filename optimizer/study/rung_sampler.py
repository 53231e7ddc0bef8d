"""A sampler that learns from candidates successive halving stopped, by showing them scored at their last rung.

Optuna's TPE ranks PRUNED trials by their intermediate values, which a multi-objective study cannot report
(``trial.report`` refuses, optuna#3450): in Optuna 5.1 ``_split_pruned_trials`` gives every such trial the same score,
and they only fill the "good" group when too few trials completed, in trial-number order. With eta = 3 most candidates
stop early, so out of the box the sampler would learn nothing from most of the search.

``RungAwareSampler`` wraps any sampler and shows it a view of the study in which each stopped candidate is a COMPLETE
trial with values (its accuracy at the last rung it reached, its step time). A rung's accuracy is below what the
candidate would have reached at the top rung, so the sampler judges stopped candidates pessimistically, in the
order successive halving judged them; the fast ones it stopped still teach it where fast candidates lie.

Samplers read trials through ``Study._get_trials`` (private): optuna_private.TrialsView answers it, and
tests/optimizer/study/test_rung_sampler.py pins that TPE's proposals move with what the view shows.
"""

from __future__ import annotations

import copy

import optuna
from optuna.trial import FrozenTrial, TrialState

from optimizer.study.shown import ShownTrialsSampler
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
