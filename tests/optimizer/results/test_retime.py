"""Re-timing: interleaved rounds, the front recomputed by Optuna, passes until it is stable, and the rewritten CSVs."""

import random

import optuna
import pandas as pd
import pytest
from optuna.distributions import IntDistribution
from optuna.trial import TrialState, create_trial

from optimizer.results.front import useful_front
from optimizer.results.report import write_outputs
from optimizer.results.retime import (
    front_numbers,
    interleaved,
    interleaved_medians,
    retime,
    retime_study,
    retimed_values,
)
from optimizer.study.study import open_study
from optimizer.trial.objective import Objective


def non_dominated(points: dict[int, tuple[float, float]]) -> set[int]:
    """Brute force, for checking: no other point has accuracy >= and time <= with one strictly better."""
    return {
        n for n, (a, t) in points.items() if not any(b >= a and s <= t and (b, s) != (a, t) for b, s in points.values())
    }


def study_of(values: list[tuple[float, float]], *, params: list[dict] | None = None) -> optuna.Study:
    study = open_study(storage="sqlite:///:memory:", name="retime", sampler=optuna.samplers.RandomSampler(seed=0))
    for i, v in enumerate(values):
        p = params[i] if params else {}
        study.add_trial(create_trial(values=list(v), params=p, distributions={k: IntDistribution(1, 16) for k in p}))
    return study


def test_the_front_uses_the_replaced_step_times_and_keeps_trial_numbers(seed: int) -> None:
    rng = random.Random(seed)
    values = [(round(rng.uniform(0.5, 0.9), 2), float(rng.choice([5, 10, 20, 40]))) for _ in range(40)]
    study = study_of(values)
    study.add_trial(create_trial(state=TrialState.FAIL))  # failed trials are never on the front
    for _ in range(5):
        new = {n: float(rng.choice([1, 5, 10, 80])) for n in rng.sample(range(40), 8)}
        expected = non_dominated({n: (a, new.get(n, t)) for n, (a, t) in enumerate(values)})
        assert front_numbers(study.trials, step_times=new) == expected
    assert front_numbers(study.trials, step_times={}) == {t.number for t in study.best_trials}


def test_rounds_are_round_robin_with_a_rotating_start() -> None:
    calls = []
    timers = {key: (lambda key=key: calls.append(key) or 1.0) for key in "abc"}
    times = interleaved(timers, rounds=3)
    assert calls == list("abc" "bca" "cab")
    assert times == {k: [1.0, 1.0, 1.0] for k in "abc"}


def test_interleaved_medians_are_each_timers_median_over_its_rounds() -> None:
    readings = {"a": iter([5.0, 1.0, 3.0]), "b": iter([2.0, 9.0, 4.0])}
    timers = {key: (lambda key=key: next(readings[key])) for key in readings}
    assert interleaved_medians(timers, rounds=3) == {"a": 3.0, "b": 4.0}


def test_a_trial_promoted_by_a_demotion_is_retimed_too() -> None:
    # Trial 0 is fast only by luck; once re-timed, trial 2 (never on the first front) joins it.
    study = study_of([(0.80, 10.0), (0.90, 50.0), (0.80, 30.0), (0.70, 90.0)])
    true_ms = {0: 40.0, 1: 50.0, 2: 30.0, 3: 90.0, "base": 20.0}
    timed = []

    def timer_for(key):
        timed.append(key)
        return lambda: true_ms[key]

    times = retime(study.trials, timer_for=timer_for, extra=["base"], rounds=2, controls=0)
    assert timed == [0, 1, "base", 2]  # first pass: the first front and the baseline; second: the newcomer
    assert {k: r.rounds_ms for k, r in times.items()} == {
        0: [40.0, 40.0], 1: [50.0, 50.0], "base": [20.0, 20.0], 2: [30.0, 30.0]
    }
    assert {r.factor for r in times.values()} == {1.0}  # no controls: figures as timed
    assert front_numbers(study.trials, step_times={n: true_ms[n] for n in (0, 1, 2)}) == {1, 2}


def test_retime_rewrites_the_csvs_and_keeps_the_first_timing(tiny_objective: Objective, tmp_path) -> None:
    # First timings a real re-timing will not reproduce: every trial looks impossibly fast or slow.
    values = [(0.5, 1e-6), (0.6, 1e6), (0.7, 2e6), (0.4, 3e6)]
    study = study_of(values, params=[{"filters": f} for f in (2, 4, 8, 16)])
    times = retime_study(study, tiny_objective, rounds=2, controls=0)  # impossible own timings: no sitting to measure
    retimed = retimed_values(study)
    assert set(retimed) == {k for k in times if isinstance(k, int)} and {0, 1, 2} <= set(retimed)
    assert all(0 < ms < 1e3 and len(times[n].rounds_ms) == 2 for n, ms in retimed.items())

    frame = write_outputs(study, tmp_path).set_index("trial")
    written = pd.read_csv(tmp_path / "trials.csv").set_index("trial")
    assert list(written["step_time_first_ms"]) == [v[1] for v in values]
    assert all(written.loc[n, "step_time_ms"] == pytest.approx(ms) for n, ms in retimed.items())
    replaced = {n: (a, retimed.get(n, t)) for n, (a, t) in enumerate(values)}
    assert set(written.index[written["is_pareto"]]) == non_dominated(replaced) == set(frame.index[frame["is_pareto"]])
    kept, floor = useful_front(written.reset_index(), num_classes=10)  # pareto.csv: the front over the floor
    assert set(pd.read_csv(tmp_path / "pareto.csv")["trial"]) == set(kept["trial"])
    assert set(kept["trial"]) == {n for n in non_dominated(replaced) if replaced[n][0] >= floor}


def test_a_slow_sitting_is_scaled_back_to_the_runs_own_timings() -> None:
    # Own timings, taken over the run; trial 0's was lucky (10 ms; it trains at 50). The re-timing's
    # minute runs 1.5x slow for every model alike: the controls (trials off the first front) measure
    # that, and it is divided out.
    own = [(0.80, 10.0), (0.90, 50.0), (0.85, 45.0), (0.70, 20.0), (0.60, 30.0), (0.50, 60.0), (0.40, 70.0)]
    true_ms = {0: 50.0, 1: 50.0, 2: 45.0, 3: 20.0, 4: 30.0, 5: 60.0, 6: 70.0, "base": 25.0}
    study = study_of(own)

    times = retime(study.trials, timer_for=lambda key: (lambda: 1.5 * true_ms[key]), extra=["base"], rounds=3)
    assert set(times) == {0, 1, 2, 3, 4, 5, 6, "base"}  # the first front {0, 1, 2}, the baseline, and 4 controls
    assert {r.factor for r in times.values()} == {1.5}
    assert {k: r.step_time_ms for k, r in times.items()} == pytest.approx(true_ms)
    step_times = {k: r.step_time_ms for k, r in times.items() if isinstance(k, int)}
    assert front_numbers(study.trials, step_times=step_times) == {1, 2, 3}  # the lucky trial 0 is demoted


def test_a_real_retiming_scales_by_its_controls_and_records_the_sitting(tiny_objective: Objective) -> None:
    from optimizer.space.candidate import rebuild

    filters = [16, 1, 2, 4, 8, 12]
    own = []
    for f in filters:  # own timings, measured for real; trial 0's made 3x too fast, as a lucky timing would be
        model = rebuild(tiny_objective.build, {"filters": f})
        own.append(tiny_objective.time_steps(model).median_ms)
    own[0] /= 3
    accuracy = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]  # trial 0 dominates all: the front is {0}, the others are controls
    study = study_of(list(zip(accuracy, own)), params=[{"filters": f} for f in filters])

    times = retime_study(study, tiny_objective, rounds=3)
    assert set(times) == set(range(6))
    stored = retimed_values(study)
    ratios = sorted(stored[n] / own[n] for n in range(1, 6))
    assert ratios[2] == pytest.approx(1.0)  # on the run's scale: the controls' median ratio to their own timings
    assert stored[0] > 1.5 * own[0]  # the lucky member is timed at what it costs (3x its own timing)
    records = study.user_attrs["retimed"]
    assert {r["sitting_factor"] for r in records.values()} == {round(times[0].factor, 4)} and times[0].factor > 0
