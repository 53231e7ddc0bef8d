"""Readers of the datasets' original file formats: IDX (MNIST-like), ``mnist.npz``, CIFAR-10 python.

Each reader returns ``(x_train, y_train), (x_test, y_test)``: x uint8 of shape (N, H, W) for IDX
and npz, (N, 32, 32, 3) for CIFAR-10; y integer labels in [0, num_classes) of shape (N,). Every problem with a file
(missing, truncated, corrupt, inconsistent) raises a one-line ``DataError`` that names the file,
so a bad download never surfaces as a traceback from gzip, zipfile or pickle.
"""

from __future__ import annotations

import gzip
import pickle
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from optimizer.errors import DataError

Pair = tuple[np.ndarray, np.ndarray]
Arrays = tuple[Pair, Pair]

IDX_PREFIXES = ("train", "t10k")
CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_TEST_BATCH = "test_batch"
CIFAR_SHAPE = (3, 32, 32)  # channel-first, as the batches store each row of 3072 bytes
# Reading CIFAR batches means unpickling; only what rebuilds a numpy array is allowed, so a
# tampered file cannot run code (the same rule as Keras' own loader).
_SAFE_GLOBALS = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("_codecs", "encode"),  # Python 3 writes bytes this way in pickle protocol 2
    }
)
# Everything that reading a damaged or foreign file can raise, turned into a DataError.
_READ_ERRORS = (
    OSError, EOFError, zlib.error, zipfile.BadZipFile, tarfile.TarError, pickle.UnpicklingError,
    KeyError, ValueError, TypeError, AttributeError, IndexError,
)


def read_idx(path: Path, *, ndim: int) -> np.ndarray:
    """Read one IDX file (gzipped or raw) of unsigned bytes with ``ndim`` dimensions."""
    data = _read_bytes(path)
    if data[:2] == b"\x1f\x8b":  # gzip magic; raw IDX always starts with two zero bytes
        data = _guard(path, "is not a valid gzip file", lambda: gzip.decompress(data))
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"`{path}` is truncated: expected a header of {header} bytes, found {len(data)}.")
    if data[:3] != b"\x00\x00\x08" or data[3] != ndim:
        raise DataError(
            f"`{path}` is not an IDX file of unsigned bytes with {ndim} dimension(s): "
            f"magic number is {data[:4].hex()}, expected 000008{ndim:02x}."
        )
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    found, expected = len(data) - header, int(np.prod(dims))
    if found != expected:
        what = "truncated" if found < expected else "too long"
        raise DataError(f"`{path}` is {what}: expected {expected} bytes of data for {dims}, found {found}.")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def read_idx_dir(folder: Path, *, num_classes: int = 10) -> Arrays:
    """Read the four MNIST-like IDX files (``train-images-idx3-ubyte[.gz]`` ...) of ``folder``."""
    train, test = (_read_idx_pair(folder, prefix, num_classes=num_classes) for prefix in IDX_PREFIXES)
    return train, test


def read_mnist_npz(path: Path, *, num_classes: int = 10) -> Arrays:
    """Read ``mnist.npz`` as Keras ships it (keys ``x_train, y_train, x_test, y_test``)."""
    keys = ("x_train", "y_train", "x_test", "y_test")

    def load() -> dict[str, np.ndarray]:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in keys if k not in npz.files]
            if missing:
                raise DataError(f"`{path}` lacks the arrays {missing}; expected the keys {list(keys)}.")
            return {k: npz[k] for k in keys}

    arrays = _guard(path, "is not a readable .npz file", load)
    for part in ("train", "test"):
        _check_images(path, arrays[f"x_{part}"], ndim=3)
        _check_labels(path, arrays[f"y_{part}"], count=len(arrays[f"x_{part}"]), num_classes=num_classes)
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def read_cifar_dir(folder: Path, *, num_classes: int = 10) -> Arrays:
    """Read the CIFAR-10 python batches (``data_batch_1..5``, ``test_batch``) of ``folder``."""
    return _read_cifar(str(folder), lambda name: _existing(folder / name).open("rb"), num_classes=num_classes)


def read_cifar_tar(path: Path, *, num_classes: int = 10) -> Arrays:
    """Read ``cifar-10-python.tar.gz`` straight from the archive, without extracting it to disk."""
    with _guard(path, "is not a readable tar archive", lambda: tarfile.open(_existing(path), "r:*")) as tar:
        root = f"{path}:{CIFAR_FOLDER}"
        return _read_cifar(root, lambda name: _member(tar, root, name), num_classes=num_classes)


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise DataError(f"`{path}` is missing.")
    return path


def _read_bytes(path: Path) -> bytes:
    return _guard(path, "cannot be read", _existing(path).read_bytes)


def _read_idx_pair(folder: Path, prefix: str, *, num_classes: int) -> Pair:
    images_path = _gz_or_raw(folder / f"{prefix}-images-idx3-ubyte")
    labels_path = _gz_or_raw(folder / f"{prefix}-labels-idx1-ubyte")
    images, labels = read_idx(images_path, ndim=3), read_idx(labels_path, ndim=1)
    if len(images) != len(labels):
        count = f"{len(images)} images but `{labels_path}` {len(labels)} labels"
        raise DataError(f"`{images_path}` holds {count}.")
    _check_labels(labels_path, labels, count=len(images), num_classes=num_classes)
    return images, labels


def _gz_or_raw(path: Path) -> Path:
    """The gzipped file as the datasets are distributed, else the raw one as some mirrors unpack it."""
    gz = path.with_name(path.name + ".gz")
    if gz.is_file() or not path.is_file():
        return gz
    return path


def _read_batch(where: str | Path, stream: BinaryIO, num_classes: int) -> Pair:
    """Unpickle one CIFAR batch: a dict with ``b"data"`` (N, 3072) uint8 and ``b"labels"``."""
    with stream:
        batch = _SafeUnpickler(stream, encoding="bytes").load()
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise DataError(f"`{where}` is not a CIFAR-10 batch: expected a dict with b'data' and b'labels'.")
    data, labels = batch[b"data"], np.asarray(batch[b"labels"])
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        found = getattr(data, "shape", type(data).__name__)
        raise DataError(f"`{where}` has data of {found}, but a CIFAR-10 batch has (N, 3072) uint8 rows.")
    _check_labels(where, labels, count=len(data), num_classes=num_classes)
    return data.reshape(-1, *CIFAR_SHAPE).transpose(0, 2, 3, 1), labels.astype(np.uint8)


def _member(tar: tarfile.TarFile, root: str, name: str) -> BinaryIO:
    try:
        stream = tar.extractfile(f"{CIFAR_FOLDER}/{name}")
    except KeyError:
        raise DataError(f"`{root}/{name}` is missing from the archive.") from None
    if stream is None:
        raise DataError(f"`{root}/{name}` is not a regular file in the archive.")
    return stream


def _read_cifar(root: str, open_batch: Callable[[str], BinaryIO], *, num_classes: int) -> Arrays:
    """The five training batches joined, and the test batch; ``root/name`` names a batch in errors."""

    def read(name: str) -> Pair:
        where = f"{root}/{name}"
        return _guard(where, "cannot be read", lambda: _read_batch(where, open_batch(name), num_classes))

    return _join(map(read, CIFAR_TRAIN_BATCHES)), _join([read(CIFAR_TEST_BATCH)])


def _join(splits) -> Pair:
    """Concatenate batches into one C-contiguous (N, 32, 32, 3) array, as training reads it."""
    images, labels = zip(*splits)
    return np.ascontiguousarray(np.concatenate(images)), np.concatenate(labels)


def _check_images(path: Path, images: np.ndarray, *, ndim: int) -> None:
    if images.dtype != np.uint8 or images.ndim != ndim:
        raise DataError(
            f"images in `{path}` are {images.dtype} of shape {images.shape}, "
            f"but {ndim}-dimensional uint8 arrays were expected."
        )


def _check_labels(where: str | Path, labels: np.ndarray, *, count: int, num_classes: int) -> None:
    if labels.shape != (count,) or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(
            f"labels in `{where}` are {labels.dtype} of shape {labels.shape}, "
            f"but ({count},) integers were expected."
        )
    if count and (labels.min() < 0 or labels.max() >= num_classes):
        low, high = labels.min(), labels.max()
        expected = f"[0, {num_classes - 1}]"
        raise DataError(f"labels in `{where}` range over [{low}, {high}], but must lie in {expected}.")


def _guard(where: str | Path, problem: str, read):
    """Call ``read`` and turn any low-level read failure into a one-line DataError."""
    try:
        return read()
    except DataError:
        raise
    except _READ_ERRORS as error:
        text = str(error).strip()
        detail = text.splitlines()[0].rstrip(":. ") if text else type(error).__name__
        raise DataError(f"`{where}` {problem}: {detail}.") from error


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _SAFE_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load `{module}.{name}`")
        return super().find_class(module, name)
