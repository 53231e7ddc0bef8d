"""`archopt explain` end to end through the CLI, on model files written to tmp_path."""

import json
from pathlib import Path

import keras
import pytest
from keras import layers

from optimizer.cli import main

BUILDER = """
import keras

def build_model():
    return keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(4, 3),
        keras.layers.Flatten(),
        keras.layers.Dense(3, activation="softmax"),
    ])
"""
# conv: 6 * 6 * 4 outputs x 3 * 3 * 1 MACs each; dense: 144 inputs x 3 units.
TOTAL_MACS = 6 * 6 * 4 * 9 + 144 * 3
TOTAL_PARAMS = (9 * 4 + 4) + (144 * 3 + 3)


@pytest.fixture
def builder(tmp_path: Path) -> Path:
    path = tmp_path / "builder.py"
    path.write_text(BUILDER)
    return path


@pytest.fixture
def keras_file(tmp_path: Path) -> Path:
    model = keras.Sequential(
        [keras.Input((8, 8, 1)), layers.Conv2D(4, 3), layers.Flatten(), layers.Dense(3, activation="softmax")]
    )
    model.save(tmp_path / "tiny.keras")
    return tmp_path / "tiny.keras"


def _json(argv: list[str], capsys: pytest.CaptureFixture) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_json_of_a_keras_file(keras_file: Path, capsys: pytest.CaptureFixture) -> None:
    report = _json(["explain", str(keras_file), "--json"], capsys)

    assert (report["total_params"], report["total_macs"]) == (TOTAL_PARAMS, TOTAL_MACS)
    assert [layer["type"] for layer in report["layers"]] == ["Conv2D", "Flatten", "Dense"]


def test_json_of_a_python_function(builder: Path, capsys: pytest.CaptureFixture) -> None:
    report = _json(["explain", f"{builder}:build_model", "--json"], capsys)

    assert (report["total_params"], report["total_macs"]) == (TOTAL_PARAMS, TOTAL_MACS)
    assert report["layers"][0]["output_shape"] == [6, 6, 4]


def test_table_by_default(builder: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["explain", f"{builder}:build_model"]) == 0

    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:2] == ["name", "type"]
    assert out.splitlines()[-1] == f"Total: {TOTAL_PARAMS:,} params, {TOTAL_MACS:,} MACs per example (3 layers)"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["missing.keras"], "model file `missing.keras` does not exist."),
        (["{builder}:no_such_function"], "has no function `no_such_function`."),
        (["{builder}:build_model", "--batch-size", "0"], "`--batch-size` must be a positive integer, but got 0."),
        (["{tmp_path}", "--trial", "3"], "is not an archopt run folder"),
        (["{builder}:build_model", "--batch-size", "many"], "invalid int value: 'many'"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(
    argv: list[str], message: str, builder: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    argv = [arg.format(builder=builder, tmp_path=tmp_path) for arg in argv]

    try:
        code = main(["explain", *argv])
    except SystemExit as exit_:  # argparse's own usage errors exit instead of returning
        code = exit_.code
    captured = capsys.readouterr()

    assert code == 2
    assert captured.out == ""
    assert captured.err.startswith("archopt: error: ") and captured.err.count("\n") == 1
    assert message in captured.err
    assert "Traceback" not in captured.err


@pytest.mark.slow  # times ~1 s of training steps and the matmul peak: ~9 s on 2 shared cores
def test_time_adds_step_time_and_throughput(builder: Path, capsys: pytest.CaptureFixture) -> None:
    report = _json(["explain", f"{builder}:build_model", "--json", "--time", "--batch-size", "8"], capsys)

    assert report["total_macs"] == TOTAL_MACS
    assert report["batch_size"] == 8
    assert report["step_time_ms"] > 0
    expected = 6 * TOTAL_MACS * 8 / (report["step_time_ms"] / 1e3) / 1e9
    assert report["achieved_gflops"] == pytest.approx(expected)
    assert report["fraction_of_peak"] == pytest.approx(report["achieved_gflops"] / report["peak_gflops"])
    # A model this small cannot keep the matmul units busy.
    assert 0 < report["fraction_of_peak"] < 1
