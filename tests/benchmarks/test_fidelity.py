"""The fidelity benchmark's pure parts: the rung table, the methods of part 2, a run's trials and front, the curves
and the verdict."""

import datetime

import optuna
import pandas as pd
import pytest

from benchmarks.fidelity import Setting, curves, front, methods, run_trials, rung_table, verdict
from benchmarks.harness import DONE
from optimizer.study.study import DIRECTIONS

SETTING = Setting(space="default", data_dir=None, seed=0, batch_size=64, min_steps=10, eta=3, top_steps=90,
                  short_steps=30, train_size=600, val_size=200, timing_s=0.3)
T0 = datetime.datetime(2026, 1, 1, 12, 0, 0)


def test_the_rung_table_ranks_each_rung_against_the_top_one() -> None:
    frame = pd.DataFrame({"stale_10": [0.1, 0.2, 0.3, 0.4], "accuracy_10": [0.6, 0.7, 0.8, 0.9],
                          "stale_30": [0.9, 0.8, 0.7, 0.6], "accuracy_30": [0.61, 0.72, 0.83, 0.94]})
    table = rung_table(frame, (10, 30)).set_index(["steps", "evaluation"])
    assert len(table) == 4 and set(table["candidates"]) == {4}
    assert table.loc[(10, "stale (before)"), "share_below_0.5"] == 1.0
    assert table.loc[(10, "precise BN (after)"), "spearman_vs_top"] == pytest.approx(1.0)
    assert table.loc[(30, "stale (before)"), "kendall_vs_top"] == pytest.approx(-1.0)
    assert table.loc[(30, "precise BN (after)"), "spearman_vs_top"] == pytest.approx(1.0)  # the top rung itself
    few = rung_table(frame.head(2), (10, 30))
    assert few["spearman_vs_top"].isna().all()  # two candidates rank nothing


def test_part_2_compares_halving_with_single_fidelity_at_the_short_and_the_top_budget() -> None:
    assert SETTING.rungs == (10, 30, 90)
    runs = methods(SETTING)
    assert list(runs) == ["halving", "single-30", "single-90"]
    assert runs["halving"] == ["--train-steps", "90", "--min-steps", "10", "--eta", "3"]
    assert runs["single-30"] == ["--train-steps", "30", "--min-steps", "30"]


def _run(folder) -> None:
    """A finished part-2 run: two complete trials on the front, one dominated, one pruned at a short rung."""
    folder.mkdir(parents=True)
    study = optuna.create_study(directions=list(DIRECTIONS), storage=f"sqlite:///{folder / 'study.db'}")
    rows = [(0.8, 5.0, "COMPLETE"), (0.9, 9.0, "COMPLETE"), (0.7, 8.0, "COMPLETE"), (None, 3.0, "PRUNED")]
    for number, (accuracy, step_ms, state) in enumerate(rows):
        study.add_trial(optuna.trial.FrozenTrial(
            number=number, trial_id=number, value=None, values=None if accuracy is None else [accuracy, 99.0],
            state=optuna.trial.TrialState[state], params={"width": number},
            distributions={"width": optuna.distributions.IntDistribution(0, 10)},
            user_attrs={"step_time_first_ms": step_ms, "steps_trained": 10}, system_attrs={}, intermediate_values={},
            datetime_start=T0 + datetime.timedelta(seconds=10 * number),
            datetime_complete=T0 + datetime.timedelta(seconds=10 * number + 8)))
    (folder / DONE).write_text("done\n")


def test_a_run_s_trials_use_their_own_timings_and_its_front_the_complete_ones(tmp_path) -> None:
    _run(tmp_path / "run")
    trials = run_trials(tmp_path / "run")
    assert trials["end"].tolist() == [8.0, 18.0, 28.0, 38.0]
    assert trials["step_ms"].tolist() == [5.0, 9.0, 8.0, 3.0]  # not the stored value (99): a later re-timing's
    assert front(trials)["trial"].tolist() == [0, 1]


def test_the_curves_count_the_finished_runs(tmp_path) -> None:
    pytest.importorskip("moocore", reason="the hypervolume needs archopt[bench]")
    _run(tmp_path / "halving-seed0")
    (tmp_path / "single-30-seed0").mkdir()  # unfinished: left out
    curve = curves(tmp_path, budget_s=40, every_s=20)
    assert curve["method"].unique().tolist() == ["halving"] and curve["elapsed_s"].tolist() == [20.0, 40.0]
    assert curve["complete"].tolist() == [2, 3] and curve["candidates"].tolist() == [2, 4]
    hv = curve["hypervolume_own_fidelity"].tolist()
    assert 0 < hv[0] == hv[1]  # the front was found by 20 s; the dominated and the pruned trial add nothing


def test_the_verdict_counts_seeds_where_halving_wins_and_when_it_reaches_short_s_final() -> None:
    final = pd.DataFrame({"seed": [0, 0, 0, 1, 1, 1], "method": ["halving", "single-30", "single-90"] * 2,
                          "hypervolume_top_rung": [0.5, 0.4, 0.3, 0.5, 0.6, 0.3]})
    curve = pd.DataFrame({"seed": [0] * 4, "method": ["halving", "halving", "single-30", "single-30"],
                          "elapsed_s": [10.0, 20.0, 10.0, 20.0], "hypervolume_own_fidelity": [0.3, 0.5, 0.2, 0.4]})
    lines = verdict(final, curve, short="single-30")
    assert lines[0] == "halving's re-evaluated hypervolume above single-30, single-90 in 1 of 2 seeds"
    assert lines[1] == ("seed 0: halving reaches single-30's final hypervolume (0.400, at its own fidelity) at 20 s "
                        "(1.00 of the budget)")
    assert verdict(final.head(0), curve.head(0), short="single-30") == []
