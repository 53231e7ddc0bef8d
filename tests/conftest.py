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
