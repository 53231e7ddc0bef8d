"""The noise benchmark reads a trial's knobs back from trials.csv and counts the seeds halving wins."""

import optuna
import pandas as pd
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from benchmarks.fidelity_noise import knobs, verdicts
from optimizer.results.report import trials_frame

DISTRIBUTIONS = {
    "num_blocks": IntDistribution(1, 3),
    "filters_2": IntDistribution(8, 64),
    "dropout": FloatDistribution(0.0, 0.5),
    "head": CategoricalDistribution(["gap", "flatten"]),
}


def _trial(number: int, params: dict) -> optuna.trial.FrozenTrial:
    used = {k: DISTRIBUTIONS[k] for k in params}
    trial = optuna.trial.create_trial(params=params, distributions=used, values=[0.8, 3.0])
    trial.number = number
    return trial


def test_knobs_come_back_from_trials_csv_with_their_types(tmp_path) -> None:
    deep = {"num_blocks": 2, "filters_2": 32, "dropout": 0.25, "head": "gap"}
    shallow = {"num_blocks": 1, "dropout": 0.0, "head": "flatten"}  # no filters_2: a gap in its column
    path = tmp_path / "trials.csv"
    trials_frame([_trial(0, deep), _trial(1, shallow)], pareto={0}).to_csv(path, index=False)
    trials = pd.read_csv(path)
    assert trials["filters_2"].dtype == float  # what the gap does to the column
    assert knobs(trials, 0) == deep
    assert [type(v) for v in knobs(trials, 0).values()] == [int, int, float, str]  # Keras refuses numpy integers
    assert knobs(trials, 1) == shallow


def test_verdicts_count_the_seeds_halving_is_above_both() -> None:
    frame = pd.DataFrame(
        {
            "method": ["halving", "single-300", "single-900"] * 2,
            "seed": [0, 0, 0, 1, 1, 1],
            "hv_retrain0": [0.87, 0.86, 0.86, 0.86, 0.87, 0.85],
            "hv_mean": [0.87, 0.86, 0.86, 0.87, 0.86, 0.85],
        }
    )
    assert verdicts(frame) == [
        "hv_retrain0: halving above single-300, single-900 in 1 of 2 seeds",
        "hv_mean: halving above single-300, single-900 in 2 of 2 seeds",
    ]


def test_the_noise_script_reads_part_2s_setting_from_fidelitys_own_flags() -> None:
    import argparse

    from benchmarks.fidelity import Setting, add_setting_arguments, setting_from

    parser = argparse.ArgumentParser()
    add_setting_arguments(parser, top_steps=900)
    assert setting_from(parser.parse_args([])) == Setting(
        space="default", data_dir=None, seed=0, batch_size=64, min_steps=100, eta=3, top_steps=900, short_steps=300,
        train_size=20000, val_size=5000, timing_s=1.0,
    )
    assert setting_from(parser.parse_args(["--seed", "1", "--top-steps", "2700"])).top_steps == 2700


def test_a_resumed_run_trains_nothing_and_writes_its_stamped_figures(tmp_path) -> None:
    import pytest

    pytest.importorskip("moocore", reason="the hypervolume needs archopt[bench]")
    from benchmarks.fidelity_noise import main

    runs = tmp_path / "runs"
    common = []
    for name, accuracy in [("halving-seed0", 0.9), ("single-300-seed0", 0.8), ("single-900-seed0", 0.85)]:
        (runs / name).mkdir(parents=True)
        pd.DataFrame({"trial": [0, 1], "accuracy_top": [accuracy, accuracy - 0.1]}).to_csv(
            runs / name / "reevaluated.csv", index=False)
        pd.DataFrame({"trial": [0, 1], "accuracy_top": [accuracy - 0.01, accuracy - 0.1]}).to_csv(
            runs / name / "reevaluated-retrain1.csv", index=False)  # done before: nothing to retrain
        common += [{"run": name, "trial": 0, "step_ms_common": 20.0}, {"run": name, "trial": 1, "step_ms_common": 5.0}]
    pd.DataFrame(common).to_csv(runs / "common_step_times.csv", index=False)
    assert main(["--runs", str(runs), "--retrain-seeds", "1"]) == 0
    lines = (tmp_path / "fidelity_noise.txt").read_text().splitlines()
    assert lines[0] == f"# command: python -m benchmarks.fidelity_noise --runs {runs} --retrain-seeds 1"
    assert lines[-3:] == [f"hv_{key}: halving above single-300, single-900 in 1 of 1 seeds"
                          for key in ("retrain0", "retrain1", "mean")]
    assert len(pd.read_csv(tmp_path / "fidelity_noise.csv")) == 3
