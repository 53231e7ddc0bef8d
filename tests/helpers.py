"""What several test modules share: writers of the datasets' original formats and a tiny `archopt search` argv.

Test modules import from here, never from one another.
"""

from __future__ import annotations

import datetime
import gzip
import pickle
import tarfile
from pathlib import Path

import numpy as np

from optimizer import cli
from optimizer.commands.search import plan_from_args
from optimizer.data import formats
from optimizer.optuna_private import storage_of


def make_arrays(image_shape: tuple[int, ...], *, n_train: int = 10, n_test: int = 4, seed: int = 0):
    """Random uint8 images and labels in [0, 9]: ``(x_train, y_train), (x_test, y_test)``."""
    rng = np.random.default_rng(seed)

    def part(n: int):
        return rng.integers(0, 256, (n, *image_shape), dtype=np.uint8), rng.integers(0, 10, n, dtype=np.uint8)

    return part(n_train), part(n_test)


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file of unsigned bytes: magic 0x0000 08 <ndim>, big-endian dims, then the data."""
    header = bytes([0, 0, 8, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    return header + array.astype(np.uint8).tobytes()


def write_idx(path: Path, array: np.ndarray, *, gz: bool = True) -> Path:
    data = idx_bytes(array)
    path = path.with_name(path.name + ".gz") if gz else path
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def write_idx_dir(folder: Path, arrays, *, gz: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, (x, y) in zip(("train", "t10k"), arrays):
        write_idx(folder / f"{prefix}-images-idx3-ubyte", x, gz=gz)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", y, gz=gz)
    return folder


def write_npz(path: Path, arrays) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    (x_train, y_train), (x_test, y_test) = arrays
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


def write_cifar_dir(folder: Path, arrays) -> Path:
    """``data_batch_1..5`` and ``test_batch``: pickled dicts of channel-first rows, as CIFAR ships them."""
    folder.mkdir(parents=True, exist_ok=True)
    (x_train, y_train), (x_test, y_test) = arrays
    batches = list(zip(np.array_split(x_train, 5), np.array_split(y_train, 5)))
    for name, (x, y) in zip([*formats.CIFAR_TRAIN_BATCHES, "test_batch"], [*batches, (x_test, y_test)]):
        rows = x.transpose(0, 3, 1, 2).reshape(len(x), 3072)
        batch = {b"batch_label": b"x", b"data": rows, b"labels": [int(v) for v in y]}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    return folder


def write_cifar_tar(path: Path, arrays) -> Path:
    folder = write_cifar_dir(path.parent / "staging" / formats.CIFAR_FOLDER, arrays)
    with tarfile.open(path, "w:gz") as tar:
        tar.add(folder, arcname=formats.CIFAR_FOLDER)
    return path


TINY_BUDGET = [
    "--finalists",
    "0",
    "--train-steps",
    "15",
    "--train-size",
    "800",
    "--val-size",
    "300",
    "--timing-s",
    "0.1",
    "--batch-size",
    "32",
    "--trials-per-process",
    "0",
]  # in this process: tests read its stderr and run faster without workers


def search_argv(out: Path, data_dir: Path, *extra: str) -> list[str]:
    """An `archopt search` command line with a budget small enough for tests."""
    return [
        "search",
        "--dataset",
        "fashion_mnist",
        "--data-dir",
        str(data_dir),
        "--out",
        str(out),
        *TINY_BUDGET,
        *extra,
    ]


def search_plan(tmp_path: Path, *extra: str):
    """The checked settings of `archopt search --out <tmp_path>/run EXTRA...` (pure: no files, no TensorFlow)."""
    return plan_from_args(cli.build_parser().parse_args(["search", "--out", str(tmp_path / "run"), *extra]))


def one_line_error(capsys, argv: list[str]) -> str:
    """Run `archopt ARGV` in this process; it must fail with exactly one line on stderr."""
    try:
        code = cli.main(argv)
    except SystemExit as exit_:  # argparse's own usage errors
        code = exit_.code
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("archopt: error:")]
    assert code != 0 and "Traceback" not in err, err
    assert len(errors) == 1, err
    return errors[0]



def age_heartbeat(study, trial_id: int, *, seconds: float) -> None:
    """Date trial ``trial_id``'s last heartbeat ``seconds`` earlier, in the study's real storage: a worker silent
    that long, without the test waiting it out (Optuna has no public way to write a heartbeat's time)."""
    import sqlalchemy.orm
    from optuna.storages._rdb import models

    storage = storage_of(study)
    backend = getattr(storage, "_backend", storage)  # the RDB storage under Optuna's cache
    with sqlalchemy.orm.Session(backend.engine) as session, session.begin():
        beat = session.query(models.TrialHeartbeatModel).filter_by(trial_id=trial_id).one()
        beat.heartbeat -= datetime.timedelta(seconds=seconds)

# Knobs of a one-block network of the default space, where `downsample` changes nothing (nothing to
# shrink between).
ONE_BLOCK = dict(
    first_stride=2, first_kernel=3, num_blocks=1, filters_1=16, kernel_size=3, factorization="none",
    batch_norm=False, convs_per_block=1, downsample="max", head="gap", dense_units=0, dropout=0.0,
)

# One knob that changes the network and one that changes nothing: a repeat by knobs, or by
# architecture only.
INERT_SPACE = """
import keras

def build(hp):
    units = hp.Choice("units", [16, 32])
    hp.Choice("unused", [1, 2])
    return keras.Sequential([
        keras.Input((28, 28, 1)), keras.layers.Flatten(),
        keras.layers.Dense(units, activation="relu"), keras.layers.Dense(10, activation="softmax"),
    ])
"""
