"""The repeats benchmark counts a trial as a repeat when its network is an earlier one's, however its knobs read."""

import optuna
import pandas as pd
from optuna.distributions import CategoricalDistribution

from benchmarks.repeats import counts
from optimizer.results.report import trials_frame
from optimizer.space.candidate import rebuild
from search_spaces.default_cnn import DefaultCNN
from tests.helpers import ONE_BLOCK


def _trial(number: int, params: dict) -> optuna.trial.FrozenTrial:
    model = rebuild(DefaultCNN(input_shape=(28, 28, 1), num_classes=10).build, params)
    trial = optuna.trial.create_trial(
        params=params, distributions={k: CategoricalDistribution([v]) for k, v in params.items()},
        values=[0.8 + number / 100, 3.0 + number], user_attrs={"params": model.count_params(), "device": "cpu"},
    )
    trial.number = number
    return trial


def test_repeats_are_counted_by_network_and_their_seconds_summed(tmp_path) -> None:
    spelled = [ONE_BLOCK, ONE_BLOCK, ONE_BLOCK | {"downsample": "avg"}, ONE_BLOCK | {"filters_1": 32}]
    frame = trials_frame([_trial(n, p) for n, p in enumerate(spelled)], pareto={3})
    frame["duration_s"] = [10.0, 20.0, 40.0, 80.0]
    frame.to_csv(tmp_path / "trials.csv", index=False)
    line = counts(pd.read_csv(tmp_path / "trials.csv"))  # as the benchmark reads it: knobs back from the CSV
    # Trial 1 repeats trial 0's knobs, trial 2 its network (downsampling is inert with one block).
    assert (line["judged"], line["repeats"], line["repeat_s"], line["distinct"]) == (4, 2, 60, 2)
    assert line["all_s"] == 150 and line["answered"] == 0


def test_a_line_per_run_under_the_stamp(tmp_path, capsys) -> None:
    import pytest

    pytest.importorskip("moocore", reason="the hypervolume needs archopt[bench]")
    from benchmarks.repeats import main

    frame = trials_frame([_trial(n, p) for n, p in enumerate([ONE_BLOCK, ONE_BLOCK])], pareto={1})
    frame["duration_s"] = [10.0, 20.0]
    (tmp_path / "run").mkdir()
    frame.to_csv(tmp_path / "run" / "trials.csv", index=False)
    out = tmp_path / "repeats.txt"
    assert main([str(tmp_path / "run"), "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0].startswith("# command: python -m benchmarks.repeats ") and len(lines) == 4
    assert lines[3].startswith("run=run trials=2 judged=2 repeats=1 ")
    assert capsys.readouterr().out.splitlines() == lines[3:]
