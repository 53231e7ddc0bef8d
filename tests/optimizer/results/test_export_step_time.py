"""The export's step time is the one trials.csv shows, and says which it is."""

import optuna

from optimizer.results.export import step_time_record
from optimizer.results.retime import ATTR
from optimizer.study.study import DIRECTIONS
from optimizer.trial.attrs import FIRST_STEP_TIME


def _study_with(trial_attrs: dict, *, retimed: bool) -> tuple[optuna.Study, optuna.trial.FrozenTrial]:
    study = optuna.create_study(directions=list(DIRECTIONS))
    study.add_trial(optuna.trial.create_trial(values=[0.9, 44.2], user_attrs=trial_attrs))
    if retimed:
        study.set_user_attr(ATTR, {"0": {"step_time_ms": 44.2}})
    return study, study.trials[0]


def test_a_retimed_trial_exports_its_retimed_step_time():
    record = step_time_record(*_study_with({FIRST_STEP_TIME: 48.75}, retimed=True))
    assert record == {"step_time_ms": 44.2, "step_time_source": "re-timed", "step_time_first_ms": 48.75}


def test_a_trial_never_retimed_exports_its_first_timing():
    record = step_time_record(*_study_with({}, retimed=False))
    assert record == {"step_time_ms": 44.2, "step_time_source": "first", "step_time_first_ms": 44.2}


def test_the_summary_says_step_times_drift_and_ratios_hold(tmp_path, capsys):
    from optimizer.results.report import write_outputs
    from optimizer.results.summary import print_summary

    study = optuna.create_study(directions=list(DIRECTIONS))
    study.add_trial(optuna.trial.create_trial(values=[0.9, 4.0], user_attrs={"device": "cpu:x"}))
    print_summary(write_outputs(study, tmp_path), run_dir=tmp_path)
    assert "drift between runs while their ratios hold" in capsys.readouterr().out
