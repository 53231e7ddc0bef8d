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
