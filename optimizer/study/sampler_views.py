"""Samplers that propose from another view of the study's trials: the recent ones only, or stopped ones as scored."""

from __future__ import annotations

import functools
from collections.abc import Callable

import optuna
from optuna.trial import FrozenTrial

from optimizer.errors import check_positive
from optimizer.optuna_private import TrialsView

HISTORY_LIMIT = 1000  # finished trials TPE reads: its proposals cost O(trials), and a night passes 5,000


class ShownTrialsSampler(optuna.samplers.BaseSampler):
    """``sampler``, proposing from the study's trials as ``shown`` presents them (see optuna_private.TrialsView)."""

    def __init__(self, sampler: optuna.samplers.BaseSampler, *, shown: Callable[[list], list]) -> None:
        self._sampler, self._shown = sampler, shown

    def _view(self, study: optuna.Study) -> optuna.Study:
        return TrialsView(study, shown=self._shown)  # type: ignore[return-value]

    def infer_relative_search_space(self, study, trial):
        return self._sampler.infer_relative_search_space(self._view(study), trial)

    def sample_relative(self, study, trial, search_space):
        return self._sampler.sample_relative(self._view(study), trial, search_space)

    def sample_independent(self, study, trial, param_name, param_distribution):
        return self._sampler.sample_independent(self._view(study), trial, param_name, param_distribution)

    def before_trial(self, study, trial) -> None:
        self._sampler.before_trial(study, trial)

    def after_trial(self, study, trial, state, values) -> None:
        self._sampler.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self._sampler.reseed_rng()


def recent_trials(trials: list[FrozenTrial], *, limit: int) -> list[FrozenTrial]:
    """Every unfinished trial, and only the last ``limit`` finished ones (trials come in number order)."""
    finished = [t.number for t in trials if t.state.is_finished()]
    if len(finished) <= limit:
        return trials
    first = finished[-limit]
    return [t for t in trials if not t.state.is_finished() or t.number >= first]


class RecentTrialsSampler(ShownTrialsSampler):
    """``sampler``, reading only the last ``limit`` finished trials (and every running one) of the study.

    TPE's cost per proposal grows with the trials it reads (it splits them into good and bad and fits a density to
    each, for every group of knobs), and its "good" set is at most 25 trials with two objectives: at 1,000 trials it
    is the best 2.5%. Older trials still count for the front, the CSVs and the summary; only proposals forget them.
    """

    def __init__(self, sampler: optuna.samplers.BaseSampler, *, limit: int = HISTORY_LIMIT) -> None:
        check_positive(limit=limit)
        super().__init__(sampler, shown=functools.partial(recent_trials, limit=limit))
