"""The datasets archopt searches on: where their files are, how they are checked, split and fed.

``load_dataset`` looks in one place after another (a folder the user names; Keras' cache; the
Debian folders under ``/usr/share/datasets``; a Keras download) and decodes the files once per
process. ``split_validation`` holds out validation images from the training set only, so the
test set never takes part in selecting an architecture.
"""

from __future__ import annotations

import functools
import os
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from optimizer.data import formats
from optimizer.defaults import VAL_SIZE
from optimizer.errors import ArchoptError, DataError, first_line

if TYPE_CHECKING:
    import tensorflow as tf

DEFAULT_SYSTEM_DIRS: tuple[Path, ...] = (Path("/usr/share/datasets"),)
_NUM_CLASSES = 10


@dataclass(frozen=True)
class Layout:
    """One way a dataset's files can lie in a folder: present when ``marker`` exists there."""

    marker: str
    read: Callable[[Path], formats.Arrays]
    root: str = "."  # what ``read`` is given, relative to the folder


_IDX = (
    Layout("train-images-idx3-ubyte.gz", formats.read_idx_dir),
    Layout("train-images-idx3-ubyte", formats.read_idx_dir),
)
_NPZ = Layout("mnist.npz", formats.read_mnist_npz, root="mnist.npz")
_CIFAR = (
    Layout(f"{formats.CIFAR_FOLDER}/data_batch_1", formats.read_cifar_dir, root=formats.CIFAR_FOLDER),
    Layout("data_batch_1", formats.read_cifar_dir),
    Layout("cifar-10-python.tar.gz", formats.read_cifar_tar, root="cifar-10-python.tar.gz"),
)


@dataclass(frozen=True)
class DatasetSpec:
    """What archopt knows about one dataset: its images, its files and where they are kept."""

    name: str
    image_shape: tuple[int, int, int]
    layouts: tuple[Layout, ...]
    keras_cache: tuple[str, ...]  # folders relative to KERAS_HOME that `keras.datasets` fills
    system_folders: tuple[str, ...]  # folders under each system dir, e.g. /usr/share/datasets
    hint: str
    num_classes: int = _NUM_CLASSES

    @property
    def file_shape(self) -> tuple[int, ...]:
        """Shape of one image as the files store it: (H, W) for grayscale, (H, W, C) for color."""
        return self.image_shape[:2] if self.image_shape[2] == 1 else self.image_shape


SPECS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        "mnist", (28, 28, 1), (_NPZ, *_IDX), keras_cache=("datasets",), system_folders=("mnist",),
        hint="Pass --data-dir with mnist.npz or the four MNIST IDX files.",
    ),
    "fashion_mnist": DatasetSpec(
        "fashion_mnist", (28, 28, 1), _IDX, keras_cache=("datasets/fashion-mnist",),
        system_folders=("fashion-mnist",),
        hint="Install Debian's dataset-fashion-mnist or pass --data-dir.",
    ),
    "cifar10": DatasetSpec(
        # Keras 3 extracts into cifar-10-batches-py-target/, Keras 2 into datasets/ itself.
        "cifar10", (32, 32, 3), _CIFAR, keras_cache=("datasets/cifar-10-batches-py-target", "datasets"),
        system_folders=("cifar10", "cifar-10"),
        hint="Pass --data-dir with cifar-10-python.tar.gz or its cifar-10-batches-py folder.",
    ),
}


@dataclass(frozen=True, eq=False)
class Dataset:
    """Decoded images, x float32 in [0, 1] of shape (N, H, W, C), y int32 (N,).

    The arrays are read-only: one Dataset is cached per process and shared by every trial.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str  # where the files were read from, for logs and reports

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        return SPECS[self.name].num_classes


@dataclass(frozen=True, eq=False)
class Split:
    """Training and validation arrays drawn from a dataset's training set."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


def load_dataset(
    name: str,
    *,
    data_dir: str | Path | None = None,
    system_dirs: Sequence[Path] = DEFAULT_SYSTEM_DIRS,
    download: bool = True,
) -> Dataset:
    """Find, read, check and normalize dataset ``name``; decoded once per process and source.

    ``data_dir``, when given, is the only place looked in. Otherwise: Keras' cache, then
    ``<system dir>/<folder>`` for each of ``system_dirs``, then a Keras download (if ``download``).
    """
    spec = get_spec(name)
    if data_dir is not None:
        folder = Path(data_dir).expanduser().resolve()
        found = _find(spec, folder)
        if found is None:
            raise DataError(f"`{folder}` holds no {name} files. {spec.hint}")
        return _read(name, *found)
    looked = []
    for folder in _places(spec, system_dirs):
        found = _find(spec, folder)
        if found is not None:
            return _read(name, *found)
        looked.append(str(folder))
    failure = "keras download (not allowed)"
    if download:
        try:
            return _read(name, None, None)
        except Exception as error:  # offline, Keras fails in many ways; all are reported
            failure = f"keras download (failed: {first_line(error)})"
    raise DataError(f"no {name} data found; looked in: {', '.join(looked + [failure])}. {spec.hint}")


def get_spec(name: str) -> DatasetSpec:
    """The spec of dataset ``name``, or a one-line error listing the known names."""
    if name not in SPECS:
        raise DataError(f"unknown dataset {name!r}; expected one of: {', '.join(sorted(SPECS))}.")
    return SPECS[name]


def keras_home() -> Path:
    """Keras' cache root: ``$KERAS_HOME``, else ``~/.keras`` (read now, not at import, unlike Keras)."""
    return Path(os.environ.get("KERAS_HOME") or "~/.keras").expanduser()


def split_validation(
    dataset: Dataset, *, val_size: int = VAL_SIZE, train_size: int | None = None, seed: int = 0
) -> Split:
    """Hold out ``val_size`` training images for validation, by a permutation seeded with ``seed``.

    ``train_size`` keeps only that many of the remaining training images (None keeps all), for
    quicker searches. The test set is not touched.
    """
    total = len(dataset.x_train)
    _check_size("val_size", val_size, low=1, high=total - 1)
    rest = total - val_size
    train_size = rest if train_size is None else _check_size("train_size", train_size, low=1, high=rest)
    order = np.random.default_rng(seed).permutation(total)
    val, train = order[:val_size], order[val_size : val_size + train_size]
    return Split(dataset.x_train[train], dataset.y_train[train], dataset.x_train[val], dataset.y_train[val])


PREFETCH_BATCHES = 2  # batches made ahead: in-memory slicing is far faster than a step


def to_tf_dataset(
    x: np.ndarray, y: np.ndarray, *, batch_size: int, shuffle: bool, seed: int = 0
) -> tf.data.Dataset:
    """Batches of ``(x, y)`` from in-memory arrays, reshuffled each epoch when ``shuffle``; prefetched."""
    import tensorflow as tf  # importing TensorFlow takes seconds; only training needs it

    _check_size("batch_size", batch_size, low=1, high=None)
    data = tf.data.Dataset.from_tensor_slices((_as_tensor(x), _as_tensor(y)))
    if shuffle:
        data = data.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return without_autotune(data.batch(batch_size).prefetch(PREFETCH_BATCHES))


def without_autotune(data: "tf.data.Dataset") -> "tf.data.Dataset":
    """``data`` with tf.data's autotuning off.

    Autotuning's background thread can make the destruction of an iterator wait until about 5 s after the iterator
    was made: measured on the 2-core CPU, half of the ``fit`` calls of 60 steps (3.2-3.4 s of steps) returned 1.1-2.0 s
    after their last step, every one at 5.13 s, and none did with a fixed prefetch and autotuning off, whose steps
    were as fast. A search trains each candidate for a few seconds, so that wait was a large share of its fixed cost.
    In-memory batches need no tuning: a couple of batches prefetched keep the steps fed.
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return data.with_options(options)


_TENSORS: dict[int, tuple[weakref.ref, "tf.Tensor"]] = {}


def _as_tensor(array: np.ndarray) -> "tf.Tensor":
    """``array`` as a TensorFlow tensor, converted once for as long as the array lives.

    Every trial trains on the same in-memory split; converting it copies it (20,000 images: 63 MB, 0.2-0.6 s on the
    2-core CPU) before each ``fit``. The arrays are never written once split, so one tensor per array serves all.
    """
    import tensorflow as tf

    cached = _TENSORS.get(id(array))
    if cached is not None and cached[0]() is array:
        return cached[1]
    tensor = tf.convert_to_tensor(array)
    _TENSORS[id(array)] = (weakref.ref(array, lambda _, key=id(array): _TENSORS.pop(key, None)), tensor)
    return tensor


def _places(spec: DatasetSpec, system_dirs: Sequence[Path]) -> list[Path]:
    cache = [keras_home() / folder for folder in spec.keras_cache]
    return cache + [Path(d) / folder for d in system_dirs for folder in spec.system_folders]


def _find(spec: DatasetSpec, folder: Path) -> tuple[Path, int] | None:
    """The path to read and the index of the first of ``spec``'s layouts present in ``folder``."""
    for index, layout in enumerate(spec.layouts):
        if (folder / layout.marker).exists():
            return (folder / layout.root).resolve(), index
    return None


@functools.lru_cache(maxsize=4)
def _read(name: str, path: Path | None, layout: int | None) -> Dataset:
    """Decode once per process: hundreds of trials share the arrays (None, None = Keras download)."""
    spec = SPECS[name]
    if path is None:
        import keras

        (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, name).load_data()
        source = f"keras.datasets.{name}.load_data()"
    else:
        (x_train, y_train), (x_test, y_test) = spec.layouts[layout].read(path)
        source = str(path)
    x_train, x_test = (_normalize(spec, source, x) for x in (x_train, x_test))
    y_train, y_test = (_frozen(np.asarray(y, dtype=np.int32).reshape(-1)) for y in (y_train, y_test))
    return Dataset(name, x_train, y_train, x_test, y_test, source=source)


def _normalize(spec: DatasetSpec, source: str, images: np.ndarray) -> np.ndarray:
    """Check the shape, then scale uint8 pixels to float32 in [0, 1] in one vectorized pass."""
    if images.shape[1:] != spec.file_shape:
        raise DataError(
            f"images in `{source}` have shape {images.shape}, but {spec.name} expects (N, "
            f"{', '.join(map(str, spec.file_shape))})."
        )
    scaled = np.divide(images, 255, dtype=np.float32).reshape(-1, *spec.image_shape)
    return _frozen(scaled)


def _frozen(array: np.ndarray) -> np.ndarray:
    # The cached arrays are shared by every trial in the process: one must not edit another's data.
    array.flags.writeable = False
    return array


def _check_size(flag: str, value: int, *, low: int, high: int | None) -> int:
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not ok or value < low or (high is not None and value > high):
        limit = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise ArchoptError(f"`{flag}` must be an integer {limit}, but got {value!r}.")
    return int(value)
