"""Optuna samplers by name, configured for a two-objective (accuracy, step time) study."""

from __future__ import annotations

import optuna

from optimizer.errors import ArchoptError, check_positive
from optimizer.optuna_private import RecentTrials

SAMPLERS = ("tpe", "nsga2", "gp", "random")
DEFAULT_SAMPLER = "tpe"


def make_sampler(name: str, *, seed: int | None = None) -> optuna.samplers.BaseSampler:
    """A fresh sampler; ``seed`` makes a single-worker run reproducible."""
    if name == "tpe":
        # multivariate TPE models the knobs jointly (stride and filters interact); constant_liar
        # keeps parallel workers from proposing the same candidate.
        tpe = optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True, constant_liar=True)
        return RecentTrialsSampler(tpe)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=20)
    if name == "gp":
        return _gp_sampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ArchoptError(f"unknown sampler {name!r}; expected one of: {', '.join(SAMPLERS)}.")


def _gp_sampler(*, seed: int | None) -> optuna.samplers.BaseSampler:
    try:
        import scipy  # noqa: F401  GPSampler needs both, and fails late without them.
        import torch  # noqa: F401
    except ImportError as error:
        raise ArchoptError(f"sampler 'gp' needs PyTorch and SciPy ({error.name} is missing): pip install 'archopt[gp]'.") from error
    return optuna.samplers.GPSampler(seed=seed)


HISTORY_LIMIT = 1000  # finished trials TPE reads: its proposals cost O(trials), and a night passes 5,000


class RecentTrialsSampler(optuna.samplers.BaseSampler):
    """``sampler``, reading only the last ``limit`` finished trials (and every running one) of the study.

    TPE's cost per proposal grows with the trials it reads (it splits them into good and bad and fits a density to
    each, for every group of knobs), and its "good" set is at most 25 trials with two objectives: at 1,000 trials it
    is the best 2.5%. Older trials still count for the front, the CSVs and the summary; only proposals forget them.
    """

    def __init__(self, sampler: optuna.samplers.BaseSampler, *, limit: int = HISTORY_LIMIT) -> None:
        check_positive(limit=limit)
        self._sampler = sampler
        self._limit = limit

    def _view(self, study: optuna.Study) -> optuna.Study:
        return RecentTrials(study, limit=self._limit)  # type: ignore[return-value]

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
