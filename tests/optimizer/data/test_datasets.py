"""Locating, checking, normalizing, splitting and feeding datasets, on tiny real files and Debian's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from optimizer.data.datasets import SPECS, Dataset, load_dataset, split_validation, to_tf_dataset
from optimizer.errors import ArchoptError, DataError
from tests.helpers import (
    make_arrays,
    write_cifar_dir,
    write_cifar_tar,
    write_idx_dir,
    write_npz,
)


@pytest.fixture(autouse=True)
def keras_home(tmp_path, monkeypatch) -> Path:
    """An empty Keras cache, so no test reads (or depends on) the real ~/.keras."""
    home = tmp_path / "keras-home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home


def test_reads_debian_fashion_mnist(fashion_dir):
    data = load_dataset("fashion_mnist", system_dirs=[fashion_dir.parent], download=False)
    assert data.source == str(fashion_dir)
    assert data.x_train.shape == (60000, 28, 28, 1) and data.x_test.shape == (10000, 28, 28, 1)
    assert data.y_train.shape == (60000,) and data.y_test.shape == (10000,)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int32
    assert 0.0 == data.x_train.min() and data.x_train.max() == 1.0
    assert data.input_shape == (28, 28, 1) and data.num_classes == 10
    assert set(np.unique(data.y_test)) == set(range(10))


def test_data_dir_npz_is_normalized_once(tmp_path):
    arrays = make_arrays((28, 28), n_train=6, n_test=3)
    write_npz(tmp_path / "mine" / "mnist.npz", arrays)
    data = load_dataset("mnist", data_dir=tmp_path / "mine")
    (x_train, y_train), (x_test, _) = arrays
    np.testing.assert_array_equal(data.x_train[..., 0], x_train.astype(np.float32) / 255)
    np.testing.assert_array_equal(data.y_train, y_train)
    assert data.x_test.shape == (3, 28, 28, 1)
    assert data.source == str((tmp_path / "mine" / "mnist.npz").resolve())
    assert not data.x_train.flags.writeable  # shared by every trial of the process
    assert load_dataset("mnist", data_dir=str(tmp_path / "mine")) is data


@pytest.mark.parametrize("writer", [write_cifar_dir, write_cifar_tar])
def test_data_dir_cifar_in_either_form(tmp_path, writer):
    arrays = make_arrays((32, 32, 3), n_train=10, n_test=2)
    name = "cifar-10-batches-py" if writer is write_cifar_dir else "cifar-10-python.tar.gz"
    writer(tmp_path / "c" / name, arrays)
    data = load_dataset("cifar10", data_dir=tmp_path / "c")
    assert data.x_train.shape == (10, 32, 32, 3) and data.input_shape == (32, 32, 3)
    np.testing.assert_array_equal(data.x_test, arrays[1][0].astype(np.float32) / 255)


def test_keras_cache_comes_before_system_dirs(tmp_path, keras_home):
    cached = write_idx_dir(keras_home / "datasets" / "fashion-mnist", make_arrays((28, 28), seed=1))
    write_idx_dir(tmp_path / "system" / "fashion-mnist", make_arrays((28, 28), seed=2))
    data = load_dataset("fashion_mnist", system_dirs=[tmp_path / "system"])
    assert data.source == str(cached.resolve())


@pytest.mark.parametrize(
    "name, place, writer, shape",
    [
        ("mnist", "datasets/mnist.npz", write_npz, (28, 28)),
        ("cifar10", "datasets/cifar-10-batches-py-target/cifar-10-batches-py", write_cifar_dir, (32, 32, 3)),
        ("cifar10", "datasets/cifar-10-batches-py", write_cifar_dir, (32, 32, 3)),
    ],
)
def test_keras_cache_layouts(keras_home, name, place, writer, shape):
    writer(keras_home / place, make_arrays(shape, n_train=5, n_test=1))
    data = load_dataset(name, system_dirs=[])
    assert data.source == str((keras_home / place).resolve()) and len(data.x_train) == 5


def test_system_dir_accepts_cifar_dash_10(tmp_path):
    write_cifar_tar(tmp_path / "cifar-10" / "cifar-10-python.tar.gz", make_arrays((32, 32, 3), n_train=5))
    assert len(load_dataset("cifar10", system_dirs=[tmp_path]).x_train) == 5


def test_data_dir_is_the_only_place_looked(tmp_path):
    write_idx_dir(tmp_path / "fashion-mnist", make_arrays((28, 28)))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=f"`{(tmp_path / 'empty').resolve()}` holds no fashion_mnist files"):
        load_dataset("fashion_mnist", data_dir=tmp_path / "empty", system_dirs=[tmp_path])


def test_wrong_image_shape_names_file_and_expected_shape(tmp_path):
    (x_train, y_train), (x_test, y_test) = make_arrays((28, 27))
    path = write_npz(tmp_path / "mnist.npz", ((x_train, y_train), (x_test, y_test)))
    expected = rf"images in `{path}` have shape \(10, 28, 27\), but mnist expects \(N, 28, 28\)\."
    with pytest.raises(DataError, match=expected):
        load_dataset("mnist", data_dir=tmp_path)


def test_corrupt_file_in_data_dir_names_the_file(tmp_path):
    write_idx_dir(tmp_path, make_arrays((28, 28)))
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8bgarbage")
    with pytest.raises(DataError, match=f"`{tmp_path / 'train-labels-idx1-ubyte.gz'}` is not a valid gzip"):
        load_dataset("fashion_mnist", data_dir=tmp_path)


def test_nothing_found_names_every_place(tmp_path, keras_home):
    with pytest.raises(DataError) as error:
        load_dataset("cifar10", system_dirs=[tmp_path / "a", tmp_path / "b"], download=False)
    message = str(error.value)
    assert message.startswith("no cifar10 data found; looked in: ")
    places = [
        keras_home / "datasets" / "cifar-10-batches-py-target", keras_home / "datasets",
        tmp_path / "a" / "cifar10", tmp_path / "a" / "cifar-10", tmp_path / "b" / "cifar10",
        tmp_path / "b" / "cifar-10",
    ]
    assert ", ".join([*map(str, places), "keras download (not allowed)"]) in message
    assert "\n" not in message and "--data-dir" in message


def test_unknown_dataset_lists_the_known_ones():
    expected = r"unknown dataset 'foo'; expected one of: cifar10, fashion_mnist, mnist\."
    with pytest.raises(DataError, match=expected):
        load_dataset("foo")


def make_dataset(n_train: int = 20) -> Dataset:
    """Image i is filled with the value i (test images with -1), so a split can be traced back."""
    x_train = np.arange(n_train, dtype=np.float32).reshape(-1, 1, 1, 1) * np.ones((1, 28, 28, 1), np.float32)
    y_train = np.arange(n_train, dtype=np.int32) % 10
    x_test, y_test = -np.ones((3, 28, 28, 1), np.float32), np.zeros(3, np.int32)
    return Dataset("mnist", x_train, y_train, x_test, y_test, source="made")


def ids(x: np.ndarray) -> list[int]:
    return [int(v) for v in x[:, 0, 0, 0]]


def test_split_is_disjoint_and_sized():
    split = split_validation(make_dataset(), val_size=5, seed=3)
    assert len(split.x_val) == len(split.y_val) == 5 and len(split.x_train) == len(split.y_train) == 15
    assert sorted(ids(split.x_train) + ids(split.x_val)) == list(range(20))  # disjoint, from train only
    np.testing.assert_array_equal(split.y_val, np.asarray(ids(split.x_val)) % 10)  # labels follow images


def test_train_size_takes_a_subset_of_the_rest():
    split = split_validation(make_dataset(), val_size=5, train_size=7, seed=3)
    assert len(split.x_train) == 7 and not set(ids(split.x_train)) & set(ids(split.x_val))


def test_split_is_deterministic_per_seed():
    data = make_dataset()
    first, again, other = (split_validation(data, val_size=5, seed=s) for s in (1, 1, 2))
    assert ids(first.x_val) == ids(again.x_val) and ids(first.x_train) == ids(again.x_train)
    assert ids(first.x_val) != ids(other.x_val)
    assert (data.x_test == -1).all()


@pytest.mark.parametrize(
    "sizes, message",
    [
        ({"val_size": 0}, r"`val_size` must be an integer in \[1, 19\], but got 0\."),
        ({"val_size": 20}, r"`val_size` must be an integer in \[1, 19\], but got 20\."),
        ({"val_size": 2.5}, r"`val_size` .* but got 2\.5\."),
        ({"val_size": True}, r"`val_size` .* but got True\."),
        ({"val_size": 5, "train_size": 16}, r"`train_size` must be an integer in \[1, 15\], but got 16\."),
    ],
)
def test_bad_sizes_are_refused(sizes, message):
    with pytest.raises(ArchoptError, match=message):
        split_validation(make_dataset(), **sizes)


def test_tf_dataset_batches(seed):
    x = np.arange(10, dtype=np.float32).reshape(-1, 1, 1, 1) * np.ones((1, 28, 28, 1), np.float32)
    y = np.arange(10, dtype=np.int32)
    batches = list(to_tf_dataset(x, y, batch_size=4, shuffle=False))
    assert [tuple(b[0].shape) for b in batches] == [(4, 28, 28, 1), (4, 28, 28, 1), (2, 28, 28, 1)]
    assert batches[0][0].dtype.name == "float32" and batches[0][1].dtype.name == "int32"
    assert [int(v) for b in batches for v in b[1]] == list(range(10))


def test_tf_dataset_reshuffles_each_epoch(seed):
    x, y = np.zeros((64, 2), np.float32), np.arange(64, dtype=np.int32)
    data = to_tf_dataset(x, y, batch_size=64, shuffle=True, seed=seed)
    first, second = ([int(v) for v in next(iter(data))[1]] for _ in range(2))
    assert sorted(first) == list(range(64)) and first != second
    assert first != list(range(64))


def test_specs_cover_the_three_datasets():
    assert {name: spec.image_shape for name, spec in SPECS.items()} == {
        "mnist": (28, 28, 1), "fashion_mnist": (28, 28, 1), "cifar10": (32, 32, 3),
    }
