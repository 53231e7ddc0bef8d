"""Shared fixtures: a fixed seed, quiet TensorFlow, and the Debian Fashion-MNIST files."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path

import pytest

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture
def seed() -> int:
    """One seed for every test that samples, splits or initializes."""
    import keras

    keras.utils.set_random_seed(1234)
    return 1234


@pytest.fixture(scope="session")
def fashion_dir() -> Path:
    """The real Fashion-MNIST files of Debian's `dataset-fashion-mnist` package."""
    if not (FASHION_DIR / "train-images-idx3-ubyte.gz").exists():
        pytest.fail(f"{FASHION_DIR} is missing: apt-get install dataset-fashion-mnist")
    return FASHION_DIR


@pytest.fixture(scope="session")
def small_fashion_dir(tmp_path_factory, fashion_dir: Path) -> Path:
    """A small slice of the real Fashion-MNIST, rewritten in its original IDX format: fast end-to-end runs."""
    from optimizer.data.formats import read_idx_dir
    from tests.helpers import write_idx_dir

    (x_train, y_train), (x_test, y_test) = read_idx_dir(fashion_dir)
    folder = tmp_path_factory.mktemp("fashion-small")
    return write_idx_dir(folder, ((x_train[:1200], y_train[:1200]), (x_test[:300], y_test[:300])))


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, small_fashion_dir: Path) -> Path:
    """One real search of 3 complete trials, shared by the tests that read a finished run."""
    from optimizer.cli import main
    from tests.helpers import search_argv

    out = tmp_path_factory.mktemp("runs") / "tiny"
    assert main(search_argv(out, small_fashion_dir, "--trials", "3", "--sampler", "random", "--no-progress")) == 0
    return out


@pytest.fixture(scope="module")
def frozen_gc():
    """Earlier tests' objects out of the collector's sight, as reset_keras puts what a search process holds at its
    first trial: modules that build many candidates (each reset a full collection) then take seconds, not minutes."""
    import gc

    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()
