"""The re-timing bias benchmark's pure parts: which front members it times, its table of figures, and their ratios to
a fresh model's stream timing."""

import optuna
import pandas as pd
import pytest

from benchmarks.retime_bias import members, ratios, table
from optimizer.study.study import DIRECTIONS


def _study() -> optuna.Study:
    study = optuna.create_study(directions=list(DIRECTIONS))
    for accuracy, step_ms in [(0.9, 10.0), (0.8, 5.0), (0.95, 20.0), (0.7, 30.0), (0.85, 8.0)]:
        study.add_trial(optuna.trial.create_trial(values=[accuracy, step_ms]))
    return study


def test_members_are_front_trials_spread_from_the_fastest_to_the_slowest() -> None:
    study = _study()  # the front by step time: trials 1 (5 ms), 4 (8 ms), 0 (10 ms), 2 (20 ms); 3 is dominated
    assert [t.number for t in members(study, n=2)] == [1, 0]
    assert [t.number for t in members(study, n=10)] == [1, 4, 0, 2]


def test_the_table_takes_medians_over_passes_and_the_study_s_own_retiming() -> None:
    trials = members(_study(), n=2)
    def one_pass(streams: dict) -> dict:
        return {n: {"stream": s, "fixed_1": 2 * s, "fixed_3": 3 * s, "stream_loop": s} for n, s in streams.items()}

    passes = [one_pass({1: 4.0, 0: 9.0}), one_pass({1: 6.0, 0: 11.0})]  # medians: 5 ms and 10 ms
    retimed = {"1": {"step_time_rounds_ms": [4.0, 7.0, 5.0], "sitting_factor": 1.1, "step_time_ms": 5.5}}
    frame = table(trials, passes, {1: 6.0, 0: 11.0}, retimed)
    first = frame.set_index("trial").loc[1]
    assert first["first_ms"] == 5.0 and first["stream_ms"] == 5.0 and first["fixed_3_ms"] == 15.0
    assert first["retimed_in_search_raw_ms"] == 5.0 and first["retimed_in_search_ms"] == 5.5
    assert pd.isna(frame.set_index("trial").loc[0, "retimed_in_search_ms"])  # trial 0 was not re-timed
    figures = ratios(frame)
    assert figures["interleaved_ms"] == pytest.approx(1.15) and figures["fixed_1_ms"] == pytest.approx(2.0)
    assert figures["retimed_in_search_ms"] == pytest.approx(1.1)  # only the re-timed trial counts
    assert "fit_step_ms" not in figures  # no trial recorded it
