"""A proposal tried on paper: the space built from candidate values, without writing to the trial or training.

The unseen-proposal sampler (``optimizer.study.unseen``) drafts several proposals per trial and keeps the first
that the space can build (its geometry holds) and that repeats no network of the study.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import keras_tuner as kt
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from optimizer.errors import CandidateFailed
from optimizer.space.candidate import BuildFn, build_candidate
from optimizer.space.hparams import OptunaHyperParameters
from optimizer.trial import repeats
from optimizer.trial.objective import deferred_build

# Answers "what value for this knob?" while a draft is built.
Values = Callable[[str, BaseDistribution], Any]


class DraftTrial:
    """Answers a space's ``suggest_*`` calls from ``values``, recording the knobs asked and their answers."""

    def __init__(self, values: Values) -> None:
        self._values = values
        self.params: dict[str, Any] = {}
        self.distributions: dict[str, BaseDistribution] = {}

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        return self._ask(name, CategoricalDistribution(choices))

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int:
        return self._ask(name, IntDistribution(low, high, step=step, log=log))

    def suggest_float(self, name: str, low: float, high: float, *, step: float | None = None,
                      log: bool = False) -> float:
        return self._ask(name, FloatDistribution(low, high, step=step, log=log))

    def _ask(self, name: str, distribution: BaseDistribution) -> Any:
        if name not in self.params:
            # As Optuna's own trial does: a knob of one value is not the sampler's to answer.
            value = _single_value(distribution) if distribution.single() else self._values(name, distribution)
            self.params[name], self.distributions[name] = value, distribution
        return self.params[name]


def _single_value(distribution: BaseDistribution) -> Any:
    if isinstance(distribution, CategoricalDistribution):
        return distribution.choices[0]
    return distribution.low  # an Int or Float distribution whose low equals its high


@dataclasses.dataclass(frozen=True)
class Draft:
    params: dict[str, Any]
    distributions: dict[str, BaseDistribution]
    refused: str | None = None  # why the space refused it before building (its geometry), else None
    repeats: int | None = None  # the trial whose network it would repeat, else None

    @property
    def novel(self) -> bool:
        return self.refused is None and self.repeats is None


class Drafter:
    """Drafts proposals of ``build``'s space and judges them against ``study``'s trials on ``device``."""

    def __init__(self, build: BuildFn, *, device: Any) -> None:
        self.build, self.device = build, device

    def __call__(self, study: optuna.Study, values: Values, *, number: int) -> Draft:
        """Build the network ``values`` describe (without its weights' memory) and say whether it is new."""
        trial = DraftTrial(values)
        try:
            model = build_candidate(deferred_build(self.build), OptunaHyperParameters(trial))
        except CandidateFailed as error:
            if isinstance(error.__cause__, kt.errors.FailedTrialError):  # the space's own check: redraw
                return Draft(trial.params, trial.distributions, refused=str(error.__cause__))
            return Draft(trial.params, trial.distributions)  # any other failure is the trial's, as before
        seen = repeats.seen_trial(study, params=trial.params, architecture=repeats.architecture_key(model),
                                  device=self.device, exclude=number)
        return Draft(trial.params, trial.distributions, repeats=None if seen is None else seen.number)
