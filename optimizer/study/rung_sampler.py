"""A sampler that learns from candidates successive halving stopped, by showing them scored at their last rung.

Optuna's TPE ranks PRUNED trials by their intermediate values, which a multi-objective study cannot report
(``trial.report`` refuses, optuna#3450): in Optuna 5.1 ``_split_pruned_trials`` gives every such trial the same score,
and they only fill the "good" group when too few trials completed, in trial-number order. With eta = 3 most candidates
stop early, so out of the box the sampler would learn nothing from most of the search.

``RungAwareSampler`` wraps any sampler and shows it a view of the study in which each stopped candidate is a COMPLETE
trial with values (its accuracy at the last rung it reached, its step time). A rung's accuracy is below what the
candidate would have reached at the top rung, so the sampler judges stopped candidates pessimistically, in the
order successive halving judged them; the fast ones it stopped still teach it where fast candidates lie.

Samplers read trials through ``Study._get_trials`` (private): the view overrides it, and ``tests/optimizer/
test_rung_sampler.py`` pins that TPE's proposals move with what the view shows.
"""

from __future__ import annotations

import copy
from collections.abc import Container, Sequence
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial, TrialState

from optimizer.trial.halving import accuracy_key


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


class _RungView:
    """The study as the wrapped sampler sees it: everything passes through but the trials."""

    def __init__(self, study: optuna.Study) -> None:
        self._real = study

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def _get_trials(
        self, deepcopy: bool = True, states: Container[TrialState] | None = None, use_cache: bool = False
    ) -> list[FrozenTrial]:
        trials = self._real._get_trials(deepcopy=deepcopy, states=None, use_cache=use_cache)
        shown = [shown_as_scored(t) for t in trials]
        return [t for t in shown if states is None or t.state in states]

    def get_trials(self, deepcopy: bool = True, states: Container[TrialState] | None = None) -> list[FrozenTrial]:
        return self._get_trials(deepcopy=deepcopy, states=states)

    @property
    def trials(self) -> list[FrozenTrial]:
        return self.get_trials()


class RungAwareSampler(optuna.samplers.BaseSampler):
    """``base``, but every candidate successive halving stopped counts as scored at its last rung."""

    def __init__(self, base: optuna.samplers.BaseSampler) -> None:
        self.base = base

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return self.base.infer_relative_search_space(_RungView(study), trial)

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return self.base.sample_relative(_RungView(study), trial, search_space)

    def sample_independent(
        self, study: optuna.Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        return self.base.sample_independent(_RungView(study), trial, param_name, param_distribution)

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self.base.before_trial(study, trial)

    def after_trial(
        self, study: optuna.Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        self.base.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self.base.reseed_rng()
