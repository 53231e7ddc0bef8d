"""The throughput benchmark's pure parts: the bookkeeping between trials, the summary of a run folder, the report."""

import datetime

import numpy as np
import optuna
import pandas as pd
import pytest

from benchmarks.throughput import MAX_GAP_S, PHASES, _fit_ratio, bookkeeping_gaps, report, summarize
from optimizer.study.study import DIRECTIONS

T0 = datetime.datetime(2026, 1, 1, 12, 0, 0)


def _trial(number: int, *, start_s: float, end_s: float) -> optuna.trial.FrozenTrial:
    return optuna.trial.FrozenTrial(
        number=number, trial_id=number, state=optuna.trial.TrialState.COMPLETE, value=None, values=[0.9, 5.0],
        datetime_start=T0 + datetime.timedelta(seconds=start_s),
        datetime_complete=T0 + datetime.timedelta(seconds=end_s),
        params={"width": number}, distributions={"width": optuna.distributions.IntDistribution(0, 100)},
        user_attrs={}, system_attrs={}, intermediate_values={})


def test_a_gap_is_the_time_since_the_previous_trial_ended_unless_it_spans_two_slices() -> None:
    trials = [_trial(0, start_s=0, end_s=10), _trial(1, start_s=12, end_s=20),
              _trial(2, start_s=20 + MAX_GAP_S + 5, end_s=100 + MAX_GAP_S)]
    assert bookkeeping_gaps(trials).tolist() == [0.0, 2.0, 0.0]  # the first trial has no predecessor


def test_a_run_folder_is_summarized_from_its_trials_csv_and_its_study(tmp_path) -> None:
    study = optuna.create_study(directions=list(DIRECTIONS), storage=f"sqlite:///{tmp_path / 'study.db'}")
    for trial in [_trial(0, start_s=0, end_s=10), _trial(1, start_s=13, end_s=20), _trial(2, start_s=21, end_s=30)]:
        study.add_trial(trial)
    frame = pd.DataFrame({"trial": [0, 1, 2], "state": ["COMPLETE", "COMPLETE", "FAIL"],
                          "duration_s": [10.0, 7.0, 9.0], "step_time_timed_s": [1.0, 1.0, 1.0],
                          "train_s": [6.0, 4.0, 5.0], "macs": [100, 300, 200],
                          "fit_step_ms": [11.0, 30.0, np.nan], "step_time_first_ms": [10.0, 20.0, 5.0],
                          **{p: [1.0, 3.0, 9.0] for p in PHASES if p not in ("duration_s", "train_s")}})
    frame.to_csv(tmp_path / "trials.csv", index=False)
    row = summarize(tmp_path, wall_s=1800.0)
    assert row["complete"] == 2 and row["trials_per_hour"] == 4.0
    assert row["fixed_s_from_phases"] == pytest.approx(np.median([10 - 1 - 6 + 0, 7 - 1 - 4 + 3]))
    assert np.isnan(row["fixed_s_column"])  # older commits have no such column
    assert row["fit_over_timed"] == pytest.approx(np.median([1.1, 1.5])) and row["macs_median"] == 200
    assert row["build_s"] == 2.0 and row["train_s"] == 5.0 and row["duration_s"] == 8.5


def test_the_fit_ratio_needs_trials_that_record_fit_s_step_time() -> None:
    assert np.isnan(_fit_ratio(pd.DataFrame({"step_time_first_ms": [1.0]})))
    assert np.isnan(_fit_ratio(pd.DataFrame({"step_time_first_ms": [1.0], "fit_step_ms": [np.nan]})))


def test_the_report_gives_new_over_old_trials_per_hour() -> None:
    rows = {"new": {"trials_per_hour": 30.0, "complete": 15}, "old": {"trials_per_hour": 20.0, "complete": 10}}
    text = report(rows, old="abc1234", slices=2, slice_min=10, train_steps=100, sampler="random")
    assert "abc1234 (old), 2 slice(s) of 10 min each per side, taking turns, --sampler random." in text
    assert text.endswith("complete trials per hour, new / old: 1.50x")
    rows["old"]["trials_per_hour"] = 0.0
    assert report(rows, old="x", slices=1, slice_min=1, train_steps=1, sampler="tpe").endswith("nanx")
