"""The report-size benchmark's synthetic study: complete trials with both objectives, and a few failed ones."""

from benchmarks.report_size import KNOBS, synthetic_study


def test_the_synthetic_study_has_complete_trials_over_the_knobs_and_a_failed_one_in_25(tmp_path) -> None:
    study = synthetic_study(tmp_path, trials=35)
    states = [t.state.name for t in study.trials]
    assert len(states) == 35 and [i for i, s in enumerate(states) if s == "FAIL"] == [7, 32]
    done = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert all(set(t.params) == set(KNOBS) and 0.5 < t.values[0] <= 0.95 and t.values[1] > 2.0 for t in done)
    assert study.trials[7].user_attrs["fail_reason"].startswith("synthetic")
