"""Optuna samplers by name, configured for a two-objective (accuracy, step time) study."""

from __future__ import annotations

import optuna

from optimizer.defaults import DEFAULT_SAMPLER, SAMPLERS
from optimizer.errors import ArchoptError
from optimizer.optional import try_import
from optimizer.study.rung_sampler import RungAwareSampler
from optimizer.study.sampler_views import RecentTrialsSampler
from optimizer.study.unseen import UnseenSampler

__all__ = ["DEFAULT_SAMPLER", "SAMPLERS", "make_sampler"]


def make_sampler(name: str, *, seed: int | None = None) -> optuna.samplers.BaseSampler:
    """A fresh sampler; ``seed`` makes a single-worker run reproducible.

    Every sampler proposes only unseen networks (optimizer.study.unseen); every one but random learns from
    candidates successive halving stopped (optimizer.study.rung_sampler).
    """
    sampler = _base_sampler(name, seed=seed)
    if not isinstance(sampler, optuna.samplers.RandomSampler):
        sampler = RungAwareSampler(sampler)
    return UnseenSampler(sampler, seed=seed)


def _base_sampler(name: str, *, seed: int | None) -> optuna.samplers.BaseSampler:
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
    with try_import(feature="sampler 'gp'", install="'archopt[gp]'") as needs:  # GPSampler would fail late
        import scipy  # noqa: F401
        import torch  # noqa: F401
    needs.check()
    return optuna.samplers.GPSampler(seed=seed)
