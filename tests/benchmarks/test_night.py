"""The night benchmark's figures over frames built here (no search, no training): repeats and distinct networks,
the finalists picked, Spearman, seeds' means, the dominance checks and the report's lines; and the output's stamp."""

import math

import pandas as pd
import pytest

from benchmarks.night import (
    chosen_vs_best,
    dominating,
    main,
    mean_over_seeds,
    pick_finalists,
    repeated,
    report_lines,
    run_counts,
    spearman,
)


def trials_frame() -> pd.DataFrame:
    # Trial 2 builds trial 0's network (seen by its key), 4 was answered as a repeat, 5 has no key.
    return pd.DataFrame({
        "trial": [0, 1, 2, 3, 4, 5, 6],
        "state": ["COMPLETE", "COMPLETE", "COMPLETE", "FAIL", "PRUNED", "COMPLETE", "COMPLETE"],
        "architecture": ["a", "b", "a", None, "b", None, None],
        "repeat_of": [None, None, None, None, 1.0, None, None],
        "device": ["cpu"] * 7,
    })


def test_a_repeat_is_an_answered_trial_or_a_judged_one_whose_network_came_earlier() -> None:
    trials = trials_frame().sample(frac=1.0, random_state=0)  # the order of the rows must not matter
    assert sorted(trials["trial"][repeated(trials)]) == [2, 4]
    assert run_counts(trials) == {"trials": 7, "repeats": 2, "repeat_share": round(2 / 7, 4), "distinct": 4,
                                  "failed": 1}


def test_the_same_network_on_another_device_class_is_no_repeat() -> None:
    trials = trials_frame().assign(device=["cpu", "cpu", "gpu", "cpu", "cpu", "cpu", "cpu"])
    assert sorted(trials["trial"][repeated(trials)]) == [4]


def test_runs_from_before_repeats_were_recorded_are_read_by_their_keys() -> None:
    old = trials_frame().drop(columns=["repeat_of", "device"])
    assert sorted(old["trial"][repeated(old)]) == [2, 4]


def test_spearman_is_a_rank_correlation() -> None:
    a = pd.Series([0.1, 0.2, 0.3, 0.4])
    assert spearman(a, a ** 3) == 1.0  # monotone, not linear
    assert spearman(a, -a) == -1.0
    assert math.isnan(spearman(a[:2], a[:2]))
    assert math.isnan(spearman(pd.Series([1.0, None, 2.0]), pd.Series([1.0, 2.0, None])))


def front_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "trial": [0, 1, 2, 3, 4],
        "state": ["COMPLETE"] * 5,
        "is_pareto": [True, True, True, False, True],
        "accuracy": [0.90, 0.91, 0.91, 0.95, 0.80],
        "step_time_ms": [10.0, 20.0, 30.0, 5.0, 2.0],
        "architecture": ["a", "b", "b", "c", "d"],
    })


def test_without_finalists_the_most_accurate_distinct_front_members_are_taken() -> None:
    picked = pick_finalists(front_frame(), k=2)
    assert picked["trial"].tolist() == [1, 0]  # trial 3 is off the front; trial 2 is trial 1's network, slower
    assert picked["score"].tolist() == [0.91, 0.90] and set(picked["score_source"]) == {"search_accuracy"}


def test_the_searchs_own_finalists_are_taken_when_it_trained_some() -> None:
    trials = front_frame().assign(final_accuracy=[None, 0.92, None, None, 0.85])
    picked = pick_finalists(trials, k=1)
    assert picked["trial"].tolist() == [1, 4] and picked["score"].tolist() == [0.92, 0.85]
    assert set(picked["score_source"]) == {"final_accuracy"}


def test_seeds_are_averaged_and_a_spread_of_two_tenths_of_a_point_is_noisy() -> None:
    exports = pd.DataFrame({"network": ["x", "x", "y", "y"], "seed": [0, 1, 0, 1],
                            "test_accuracy": [0.920, 0.921, 0.900, 0.910]})
    means = mean_over_seeds(exports).set_index("network")
    assert means.loc["x", "test_accuracy"] == pytest.approx(0.9205) and not means.loc["x", "noisy"]
    assert means.loc["y", "spread_points"] == pytest.approx(1.0) and means.loc["y", "noisy"]


def finalists_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "network": ["s0-t1", "s0-t2", "s1-t3", "s1-t4"], "run": ["s0", "s0", "s1", "s1"],
        "score": [0.93, 0.90, 0.91, 0.92], "score_source": ["final_accuracy"] * 4,
        "search_accuracy": [0.88, 0.87, 0.86, 0.89],
        "test_accuracy": [0.925, 0.931, 0.915, 0.920], "noisy": [False, False, True, False],
        "step_ms": [20.0, 40.0, 4.0, 10.0],
    })


def test_a_finalist_dominates_when_at_least_as_accurate_and_no_slower() -> None:
    finalists = finalists_frame()
    assert dominating(finalists, accuracy=0.920, step_ms=20.0)["network"].tolist() == ["s1-t4", "s0-t1"]
    assert dominating(finalists, accuracy=0.920, step_ms=19.9)["network"].tolist() == ["s1-t4"]
    assert dominating(finalists, accuracy=0.915, step_ms=20.0, speedup=5.0)["network"].tolist() == ["s1-t3"]
    assert dominating(finalists, accuracy=0.932, step_ms=100.0).empty


def test_the_finalist_validation_chose_is_compared_with_the_runs_best_export() -> None:
    rows = chosen_vs_best(finalists_frame()).set_index("run")
    assert rows.loc["s0", "chosen"] == "s0-t1" and rows.loc["s0", "gap_points"] == 0.6
    assert rows.loc["s1", "chosen"] == "s1-t4" and rows.loc["s1", "gap_points"] == 0.0


def test_the_report_names_each_target_and_a_reference_no_finalist_dominates() -> None:
    counts = pd.DataFrame([{"run": "s0", "trials": 100, "repeats": 3, "repeat_share": 0.03, "distinct": 90,
                            "failed": 0}])
    references = pd.DataFrame({"network": ["tutorial_cnn", "vgg_style"], "test_accuracy": [0.919, 0.940],
                               "noisy": [False, False], "step_ms": [22.0, 30.0]})
    text = "\n".join(report_lines(counts=counts, finalists=finalists_frame(), references=references))
    assert "100 trials, 3 repeats (3.0%" in text
    assert "dominates tutorial_cnn: yes, s1-t4 (0.9200, 10.00 ms), s0-t1 (0.9250, 20.00 ms)" in text
    assert "dominates vgg_style: NO finalist" in text
    assert "at >= 5x its speed: NO finalist" in text  # s1-t3 is 5.5x faster but less accurate
    assert "most accurate finalist: s0-t2 at 0.9310" in text
    assert "Spearman(final_accuracy, exported test accuracy) over 4 finalists: -0.200" in text
    assert "Spearman(search accuracy, exported test accuracy): 0.200" in text


def test_without_a_finished_search_the_later_parts_stop_with_one_line(tmp_path, capsys) -> None:
    assert main(["--out", str(tmp_path), "--parts", "report"]) == 1
    assert "run the `search` part first" in capsys.readouterr().err
    log = (tmp_path / "commands.log").read_text()
    assert "# command: python -m benchmarks.night --out" in log and "# commit: " in log and "# parts: report" in log


@pytest.mark.slow
def test_every_part_runs_on_a_tiny_real_search_and_a_rerun_does_nothing_again(tmp_path, small_fashion_dir) -> None:
    from tests.helpers import TINY_BUDGET

    search = ["--data-dir", str(small_fashion_dir), "--trials", "3", "--sampler", "random", *TINY_BUDGET]
    argv = ["--out", str(tmp_path), "--seeds", "0", "--timeout", "5m", "--search-args", " ".join(search),
            "--finalists", "1", "--epochs", "1", "--rounds", "1", "--references", "tutorial_cnn", "small_bn"]
    assert main(argv) == 0
    exports = pd.read_csv(tmp_path / "exports.csv")
    finalist = pd.read_csv(tmp_path / "finalists.csv")["network"].item()
    # The run's seed via `archopt export`, the other trained here; every reference with both seeds.
    assert exports.set_index("key")["how"].to_dict() == {
        f"{finalist}:0": "archopt export", f"{finalist}:1": "in process",
        **{f"{name}:{s}": "in process" for name in ("tutorial_cnn", "small_bn") for s in (0, 1)}}
    assert exports["test_accuracy"].between(0.0, 1.0).all()
    assert (tmp_path / "exports" / f"{finalist}.json").exists() and not (tmp_path / "exports" / finalist).exists()
    assert set(pd.read_csv(tmp_path / "times.csv")["network"]) == {finalist, "tutorial_cnn", "small_bn"}
    text = (tmp_path / "night.txt").read_text()
    assert text.startswith("# command: python -m benchmarks.night --out") and "dominates small_bn:" in text
    assert "as accurate as tutorial_cnn at >= 5x its speed:" in text
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("*.csv")}
    assert main([*argv, "--parts", "search", "finalists", "export", "time"]) == 0
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("*.csv")} == before  # every part was done
