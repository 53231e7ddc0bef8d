"""`archopt export`: the chosen trial retrained, tested once, saved as a SavedModel that serves what Keras predicts."""

import json

import keras
import numpy as np
import pandas as pd
import pytest

from optimizer.cli import main
from optimizer.results.export import serving_outputs

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def exported(tiny_run, tmp_path_factory):
    trial = int(pd.read_csv(tiny_run / "pareto.csv")["trial"].iloc[0])
    out = tmp_path_factory.mktemp("export") / "model"
    assert main(["export", str(tiny_run), "--trial", str(trial), "--out", str(out), "--epochs", "1"]) == 0
    return trial, out


def test_export_writes_a_saved_model_a_keras_file_and_a_record(exported, tiny_run) -> None:
    trial, out = exported
    assert (out / "saved_model.pb").exists() and (out / "model.keras").exists()
    record = json.loads((out / "archopt.json").read_text())
    row = pd.read_csv(tiny_run / "trials.csv").set_index("trial").loc[trial]
    assert record["trial"] == trial and record["knobs"]["head"] == row["head"]
    assert 0.0 <= record["test_accuracy"] <= 1.0 and record["macs"] == row["macs"]
    # The step time pareto.csv shows (the search re-timed its front), and which timing it is.
    timings = (record["step_time_ms"], record["step_time_first_ms"])
    assert timings == pytest.approx((row["step_time_ms"], row["step_time_first_ms"]))
    assert record["step_time_source"] == "re-timed"
    assert record["learning_rate_schedule"].startswith("cosine decay to 0 over ")
    assert record["augmentation"] == "random left-right flips of half the images, drawn anew each epoch"


def test_no_augment_retrains_on_the_images_as_they_are(tiny_run, tmp_path) -> None:
    trial = int(pd.read_csv(tiny_run / "pareto.csv")["trial"].iloc[0])
    argv = ["export", str(tiny_run), "--trial", str(trial), "--out", str(tmp_path / "m"), "--epochs", "1"]
    assert main([*argv, "--no-augment"]) == 0
    assert json.loads((tmp_path / "m" / "archopt.json").read_text())["augmentation"] == "none"


def test_the_serving_signature_returns_what_the_keras_model_predicts(exported, seed) -> None:
    _, out = exported
    images = np.random.default_rng(seed).random((5, 28, 28, 1), dtype=np.float32)
    served = serving_outputs(out, images)
    predicted = keras.models.load_model(out / "model.keras").predict(images, verbose=0)
    assert served.shape == (5, 10)
    np.testing.assert_allclose(served, predicted, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("trial", "message"), [("999", "trial 999 does not exist"), ("-1", "trial -1 does not exist")])
def test_exporting_a_trial_that_does_not_exist_is_one_line(tiny_run, tmp_path, capsys, trial, message) -> None:
    assert main(["export", str(tiny_run), "--trial", trial, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not (tmp_path / "x").exists()
