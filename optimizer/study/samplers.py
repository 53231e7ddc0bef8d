"""Optuna samplers by name, configured for a two-objective (accuracy, step time) study."""

from __future__ import annotations

import optuna

from optimizer.errors import ArchoptError

SAMPLERS = ("tpe", "nsga2", "gp", "random")
DEFAULT_SAMPLER = "tpe"


def make_sampler(name: str, *, seed: int | None = None) -> optuna.samplers.BaseSampler:
    """A fresh sampler; ``seed`` makes a single-worker run reproducible.

    Every sampler but random learns from candidates successive halving stopped (see optimizer.study.rung_sampler).
    """
    from optimizer.study.rung_sampler import RungAwareSampler

    sampler = _base_sampler(name, seed=seed)
    return sampler if isinstance(sampler, optuna.samplers.RandomSampler) else RungAwareSampler(sampler)


def _base_sampler(name: str, *, seed: int | None) -> optuna.samplers.BaseSampler:
    if name == "tpe":
        # multivariate TPE models the knobs jointly (stride and filters interact); constant_liar
        # keeps parallel workers from proposing the same candidate.
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True, constant_liar=True)
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
