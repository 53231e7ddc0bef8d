"""Baselines: measured with the trial protocol from fresh weights, written to baselines.csv, compared in the summary."""

import keras
import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.trial import create_trial

from optimizer.cli import main
from optimizer.data.datasets import Split
from optimizer.results import baselines
from optimizer.results.report import write_outputs
from optimizer.results.summary import print_summary
from optimizer.study.study import open_study
from optimizer.trial.objective import Budget, Objective
from tests.helpers import search_argv

MODEL_PY = """
import keras


def small():
    return keras.Sequential([
        keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3), keras.layers.Flatten(),
        keras.layers.Dense(3, activation="softmax"),
    ])
"""


@pytest.fixture
def objective(seed: int) -> Objective:
    rng = np.random.default_rng(seed)
    x, y = rng.random((64, 8, 8, 1), dtype=np.float32), rng.integers(0, 3, 64)
    return Objective(build=lambda hp: None, split=Split(x, y, x[:30], y[:30]),
                     budget=Budget(batch_size=8, train_steps=3, timing_s=0.02), tags={"device": "cpu:test"})


def test_names_are_the_specs_last_part_and_unique() -> None:
    assert baselines.baseline_name("models/net.keras") == "net.keras"
    assert baselines.baseline_name("a/net.py:build", taken={"net.py:build"}) == "net.py:build#2"


def test_a_saved_model_is_measured_from_fresh_weights_like_a_trial(objective: Objective, tmp_path) -> None:
    (tmp_path / "net.py").write_text(MODEL_PY)
    saved = baselines.fresh_model(f"{tmp_path / 'net.py'}:small")
    saved.layers[0].kernel.assign(np.full(saved.layers[0].kernel.shape, 7.0))
    saved.save(tmp_path / "net.keras")
    fresh = baselines.fresh_model(str(tmp_path / "net.keras"))
    assert not np.any(keras.ops.convert_to_numpy(fresh.layers[0].kernel) == 7.0)

    row = baselines.measure(objective, spec=str(tmp_path / "net.keras"), name="net")
    assert row["state"] == "COMPLETE" and row["name"] == "net" and row["device"] == "cpu:test"
    assert row["params"] == 3 * 3 * 4 + 4 + 6 * 6 * 4 * 3 + 3
    assert row["macs"] == 6 * 6 * 4 * 3 * 3 + 6 * 6 * 4 * 3  # conv, then dense: hand-computed
    assert 0 <= row["accuracy"] <= 1 and (row["accuracy"] * 30) % 1 == pytest.approx(0)
    assert row["step_time_ms"] == row["step_time_first_ms"] > 0 and row["train_s"] > 0


def test_a_failing_baseline_is_recorded_with_its_reason_and_slowness_is_no_failure(
    objective: Objective, tmp_path
) -> None:
    (tmp_path / "net.py").write_text(
        MODEL_PY + MODEL_PY.replace("def small", "def one_class").replace('Dense(3, activation="softmax")', "Dense(1)")
    )
    row = baselines.measure(objective, spec=f"{tmp_path / 'net.py'}:one_class", name="net")  # labels 0-2 for 1 output
    assert row["state"] == "FAIL" and row["fail_reason"].startswith("timing failed")
    slow = Objective(
        build=objective.build,
        split=objective.split,
        budget=Budget(batch_size=8, train_steps=3, timing_s=0.02, max_step_ms=1e-6),
    )
    assert baselines.measure(slow, spec=f"{tmp_path / 'net.py'}:small", name="net")["state"] == "COMPLETE"


def test_dominance_lines_say_who_dominates_and_by_how_much() -> None:
    front = pd.DataFrame({"trial": [41, 7, 3], "accuracy": [0.904, 0.95, 0.80], "step_time_ms": [10.0, 100.0, 1.0]})
    base = pd.DataFrame(
        {"name": ["mine", "best"], "state": ["COMPLETE"] * 2, "accuracy": [0.9, 0.99], "step_time_ms": [62.0, 5.0]}
    )
    lines = baselines.dominance_lines(front, base)
    assert lines == [
        "baseline mine (0.9000 accuracy, 62 ms per step) is dominated by:",
        "  trial 41: 6.2x faster per step at +0.4 points of accuracy",
        "baseline best: no front member dominates it (0.9900 accuracy, 5 ms per step).",
    ]


def test_the_front_gets_each_members_speed_up_and_accuracy_change_against_each_baseline() -> None:
    front = pd.DataFrame({"trial": [4, 9], "accuracy": [0.85, 0.92], "step_time_ms": [5.0, 40.0],
                          "device": ["cpu:x", "gpu:y"]})
    base = pd.DataFrame({"name": ["mine", "broken"], "state": ["COMPLETE", "FAIL"], "accuracy": [0.9, None],
                         "step_time_ms": [20.0, None], "device": ["cpu:x", "cpu:x"]})
    against = baselines.versus(front, base)
    assert list(against.columns[4:]) == ["speedup_vs_mine", "points_vs_mine"]  # a failed baseline has none
    assert against["speedup_vs_mine"].tolist()[0] == 4.0 and pd.isna(against["speedup_vs_mine"][1])  # other device
    assert against["points_vs_mine"].tolist() == [-5.0, 2.0]
    assert baselines.versus(front, None).equals(front)


def test_a_baseline_shows_up_in_baselines_csv_the_plot_and_the_summary(tmp_path, capsys) -> None:
    study = open_study(storage="sqlite:///:memory:", name="b", sampler=optuna.samplers.RandomSampler(seed=0))
    for values in ([0.91, 4.0], [0.95, 30.0], [0.5, 2.0]):
        study.add_trial(create_trial(values=values, user_attrs={"device": "cpu:x"}))
    row = {
        "name": "mine",
        "model": "mine.keras",
        "state": "COMPLETE",
        "accuracy": 0.9,
        "step_time_ms": 20.0,
        "device": "cpu:x",
    }
    baselines.store(study, {"mine": row})
    frame = write_outputs(study, tmp_path)
    written = pd.read_csv(tmp_path / "baselines.csv")
    assert list(written["name"]) == ["mine"] and list(written.columns[:3]) == ["name", "model", "state"]
    assert written.loc[0, "step_time_ms"] == 20.0
    print_summary(frame, run_dir=tmp_path)
    out = capsys.readouterr().out
    assert (
        "baseline mine (0.9000 accuracy, 20 ms per step) is dominated by:\n"
        "  trial 0: 5.0x faster per step at +1.0 points"
        in out
    )
    assert "trial 2:" not in out.split("dominated by:")[1]


@pytest.mark.slow
def test_search_with_a_baseline_writes_it_and_compares_it(tmp_path, small_fashion_dir, capsys) -> None:
    (tmp_path / "net.py").write_text(MODEL_PY.replace("(8, 8, 1)", "(28, 28, 1)").replace("Dense(3", "Dense(10"))
    out = tmp_path / "run"
    argv = search_argv(
        out, small_fashion_dir, "--trials", "2", "--no-progress", "--baseline", f"{tmp_path / 'net.py'}:small"
    )
    assert main(argv) == 0
    written = pd.read_csv(out / "baselines.csv")
    assert list(written["name"]) == ["net.py:small"] and written.loc[0, "state"] == "COMPLETE"
    assert written.loc[0, "macs"] == 26 * 26 * 4 * 9 + 26 * 26 * 4 * 10
    assert "baseline net.py:small" in capsys.readouterr().out
    assert main(["pareto", str(out)]) == 0  # the stored baseline is compared again, not measured again
    assert "baseline net.py:small" in capsys.readouterr().out
    assert (
        len(
            optuna.load_study(study_name="run", storage=f"sqlite:///{out.resolve() / 'study.db'}").user_attrs[
                "baselines"
            ]
        )
        == 1
    )
