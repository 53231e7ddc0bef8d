"""The engine benchmark's pure parts, on a run folder as ``run_search`` leaves it: a run's trials, its per-trial
overhead, its hypervolume curve, the table over runs, the verdict, and the stamped ``engines.txt``."""

import datetime

import optuna
import pandas as pd
import pytest

from benchmarks.engines import curve, overhead_per_trial, summarize, trials_of, verdict, write
from benchmarks.harness import DONE
from optimizer.study.study import DIRECTIONS

T0 = datetime.datetime(2026, 1, 1, 12, 0, 0)


def _trial(number: int, *, start_s: float, end_s: float, values, phases: dict) -> optuna.trial.FrozenTrial:
    return optuna.trial.FrozenTrial(
        number=number, trial_id=number, value=None, values=values, params={}, distributions={}, system_attrs={},
        state=optuna.trial.TrialState.COMPLETE if values else optuna.trial.TrialState.FAIL,
        datetime_start=T0 + datetime.timedelta(seconds=start_s),
        datetime_complete=T0 + datetime.timedelta(seconds=end_s), user_attrs=phases, intermediate_values={})


def _run(folder, *, done: bool = True) -> None:
    folder.mkdir(parents=True)
    study = optuna.create_study(directions=list(DIRECTIONS), storage=f"sqlite:///{folder / 'study.db'}")
    study.add_trial(_trial(1, start_s=12, end_s=20, values=[0.8, 20.0],
                           phases={"build_s": 1.0, "timing_s": 1.0, "train_s": 4.0, "eval_s": 1.0}))
    study.add_trial(_trial(0, start_s=0, end_s=10, values=[0.6, 10.0],
                           phases={"build_s": 1.0, "timing_s": 1.0, "train_s": 5.0, "eval_s": 1.0}))
    study.add_trial(_trial(2, start_s=25, end_s=30, values=None, phases={}))
    if done:
        (folder / DONE).write_text("done\n")


def test_a_run_s_trials_and_overhead(tmp_path) -> None:
    _run(tmp_path / "run")
    trials = trials_of(tmp_path / "run")
    assert trials["start"].tolist() == [0.0, 12.0, 25.0] and trials["state"].tolist()[-1] == "FAIL"
    assert trials["work_s"].tolist()[:2] == [8.0, 7.0]
    assert overhead_per_trial(trials) == pytest.approx(5.0)  # (12 - 0 - 8) and (25 - 12 - 7)
    assert overhead_per_trial(trials, work="timing_train_s") == pytest.approx(7.0)


def test_a_run_s_hypervolume_curve(tmp_path) -> None:
    pytest.importorskip("moocore", reason="the hypervolume needs archopt[bench]")
    _run(tmp_path / "run")
    trials = trials_of(tmp_path / "run")
    points = curve(trials, budget_s=30, every_s=10)
    assert points["elapsed_s"].tolist() == [10.0, 20.0, 30.0] and points["trials"].tolist() == [1, 2, 2]
    hv = points["hypervolume"].tolist()
    assert 0 < hv[0] < hv[1] == hv[2] < 1  # the second trial widens the front; the failed one adds nothing


def test_the_table_holds_finished_runs_only_and_engines_txt_is_stamped(tmp_path) -> None:
    pytest.importorskip("moocore", reason="the hypervolume needs archopt[bench]")
    runs = tmp_path / "runs"
    _run(runs / "optuna-tpe-seed0")
    _run(runs / "random-seed1", done=False)
    frame = summarize(runs, budget_s=20, every_s=10)
    assert set(frame["engine"]) == {"optuna-tpe"} and set(frame["seed"]) == {0} and len(frame) == 2
    write(runs, out=tmp_path, budget_s=20, every_s=10, header="# command: x\n")
    text = (tmp_path / "engines.txt").read_text()
    assert text.startswith("# command: x\noptuna-tpe: 1 seeds, complete trials median 2,")
    assert (tmp_path / "engines.png").exists() and len(pd.read_csv(tmp_path / "engines.csv")) == 2


def test_the_verdict_reads_the_issue_s_two_targets_off_the_table() -> None:
    rows = []
    for engine, hv, overhead in [("optuna-tpe", [0.5, 0.7], 0.1), ("random", [0.3, 0.6], 0.1),
                                 ("kt-bayesian", [0.2, 0.4], 0.8)]:
        rows += [{"engine": engine, "seed": 0, "elapsed_s": t, "trials": 3, "hypervolume": h,
                  "overhead_s_per_trial": overhead, "outside_timing_training_s": 1.0} for t, h in zip([10, 20], hv)]
    lines = verdict(pd.DataFrame(rows)).splitlines()
    assert len(lines) == 5
    assert lines[3] == ("optuna-tpe's median reaches random's final median hypervolume (0.600) at 20 s, 1.00 of the "
                        "20 s (target: at most 0.50)")
    assert lines[4] == "overhead kt-bayesian / optuna-tpe: 8.0x (target: at least 5x)"
