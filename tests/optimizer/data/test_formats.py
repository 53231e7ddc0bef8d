"""The readers of the original file formats, on tiny files written in each format."""

from __future__ import annotations

import gzip
import os
import pickle
import tarfile

import numpy as np
import pytest

from optimizer.data import formats
from optimizer.errors import DataError
from tests.helpers import idx_bytes, make_arrays, write_cifar_dir, write_cifar_tar, write_idx, write_idx_dir, write_npz


def assert_same(actual, expected) -> None:
    for (x, y), (x_expected, y_expected) in zip(actual, expected):
        assert x.dtype == np.uint8 and x.shape == x_expected.shape
        np.testing.assert_array_equal(x, x_expected)
        np.testing.assert_array_equal(y, y_expected)


# --- round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False])
def test_idx_dir_round_trips(tmp_path, gz):
    arrays = make_arrays((28, 28))
    assert_same(formats.read_idx_dir(write_idx_dir(tmp_path, arrays, gz=gz)), arrays)


def test_read_idx_keeps_any_shape(tmp_path):
    array = np.arange(2 * 3 * 5, dtype=np.uint8).reshape(2, 3, 5)
    np.testing.assert_array_equal(formats.read_idx(write_idx(tmp_path / "a", array), ndim=3), array)


def test_mnist_npz_round_trips(tmp_path):
    arrays = make_arrays((28, 28))
    assert_same(formats.read_mnist_npz(write_npz(tmp_path / "mnist.npz", arrays)), arrays)


def test_cifar_dir_round_trips_to_channels_last(tmp_path):
    arrays = make_arrays((32, 32, 3))
    read = formats.read_cifar_dir(write_cifar_dir(tmp_path / "cifar-10-batches-py", arrays))
    assert_same(read, arrays)
    assert read[0][0].flags.c_contiguous and read[1][0].flags.c_contiguous


def test_cifar_tar_round_trips(tmp_path):
    arrays = make_arrays((32, 32, 3))
    assert_same(formats.read_cifar_tar(write_cifar_tar(tmp_path / "cifar-10-python.tar.gz", arrays)), arrays)


# --- damaged files -------------------------------------------------------------------------------


def test_truncated_gzip_names_the_file(tmp_path):
    path = write_idx(tmp_path / "train-images-idx3-ubyte", make_arrays((28, 28))[0][0])
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(DataError, match=f"`{path}` is not a valid gzip file"):
        formats.read_idx(path, ndim=3)


def test_truncated_pixels_are_counted(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros((3, 28, 28), np.uint8))[:-100]))
    with pytest.raises(DataError, match=rf"`{path}` is truncated: expected 2352 bytes .* found 2252\."):
        formats.read_idx(path, ndim=3)


def test_bad_magic_is_reported(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(b"\x00\x00\x0d\x01" + idx_bytes(np.zeros(3, np.uint8))[4:])  # 0x0d: float32
    with pytest.raises(DataError, match=rf"`{path}` is not an IDX file .* magic number is 00000d01"):
        formats.read_idx(path, ndim=1)


def test_images_and_labels_must_agree_in_count(tmp_path):
    (x_train, y_train), test = make_arrays((28, 28))
    folder = write_idx_dir(tmp_path, ((x_train, y_train[:-1]), test))
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz` holds 10 images but .* 9 labels"):
        formats.read_idx_dir(folder)


def test_labels_out_of_range_are_reported(tmp_path):
    train, (x_test, y_test) = make_arrays((28, 28))
    folder = write_idx_dir(tmp_path, (train, (x_test, np.full_like(y_test, 10))))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.gz` range over \[10, 10\].*\[0, 9\]"):
        formats.read_idx_dir(folder)


def test_missing_idx_file_is_named(tmp_path):
    folder = write_idx_dir(tmp_path, make_arrays((28, 28)))
    (folder / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte.gz` is missing"):
        formats.read_idx_dir(folder)


def test_npz_that_is_not_a_zip_is_named(tmp_path):
    path = tmp_path / "mnist.npz"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match=f"`{path}` is not a readable .npz file"):
        formats.read_mnist_npz(path)


def test_npz_missing_key_is_named(tmp_path):
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=np.zeros((1, 28, 28), np.uint8))
    with pytest.raises(DataError, match=r"lacks the arrays \['y_train', 'x_test', 'y_test'\]"):
        formats.read_mnist_npz(path)


def test_npz_float_images_are_refused(tmp_path):
    (x_train, y_train), test = make_arrays((28, 28))
    path = write_npz(tmp_path / "mnist.npz", ((x_train / 255.0, y_train), test))
    with pytest.raises(DataError, match=r"are float64 of shape \(10, 28, 28\).*uint8"):
        formats.read_mnist_npz(path)


def test_missing_cifar_batch_is_named(tmp_path):
    folder = write_cifar_dir(tmp_path / "cifar-10-batches-py", make_arrays((32, 32, 3)))
    (folder / "data_batch_4").unlink()
    with pytest.raises(DataError, match=r"data_batch_4` is missing"):
        formats.read_cifar_dir(folder)


def test_corrupt_cifar_batch_is_named(tmp_path):
    folder = write_cifar_dir(tmp_path / "cifar-10-batches-py", make_arrays((32, 32, 3)))
    (folder / "test_batch").write_bytes((folder / "test_batch").read_bytes()[:200])
    with pytest.raises(DataError, match=r"test_batch` cannot be read"):
        formats.read_cifar_dir(folder)


def test_cifar_batch_cannot_run_code(tmp_path):
    class Exploit:
        def __reduce__(self):
            return os.system, ("echo pwned",)

    folder = write_cifar_dir(tmp_path / "cifar-10-batches-py", make_arrays((32, 32, 3)))
    (folder / "data_batch_1").write_bytes(pickle.dumps({b"data": Exploit()}))
    with pytest.raises(DataError, match=r"data_batch_1` cannot be read: refusing to load `posix.system`"):
        formats.read_cifar_dir(folder)


def test_cifar_batch_with_wrong_rows_is_refused(tmp_path):
    folder = write_cifar_dir(tmp_path / "cifar-10-batches-py", make_arrays((32, 32, 3)))
    batch = {b"data": np.zeros((2, 1024), np.uint8), b"labels": [0, 1]}
    (folder / "data_batch_2").write_bytes(pickle.dumps(batch))
    with pytest.raises(DataError, match=r"data_batch_2` has data of \(2, 1024\).*\(N, 3072\)"):
        formats.read_cifar_dir(folder)


def test_tar_without_a_batch_names_the_member(tmp_path):
    folder = write_cifar_dir(tmp_path / formats.CIFAR_FOLDER, make_arrays((32, 32, 3)))
    (folder / "data_batch_5").unlink()
    path = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.add(folder, arcname=formats.CIFAR_FOLDER)
    member = "cifar-10-python.tar.gz:cifar-10-batches-py/data_batch_5"
    with pytest.raises(DataError, match=f"{member}` is missing from the archive"):
        formats.read_cifar_tar(path)


def test_truncated_tar_is_named(tmp_path):
    path = write_cifar_tar(tmp_path / "cifar-10-python.tar.gz", make_arrays((32, 32, 3)))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DataError, match=f"`{path}:cifar-10-batches-py/data_batch_.` cannot be read"):
        formats.read_cifar_tar(path)


def test_garbage_tar_is_named(tmp_path):
    path = tmp_path / "cifar-10-python.tar.gz"
    path.write_bytes(b"not a tar" * 100)
    with pytest.raises(DataError, match=f"`{path}` is not a readable tar archive"):
        formats.read_cifar_tar(path)


def test_missing_tar_is_named(tmp_path):
    path = tmp_path / "cifar-10-python.tar.gz"
    with pytest.raises(DataError, match=f"`{path}` is missing"):
        formats.read_cifar_tar(path)
