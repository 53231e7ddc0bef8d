"""The export's step time is the one trials.csv shows, and says which it is."""

import optuna

from optimizer.results.export import shown_step_time


def _trial(number: int) -> optuna.trial.FrozenTrial:
    trial = optuna.trial.create_trial(values=[0.9, 48.75])
    trial.number = number
    return trial


def test_a_retimed_trial_exports_its_retimed_step_time():
    record = shown_step_time(_trial(3), {3: 44.2, 5: 10.0})
    assert record["step_time_ms"] == 44.2 and record["step_time_first_ms"] == 48.75
    assert record["step_time_source"].startswith("re-timed")


def test_a_trial_never_retimed_exports_its_first_timing():
    record = shown_step_time(_trial(4), {3: 44.2})
    assert record["step_time_ms"] == 48.75 and "step_time_first_ms" not in record
    assert record["step_time_source"].startswith("first timing")


def test_the_summary_says_step_times_drift_and_ratios_hold(tmp_path, capsys):
    from optimizer.results.report import write_outputs
    from optimizer.results.summary import print_summary
    from optimizer.study.study import DIRECTIONS

    study = optuna.create_study(directions=list(DIRECTIONS))
    study.add_trial(optuna.trial.create_trial(values=[0.9, 4.0], user_attrs={"device": "cpu:x"}))
    print_summary(write_outputs(study, tmp_path), run_dir=tmp_path)
    assert "drift between runs while their ratios hold" in capsys.readouterr().out
