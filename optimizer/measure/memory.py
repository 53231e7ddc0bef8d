"""Will a candidate fit in memory? Estimated before any of its weights exist.

Candidates are built in ``keras.StatelessScope(initialize_variables=False)``: variables have shapes but no memory.
From those and the layers' output shapes this estimates what training needs, turns the candidate away if that
exceeds the memory available, and only then allocates the variables (``allocate_variables``).
"""

from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path
from typing import Iterator

import keras
import numpy as np

from optimizer.errors import CandidateFailed

# Copies of every weight when training with Adam: the weight, its gradient, Adam's m and v.
WEIGHT_COPIES_ADAM = 4
# Activations are kept for the backward pass, which makes a gradient of the same size for each.
ACTIVATION_COPIES = 2
# Leave room for TensorFlow itself, the data and the other phases' temporaries.
USABLE_FRACTION = 0.8
_CGROUP_FILES = (("memory.max", "memory.current"), ("memory/memory.limit_in_bytes", "memory/memory.usage_in_bytes"))


@contextlib.contextmanager
def deferred_variables() -> Iterator[None]:
    """Build inside this: variables get shapes and dtypes, but no memory until ``allocate_variables``."""
    with keras.StatelessScope(initialize_variables=False):
        yield


def allocate_variables() -> None:
    """Give memory (and initial values) to every variable created under ``deferred_variables``."""
    with keras.StatelessScope():  # leaving an outermost scope initializes every deferred variable
        pass


def training_bytes(model: keras.Model, *, batch_size: int) -> int:
    """Estimated bytes to train ``model`` at ``batch_size``: weights, gradients, Adam slots, activations."""
    weights = sum(math.prod(v.shape) * _itemsize(v.dtype) for v in model.weights)
    per_example = sum(_output_elements(layer) for layer in _leaves(model)) * 4  # float32
    return int(WEIGHT_COPIES_ADAM * weights + ACTIVATION_COPIES * batch_size * per_example)


def available_bytes() -> int:
    """Memory this process may still use: the smaller of MemAvailable and what its cgroup limit leaves."""
    candidates = [_meminfo_available()]
    candidates += [limit - used for limit, used in [_cgroup_room()] if limit]
    return min(b for b in candidates if b is not None)


def check_fits(model: keras.Model, *, batch_size: int, available: int | None = None) -> int:
    """Fail the candidate (and only it) if training it would not fit; returns the estimate in bytes."""
    need = training_bytes(model, batch_size=batch_size)
    room = available_bytes() if available is None else available
    if need > USABLE_FRACTION * room:
        raise CandidateFailed(
            f"needs about {need / 2**30:.1f} GiB to train at batch size {batch_size} "
            f"({model.count_params():,} weights), but only {room / 2**30:.1f} GiB of memory is available."
        )
    return need


def _leaves(model: keras.Model) -> Iterator[keras.layers.Layer]:
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _leaves(layer)
        elif not isinstance(layer, keras.layers.InputLayer):
            yield layer


def _output_elements(layer: keras.layers.Layer) -> int:
    try:
        outputs = keras.tree.flatten(layer.output)
    except (AttributeError, ValueError):  # never called symbolically: nothing known to count
        return 0
    return sum(math.prod(d or 1 for d in t.shape[1:]) for t in outputs)


def _itemsize(dtype: str) -> int:
    try:
        return np.dtype(dtype).itemsize
    except TypeError:  # bfloat16: numpy has no name for it
        return 2


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")  # not Linux: free pages


def _cgroup_room() -> tuple[int | None, int]:
    """(limit, usage) of this process's cgroup (v2, then v1); limit None when unlimited or unknown."""
    for limit_file, usage_file in _CGROUP_FILES:
        try:
            limit = (Path("/sys/fs/cgroup") / limit_file).read_text().strip()
            used = int((Path("/sys/fs/cgroup") / usage_file).read_text())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 2**60:  # v1 writes a huge number for "no limit"
            return int(limit), used
    return None, 0
