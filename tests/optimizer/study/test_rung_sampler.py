"""The sampler learns from candidates successive halving stopped: its proposals move with their rung scores."""

import numpy as np
import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from optimizer.study.rung_sampler import RungAwareSampler, shown_as_scored
from optimizer.study.samplers import make_sampler
from optimizer.study.study import DIRECTIONS

X = FloatDistribution(0.0, 1.0)


def _study(*, stopped_are_good: bool, sampler: optuna.samplers.BaseSampler) -> optuna.Study:
    """10 complete candidates in x > 0.4, and 20 stopped at rung 100 in x < 0.3: better the nearer 0, or poor."""
    rng = np.random.default_rng(0)
    study = optuna.create_study(directions=list(DIRECTIONS), sampler=sampler)
    for x in rng.uniform(0.4, 1.0, 10):
        study.add_trial(
            create_trial(
                params={"x": x},
                distributions={"x": X},
                values=[0.75 + 0.1 * x, 20.0],
                user_attrs={"accuracy_100": 0.75, "steps_trained": 300, "step_time_ms": 20.0},
            )
        )
    for x in rng.uniform(0.0, 0.3, 20):
        accuracy, ms = (0.95 - 0.2 * x, 2.0) if stopped_are_good else (0.10 + 0.1 * x, 90.0)
        study.add_trial(
            create_trial(
                state=TrialState.PRUNED,
                params={"x": x},
                distributions={"x": X},
                user_attrs={"accuracy_100": accuracy, "steps_trained": 100, "step_time_ms": ms},
            )
        )
    return study


def _proposals(study: optuna.Study, n: int = 20) -> np.ndarray:
    xs = []
    for _ in range(n):
        trial = study.ask({"x": X})
        xs.append(trial.params["x"])
        study.tell(trial, state=TrialState.FAIL)  # not learned from: each proposal sees the same history
    return np.array(xs)


def test_proposals_follow_the_rung_scores_of_stopped_candidates() -> None:
    good = _proposals(_study(stopped_are_good=True, sampler=make_sampler("tpe", seed=3)))
    poor = _proposals(_study(stopped_are_good=False, sampler=make_sampler("tpe", seed=3)))
    assert np.mean(good < 0.3) > 0.6, good  # where the stopped candidates scored well
    assert np.mean(poor < 0.3) < 0.3, poor
    assert isinstance(make_sampler("tpe", seed=3).wrapped, RungAwareSampler)


def test_out_of_the_box_tpe_ignores_what_stopped_candidates_scored() -> None:
    """The reason for the wrapper (Optuna 5.1): plain multi-objective TPE proposes the same either way."""

    def plain():
        return optuna.samplers.TPESampler(seed=3, multivariate=True, group=True, constant_liar=True)

    good = _proposals(_study(stopped_are_good=True, sampler=plain()))
    poor = _proposals(_study(stopped_are_good=False, sampler=plain()))
    np.testing.assert_array_equal(good, poor)


def test_a_stopped_candidate_is_shown_complete_at_its_last_rung_and_others_unchanged() -> None:
    stopped = create_trial(
        state=TrialState.PRUNED,
        params={},
        distributions={},
        user_attrs={"accuracy_100": 0.7, "accuracy_300": 0.8, "steps_trained": 300, "step_time_ms": 5.0},
    )
    shown = shown_as_scored(stopped)
    assert shown.state == TrialState.COMPLETE and shown.values == [0.8, 5.0]
    assert stopped.state == TrialState.PRUNED and stopped.values is None  # the stored trial is untouched
    hyperband = create_trial(state=TrialState.PRUNED, params={}, distributions={})  # no rung result: left as it is
    assert shown_as_scored(hyperband) is hyperband
