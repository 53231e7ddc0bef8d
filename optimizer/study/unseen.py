"""A sampler that proposes only networks the study has not seen, and only ones the space's geometry allows.

A long study's TPE proposes copies of its own good set (optuna#5440). Before a trial's first knob is suggested,
``UnseenSampler`` drafts the wrapped sampler's proposal (``optimizer.trial.draft``); while the draft repeats a
network of the study or the space refuses its geometry it tries again: the sampler's own redraws, then mutations
of front members, then random draws. The proposal it keeps is pinned as the trial's relative parameters, so the
trial trains exactly that network and the sampler is told nothing false.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.trial import FrozenTrial

from optimizer.optuna_private import storage_of, trial_id

if TYPE_CHECKING:  # drafts build Keras models; the supervisor and the CLI import samplers without TensorFlow
    from optimizer.trial.draft import Draft, Values

PROPOSAL = "proposal"  # the user attribute that says how a trial's proposal was found


@dataclasses.dataclass(frozen=True)
class Tries:
    """How many drafts of each kind a trial may try, in this order, before it settles for a repeat."""

    redraws: int = 3  # the wrapped sampler's proposal, then its redraws
    mutations: int = 6  # a front member with one or two knobs changed
    randoms: int = 10  # uniform draws


class UnseenSampler(optuna.samplers.BaseSampler):
    """``sampler``, with each proposal replaced by an unseen, buildable one when it is neither.

    Until ``drafter`` is set (``optimizer.study.assemble.connect``, once the space is loaded) it is ``sampler``
    alone. A trial with fixed parameters (an enqueued or retried trial) is never redrawn.
    """

    def __init__(self, sampler: optuna.samplers.BaseSampler, *, seed: int | None = None,
                 tries: Tries = Tries()) -> None:
        self._sampler, self._tries = sampler, tries
        self._rng = np.random.default_rng(seed)
        self._random = optuna.samplers.RandomSampler(seed=seed)
        self.drafter: Callable[..., Draft] | None = None
        self._pinned: dict[int, dict[str, Any]] = {}

    @property
    def wrapped(self) -> optuna.samplers.BaseSampler:
        return self._sampler

    def infer_relative_search_space(self, study, trial):
        # Drafts build the space and reset Keras: the objective gets the proposal before its build.
        if self.drafter is None or trial.system_attrs.get("fixed_params"):
            return self._sampler.infer_relative_search_space(study, trial)
        draft, how = self._choose(study, trial)
        storage_of(study).set_trial_user_attr(trial_id(trial), PROPOSAL, how)
        self._pinned[trial.number] = dict(draft.params)
        return dict(draft.distributions)

    def sample_relative(self, study, trial, search_space):
        pinned = self._pinned.pop(trial.number, None)
        return self._sampler.sample_relative(study, trial, search_space) if pinned is None else pinned

    def sample_independent(self, study, trial, param_name, param_distribution):
        return self._sampler.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study, trial) -> None:
        self._sampler.before_trial(study, trial)

    def after_trial(self, study, trial, state, values) -> None:
        self._pinned.pop(trial.number, None)
        self._sampler.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self._sampler.reseed_rng()
        self._random.reseed_rng()
        self._rng = np.random.default_rng()

    def _choose(self, study: optuna.Study, trial: FrozenTrial) -> tuple[Draft, str]:
        """The first novel draft and how it was found; when none is, the first the space could build (a repeat, then
        answered as one), else the sampler's own."""
        drafts = []
        for how, values in self._sources(study, trial):
            drafts.append(self.drafter(study, values, number=trial.number))
            if drafts[-1].novel:
                return drafts[-1], how
        buildable = [d for d in drafts if d.refused is None]
        return (buildable or drafts)[0], "sampler (no unseen proposal found)"

    def _sources(self, study: optuna.Study, trial: FrozenTrial) -> Iterator[tuple[str, Values]]:
        for i in range(self._tries.redraws):
            yield ("sampler" if i == 0 else f"sampler redraw {i}"), self._sampler_values(study, trial)
        front = study.best_trials if self._tries.mutations else []
        for _ in range(self._tries.mutations if front else 0):
            member = front[int(self._rng.integers(len(front)))]
            yield f"mutation of trial {member.number}", self._mutation_values(study, trial, member)
        for _ in range(self._tries.randoms):
            yield "random", self._random_values(study, trial)

    def _sampler_values(self, study: optuna.Study, trial: FrozenTrial) -> Values:
        """The wrapped sampler's answers, as Optuna's trial would ask for them: relative first, else independent."""
        space = self._sampler.infer_relative_search_space(study, trial)
        relative = self._sampler.sample_relative(study, trial, space)

        def values(name: str, distribution: BaseDistribution) -> Any:
            if name in relative and space.get(name) == distribution:
                return relative[name]
            return self._sampler.sample_independent(study, trial, name, distribution)

        return values

    def _random_values(self, study: optuna.Study, trial: FrozenTrial) -> Values:
        return lambda name, distribution: self._random.sample_independent(study, trial, name, distribution)

    def _mutation_values(self, study: optuna.Study, trial: FrozenTrial, member: FrozenTrial) -> Values:
        """``member``'s knobs with one or two changed to other values; a knob it lacks is drawn at random."""
        names = [n for n, d in member.distributions.items() if not d.single()]
        changed = set(self._rng.choice(names, size=min(len(names), int(self._rng.integers(1, 3))), replace=False))

        def values(name: str, distribution: BaseDistribution) -> Any:
            same = member.distributions.get(name) == distribution
            if same and name not in changed:
                return member.params[name]
            return self._other_value(study, trial, name, distribution, not_=member.params.get(name) if same else None)

        return values

    def _other_value(self, study, trial, name: str, distribution: BaseDistribution, *, not_: Any) -> Any:
        if isinstance(distribution, CategoricalDistribution) and not_ is not None:
            others = [c for c in distribution.choices if c != not_]
            return others[int(self._rng.integers(len(others)))]
        for _ in range(8):  # a numeric knob: a random draw, other than the member's if one comes within 8 draws
            value = self._random.sample_independent(study, trial, name, distribution)
            if value != not_:
                return value
        return value
