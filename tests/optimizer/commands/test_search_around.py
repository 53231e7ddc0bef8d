"""`archopt search --around MODEL` end to end: trial 0 is the user's model, the knobs are named after its layers."""

import json

import pandas as pd
import pytest

from optimizer.cli import main
from optimizer.measure.costs import total_macs
from optimizer.space.models import load_model

pytestmark = pytest.mark.slow

TUTORIAL = """
import keras
from keras import layers


def build():
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(4, 5, padding="same", activation="relu", name="conv1"),
        layers.MaxPooling2D(2, name="pool1"),
        layers.Conv2D(8, 5, padding="same", activation="relu", name="conv2"),
        layers.MaxPooling2D(2, name="pool2"),
        layers.Flatten(name="flatten"),
        layers.Dense(32, activation="relu", name="dense"),
        layers.Dropout(0.4, name="dropout"),
        layers.Dense(10, name="logits"),
    ])
    model.compile(keras.optimizers.Adam(1e-3), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model
"""
KNOBS = {"conv1.stride": 1, "conv1.width": 1.0, "conv1.factorization": "none", "pool1.pool": "max",
         "conv2.width": 1.0, "conv2.factorization": "none", "pool2.pool": "max", "flatten.to_gap": False,
         "dense.width": 1.0}


def test_a_search_around_a_tutorial_convnet_starts_from_it(tmp_path, small_fashion_dir, monkeypatch, capsys) -> None:
    (tmp_path / "tutorial.py").write_text(TUTORIAL)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "run"
    argv = ["search", "--dataset", "fashion_mnist", "--data-dir", str(small_fashion_dir), "--out", str(out),
            "--around", "tutorial.py:build", "--trials", "3", "--train-steps", "20", "--train-size", "512",
            "--val-size", "256", "--timing-s", "0.1", "--trials-per-process", "0", "--no-progress"]
    assert main(argv) == 0
    original = load_model("tutorial.py:build")
    trials = pd.read_csv(out / "trials.csv")
    assert set(KNOBS) <= set(trials.columns)
    first = trials.set_index("trial").loc[0]
    assert {k: first[k] for k in KNOBS} == KNOBS
    assert first["params"] == original.count_params() and first["macs"] == total_macs(original)
    model = str((tmp_path / "tutorial.py").resolve()) + ":build"
    assert json.loads((out / "run.json").read_text())["space"] == f"around/stage:{model}"
    baseline = pd.read_csv(out / "baselines.csv").iloc[0]
    assert baseline["model"] == model and baseline["macs"] == first["macs"]
    assert {"speedup_vs_tutorial.py:build", "points_vs_tutorial.py:build"} <= set(pd.read_csv(out / "pareto.csv"))
    capsys.readouterr()
    assert main(["explain", str(out), "--trial", "0", "--json"]) == 0
    explained = json.loads(capsys.readouterr().out)  # trial 0 beside the model it was searched around: the same
    assert explained["total_macs"] == explained["original"]["total_macs"] == total_macs(original)
    assert explained["original"]["model"] == model
