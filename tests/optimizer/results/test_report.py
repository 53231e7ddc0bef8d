"""trials.csv / pareto.csv / pareto.png: columns, the Pareto flag, and loading with a bare read_csv."""

import random

import optuna
import pandas as pd
import pytest
from optuna.distributions import CategoricalDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from optimizer.results.front import accuracy_floor, useful_front
from optimizer.results.report import LEADING, write_outputs
from optimizer.results.report_front import knob_columns
from optimizer.study.study import open_study


def dominated(a: tuple, b: tuple) -> bool:
    """True when b dominates a: accuracy at least as high, step time at least as low, one strictly better."""
    return b[0] >= a[0] and b[1] <= a[1] and b != a


@pytest.fixture
def study(seed: int) -> optuna.Study:
    rng = random.Random(seed)
    study = open_study(storage="sqlite:///:memory:", name="report", sampler=optuna.samplers.RandomSampler(seed=seed))
    dists = {"filters_1": IntDistribution(8, 64), "head": CategoricalDistribution(["gap", "flatten"])}
    for i in range(60):
        params = {"filters_1": rng.randint(8, 64), "head": rng.choice(["gap", "flatten"])}
        if i % 9 == 8:
            study.add_trial(
                create_trial(state=TrialState.FAIL, params=params, distributions=dists, user_attrs={"fail_reason": "x"})
            )
            continue
        # Coarse values make ties and duplicates, the cases a hand-written filter gets wrong.
        values = [round(rng.uniform(0.5, 0.9), 2), float(rng.choice([5, 10, 20, 40, 80]))]
        study.add_trial(
            create_trial(
                values=values, params=params, distributions=dists, user_attrs={"params": 1000 + i, "macs": 7 * i}
            )
        )
    return study


def test_is_pareto_is_exactly_the_non_dominated_complete_trials(study: optuna.Study, tmp_path) -> None:
    write_outputs(study, tmp_path)
    frame = pd.read_csv(tmp_path / "trials.csv")
    done = frame[frame["state"] == "COMPLETE"]
    points = {int(r.trial): (r.accuracy, r.step_time_ms) for r in done.itertuples()}
    expected = {n for n, p in points.items() if not any(dominated(p, q) for q in points.values())}
    assert set(frame.loc[frame["is_pareto"], "trial"]) == expected
    assert not frame.loc[frame["state"] == "FAIL", "is_pareto"].any()
    assert 1 < len(expected) < len(points)


def test_csvs_have_the_promised_columns_and_the_front_most_accurate_first(study: optuna.Study, tmp_path) -> None:
    write_outputs(study, tmp_path)
    trials, front = pd.read_csv(tmp_path / "trials.csv"), pd.read_csv(tmp_path / "pareto.csv")
    assert list(trials.columns[: len(LEADING)]) == LEADING
    assert {"filters_1", "head", "fail_reason"} <= set(trials.columns)
    assert len(trials) == 60 and list(front.columns) == list(trials.columns)
    assert front["accuracy"].is_monotonic_decreasing and front["is_pareto"].all()
    # Along the front, accuracy costs time.
    assert front["step_time_ms"].is_monotonic_decreasing
    assert front["accuracy"].min() >= accuracy_floor(trials[trials["is_pareto"]], num_classes=10)
    assert (tmp_path / "pareto.png").stat().st_size > 10_000


def test_outputs_are_written_for_an_empty_study(tmp_path) -> None:
    study = open_study(storage="sqlite:///:memory:", name="empty", sampler=optuna.samplers.RandomSampler())
    frame = write_outputs(study, tmp_path)
    assert frame.empty and pd.read_csv(tmp_path / "pareto.csv").empty


def test_throttled_writes_skip_within_the_interval_and_the_last_write_never_does(study: optuna.Study, tmp_path) -> None:
    assert write_outputs(study, tmp_path, throttle=True) is not None  # the first write of a run folder always happens
    before = (tmp_path / "trials.csv").stat().st_mtime_ns
    study.add_trial(create_trial(values=[0.99, 1.0], params={}, distributions={}))
    assert write_outputs(study, tmp_path, throttle=True) is None  # a trial later, within the interval: nothing written
    assert (tmp_path / "trials.csv").stat().st_mtime_ns == before
    frame = write_outputs(study, tmp_path)  # the run's last write
    assert len(frame) == 61 and len(pd.read_csv(tmp_path / "trials.csv")) == 61


def test_knobs_come_in_the_order_the_space_asks_for_them(tmp_path) -> None:
    """A knob first met in a later trial (the fifth block's filters) sits beside its kin, not after the last knob."""
    from optimizer.results.report import knobs_in_order

    ints = IntDistribution(1, 64)
    shallow = {"num_blocks": 1, "filters_1": 8, "dropout": 2}
    deep = {"num_blocks": 2, "filters_1": 8, "filters_2": 16, "dropout": 2}
    trials = [create_trial(values=[0.5, 1.0], params=p, distributions={k: ints for k in p}) for p in (shallow, deep)]
    assert knobs_in_order(trials) == ["num_blocks", "filters_1", "filters_2", "dropout"]


def test_the_csvs_write_whole_numbers_as_integers(tmp_path) -> None:
    study = open_study(storage="sqlite:///:memory:", name="ints", sampler=optuna.samplers.RandomSampler(seed=0))
    dist = {"filters_1": IntDistribution(8, 64), "filters_2": IntDistribution(8, 64)}
    study.add_trial(create_trial(values=[0.5, 2.5], params={"filters_1": 8, "filters_2": 16}, distributions=dist,
                                 user_attrs={"params": 314.0, "macs": 1000.0}))
    study.add_trial(create_trial(values=[0.75, 1.5], params={"filters_1": 9},
                                 distributions={"filters_1": dist["filters_1"]},
                                 user_attrs={"params": 52.0, "macs": 70.0, "repeat_of": 0.0}))
    write_outputs(study, tmp_path)
    text = (tmp_path / "trials.csv").read_text()
    assert ".0," not in text and "314," in text and "0.75," in text
    frame = pd.read_csv(tmp_path / "trials.csv", dtype_backend="numpy_nullable")
    for column in ("trial", "params", "macs", "filters_1", "filters_2", "repeat_of"):  # gaps in the last two
        assert pd.api.types.is_integer_dtype(frame[column]), column
    assert pd.api.types.is_float_dtype(frame["accuracy"])


def test_the_plot_is_titled_by_its_run_folder_and_names_a_shared_study(tmp_path):
    from optimizer.results.report import plot_title

    assert plot_title(tmp_path / "demo", "demo") == "demo"
    assert plot_title(tmp_path / "demo-copy", "demo") == "demo-copy (study demo)"


def test_a_real_runs_trials_csv_repeats_no_column_and_reads_its_whole_numbers_as_integers(tiny_run) -> None:
    trials = pd.read_csv(tiny_run / "trials.csv", dtype_backend="numpy_nullable")
    done = trials[trials["state"] == "COMPLETE"]
    knobs = knob_columns(trials)  # two knobs of three random networks may well agree: only the measurements count
    varying = [c for c in done if c not in knobs and done[c].nunique(dropna=False) > 1]  # constants say nothing
    values = {c: done[c].astype(object).where(done[c].notna(), None).tolist() for c in varying}  # 1 == 1.0
    same = [(a, b) for i, a in enumerate(varying) for b in varying[i + 1:] if values[a] == values[b]]
    assert len(knobs) > 5 and len(varying) > 10 and not same
    assert "step_time_median_ms" not in trials and not any(c.startswith("accuracy_") for c in trials)  # one rung
    integers = ["trial", "params", "macs", "filters_1", "num_blocks", "step_time_steps", "pid", "steps_trained"]
    assert {c: str(trials[c].dtype) for c in integers} == dict.fromkeys(integers, "Int64")
    assert list(pd.read_csv(tiny_run / "pareto.csv").columns) == list(trials.columns)


def test_the_useful_front_drops_members_near_chance_and_puts_the_most_accurate_first() -> None:
    frame = pd.DataFrame({
        "trial": [0, 1, 2, 3, 4, 5],
        "accuracy": [0.12, 0.30, 0.62, 0.85, 0.90, 0.95],
        "step_time_ms": [1.0, 2.0, 4.0, 8.0, 9.0, 3.0],
        "is_pareto": [True, True, True, True, True, False],  # trial 5 is not on the front, whatever its numbers
    })
    kept, floor = useful_front(frame, num_classes=10)
    assert floor == pytest.approx(0.1 + 0.5 * (0.90 - 0.1))  # half-way from chance to the front's best
    assert list(kept["trial"]) == [4, 3, 2]  # 0.12 and 0.30 are under 0.5; most accurate first
    assert accuracy_floor(frame, num_classes=2) == pytest.approx(0.5 + 0.5 * (0.95 - 0.5))
    assert useful_front(frame.iloc[:0], num_classes=10)[0].empty
