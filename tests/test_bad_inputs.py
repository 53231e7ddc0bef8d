"""Every bad input gets one line naming it, a non-zero exit and no traceback; nothing computed is lost."""

import gzip
import shutil

import keras
import keras_tuner
import numpy as np
import optuna
import pytest

from optimizer import cli
from optimizer.study import run_config
from optimizer.study.run_config import RunConfig
from tests.helpers import one_line_error

TINY = [
    "--train-steps",
    "5",
    "--train-size",
    "200",
    "--val-size",
    "100",
    "--timing-s",
    "0.05",
    "--batch-size",
    "16",
    "--no-progress",
    "--trials-per-process",
    "0",
]


def test_unknown_dataset(capsys, tmp_path):
    assert "invalid choice: 'svhn' (choose from 'mnist'" in one_line_error(
        capsys, ["search", "--dataset", "svhn", "--out", str(tmp_path / "r")]
    )


@pytest.mark.parametrize("flag, value, expected", [
    ("--timeout", "8 hours please", "8 hours please"),
    ("--trials", "0", "`--trials` must be a positive integer, but got 0"),
    ("--trials", "-3", "got -3"),
    ("--trials", "many", "invalid int value: 'many'"),
    ("--sampler", "annealing", "invalid choice: 'annealing' (choose from 'tpe'"),
    ("--epochs", ["2", "--train-steps", "4"], "argument --train-steps: not allowed with argument --epochs"),
    ("--engine", "hyperopt", "'hyperopt'"),
])
def test_bad_flag_values(capsys, tmp_path, flag, value, expected):
    values = value if isinstance(value, list) else [value]
    assert expected in one_line_error(capsys, ["search", flag, *values, "--out", str(tmp_path / "r")])
    assert not (tmp_path / "r").exists()  # refused before anything was written


def test_truncated_dataset_file(capsys, tmp_path, fashion_dir):
    for name in ("train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(fashion_dir / name, tmp_path / name)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(
        (fashion_dir / "train-images-idx3-ubyte.gz").read_bytes()[:5000]
    )
    line = one_line_error(capsys, ["search", "--data-dir", str(tmp_path), "--out", str(tmp_path / "r"), *TINY])
    assert "train-images-idx3-ubyte.gz" in line


def test_images_of_the_wrong_shape(capsys, tmp_path):
    rng = np.random.default_rng(0)
    def images(n):  # MNIST is 28x28
        return rng.integers(0, 255, (n, 32, 32), dtype=np.uint8)

    def labels(n):
        return rng.integers(0, 10, n, dtype=np.uint8)

    np.savez(tmp_path / "mnist.npz", x_train=images(300), y_train=labels(300), x_test=images(50), y_test=labels(50))
    line = one_line_error(
        capsys, ["search", "--dataset", "mnist", "--data-dir", str(tmp_path), "--out", str(tmp_path / "r"), *TINY]
    )
    assert "32" in line and "28" in line


def test_space_that_cannot_be_imported(capsys, tmp_path, fashion_dir):
    (tmp_path / "broken.py").write_text("import not_a_module_anywhere\n")
    line = one_line_error(
        capsys,
        [
            "search",
            "--space",
            f"{tmp_path / 'broken.py'}:build",
            "--data-dir",
            str(fashion_dir),
            "--out",
            str(tmp_path / "r"),
            *TINY,
        ],
    )
    assert "not_a_module_anywhere" in line


def test_space_whose_every_build_raises_ends_saying_why(capsys, tmp_path, fashion_dir, monkeypatch):
    from optimizer.study import study

    monkeypatch.setattr(study, "GIVE_UP_AFTER_FAILURES", 3)  # the rule, not its overnight threshold of 25
    (tmp_path / "raises.py").write_text(
        "def build(hp):\n    hp.Int('units', 1, 4)\n    raise ValueError('no such layer: Conv5D')\n"
    )
    line = one_line_error(
        capsys,
        [
            "search",
            "--space",
            f"{tmp_path / 'raises.py'}:build",
            "--data-dir",
            str(fashion_dir),
            "--trials",
            "2",
            "--out",
            str(tmp_path / "r"),
            *TINY,
        ],
    )
    assert "no trial completed" in line and "Conv5D" in line


def test_unreachable_storage(capsys, tmp_path):
    line = one_line_error(
        capsys,
        ["search", "--storage", "postgresql://archopt:secret@127.0.0.1:9/none", "--out", str(tmp_path / "r"), *TINY],
    )
    assert "cannot open storage" in line and "127.0.0.1:9" in line and "secret" not in line
    assert not (tmp_path / "r").exists()  # nothing of the failed start is left


def test_a_start_that_fails_before_its_first_trial_leaves_the_folder_as_it_found_it(capsys, tmp_path):
    empty = tmp_path / "no-data"
    empty.mkdir()
    argv = ["search", "--dataset", "mnist", "--data-dir", str(empty), "--out", str(tmp_path / "new" / "run"), *TINY]
    assert "mnist" in one_line_error(capsys, argv)
    assert not (tmp_path / "new").exists()  # the folders it made are gone, parents too
    argv[argv.index("--train-steps") + 1] = "7"
    assert "started with" not in one_line_error(capsys, argv)  # a retry with other settings is no resume
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("the user's")
    one_line_error(capsys, [*argv[:argv.index("--out")], "--out", str(tmp_path / "mine"), *TINY])
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]  # a folder that was there stays


def test_output_folder_that_cannot_be_created(capsys, tmp_path):
    (tmp_path / "file").write_text("a file, not a folder")
    assert "cannot create output folder" in one_line_error(
        capsys, ["search", "--out", str(tmp_path / "file" / "run"), *TINY]
    )


def test_bad_flag_on_resume_leaves_the_study_alone(capsys, tmp_path):
    run = _run_folder(tmp_path)
    before = (run / "study.db").read_bytes()
    line = one_line_error(capsys, ["search", "--out", str(run), "--seed", "7", *TINY])
    assert "started with --seed 0;" in line and "but got --seed 7." in line
    assert (run / "study.db").read_bytes() == before


@pytest.mark.parametrize(
    "trial, expected", [(5, "trial 5 does not exist"), (1, "trial 1 did not complete (FAIL: build failed")]
)
def test_export_of_a_missing_or_failed_trial(capsys, tmp_path, trial, expected):
    run = _run_folder(tmp_path)
    assert expected in one_line_error(
        capsys, ["export", str(run), "--trial", str(trial), "--out", str(tmp_path / "model")]
    )
    assert not (tmp_path / "model").exists()


def test_explain_of_a_missing_model(capsys, tmp_path):
    assert "does not exist" in one_line_error(capsys, ["explain", str(tmp_path / "gone.keras")])


def test_explain_of_an_unreadable_model(capsys, tmp_path):
    (tmp_path / "bad.keras").write_bytes(gzip.compress(b"not a keras archive"))
    assert "cannot read model file" in one_line_error(capsys, ["explain", str(tmp_path / "bad.keras")])


def _run_folder(tmp_path):
    """A run folder as `archopt search` leaves it: run.json and a study with one complete and one failed trial."""
    run = tmp_path / "run"
    run.mkdir()
    config = RunConfig(
        dataset="fashion_mnist",
        space="default",
        storage=f"sqlite:///{run / 'study.db'}",
        study="run",
        val_size=100,
        train_size=200,
        budget=run_config.Budget(batch_size=16, train_steps=5, timing_s=0.05),
    )
    run_config.save(config, run)
    study = optuna.create_study(storage=config.storage, study_name="run", directions=["maximize", "minimize"])
    dist = {"units": optuna.distributions.IntDistribution(1, 4)}
    study.add_trial(
        optuna.create_trial(
            values=[0.5, 3.0], params={"units": 2}, distributions=dist, user_attrs={"device": "cpu:A x2"}
        )
    )
    study.add_trial(optuna.create_trial(state=optuna.trial.TrialState.FAIL, params={"units": 3}, distributions=dist,
                                        user_attrs={"fail_reason": "build failed: ValueError: bad"}))
    return run


class MaybeDiverging(keras_tuner.HyperModel):
    """Trains to NaN when `diverge`: a Lambda multiplies the logits by infinity."""

    def build(self, hp):
        inputs = keras.Input((28, 28, 1))
        x = keras.layers.Dense(10)(keras.layers.Flatten()(inputs))
        if hp.Boolean("diverge"):
            x = keras.layers.Lambda(lambda t: t * float("inf"))(x)
        return keras.Model(inputs, keras.layers.Softmax()(x))


def test_candidate_whose_loss_turns_nan_fails_and_the_study_goes_on(fashion_dir, seed):
    from optimizer.data.datasets import load_dataset, split_validation
    from optimizer.errors import CandidateFailed
    from optimizer.trial.objective import Budget, Objective

    split = split_validation(
        load_dataset("fashion_mnist", data_dir=fashion_dir), val_size=100, train_size=200, seed=seed
    )
    study = optuna.create_study(directions=["maximize", "minimize"])
    study.enqueue_trial({"diverge": True})
    study.enqueue_trial({"diverge": False})
    objective = Objective(
        build=MaybeDiverging().build, split=split, budget=Budget(batch_size=16, train_steps=5, timing_s=0.05)
    )
    study.optimize(objective, n_trials=2, catch=(CandidateFailed,))
    diverged, fine = study.trials
    assert diverged.state == optuna.trial.TrialState.FAIL and "nan" in diverged.user_attrs["fail_reason"].lower()
    assert fine.state == optuna.trial.TrialState.COMPLETE


def test_pareto_of_an_unknown_device_names_the_known_ones(capsys, tmp_path):
    line = one_line_error(capsys, ["pareto", str(_run_folder(tmp_path)), "--device", "gpu:TPU v9"])
    assert "'gpu:TPU v9'" in line and "'cpu:A x2'" in line


def test_fronts_are_kept_per_device_class(capsys, tmp_path):
    """A slow candidate on a fast device must not hide a candidate timed on a slow one (mixed fleets)."""
    from optimizer.results.report import pareto_numbers

    run = _run_folder(tmp_path)
    study = optuna.load_study(study_name="run", storage=f"sqlite:///{run / 'study.db'}")
    dist = {"units": optuna.distributions.IntDistribution(1, 4)}
    study.add_trial(
        optuna.create_trial(values=[0.9, 1.0], params={"units": 4}, distributions=dist, user_attrs={"device": "gpu:B"})
    )
    study.add_trial(
        optuna.create_trial(
            values=[0.4, 2.0], params={"units": 1}, distributions=dist, user_attrs={"device": "cpu:A x2"}
        )
    )
    assert pareto_numbers(study) == {0, 2, 3}  # 0 and 3 are dominated only by the GPU's trial 2
    assert cli.main(["pareto", str(run), "--device", "cpu:A x2"]) == 0
    assert "Pareto front (2 trials" in capsys.readouterr().out
