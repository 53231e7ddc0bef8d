"""Measure how long one compiled training step of a Keras model takes.

Every trial's step time is one objective of the Pareto front, so the number has to
repeat between processes on a noisy machine and cost only a second or two. The
protocol, in the spirit of airbench's timing (warm up, then one plainly marked timed
loop):

1. A few fixed batches of real training data are held in memory as a repeating
   ``tf.data`` pipeline, so no step waits on loading or preprocessing.
2. Keras' own compiled train function runs the steps: forward, backward, optimizer
   update and metric updates, exactly what ``fit`` runs, with the model's own
   ``jit_compile`` (XLA is not forced: on CPU it makes small CNNs slower). Like
   ``steps_per_execution``, each call runs many steps inside the graph, so Python
   dispatch does not dominate tiny models.
3. Warm-up calls, never timed, trace the function and calibrate how many steps one
   call runs so that it lasts about ``target_call_s``.
4. The timed loop times whole calls, each ended by fetching the call's outputs: on a
   GPU that waits for the queued kernels; on CPU it costs microseconds.
5. The result is the median per-step time over calls, with its spread.

Timing trains the model: it runs before ``fit`` on the same compiled model, so its
optimizer state is built once for both, and its weights and optimizer iterations
move on by a few hundred steps over the few timing batches.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import time
from collections.abc import Callable, Iterator

import keras
import numpy as np
import tensorflow as tf

from optimizer.errors import ArchoptError, CandidateFailed

@dataclasses.dataclass(frozen=True)
class StepTime:
    """The per-step time of one model, in milliseconds, and how it was measured.

    ``cv`` is robust: ``1.4826 * mad_ms / median_ms``, which estimates std/mean for
    Gaussian noise but ignores the few calls another process interrupts.
    """

    median_ms: float
    iqr_ms: float
    mad_ms: float
    cv: float
    steps: int
    calls: int
    steps_per_call: int
    batch_size: int
    jit_compile: bool
    warmup_s: float
    timed_s: float

    def to_dict(self) -> dict[str, float | int | bool]:
        return dataclasses.asdict(self)


def measure_step_time(
    model: keras.Model,
    *,
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    min_time_s: float = 1.0,
    min_calls: int = 5,
    max_calls: int = 200,
    warmup_calls: int = 2,
    target_call_s: float = 0.05,
) -> StepTime:
    """Time the compiled training step of ``model`` on the full batches of ``(x, y)``.

    ``model`` must be compiled. Timed calls go on until they add up to ``min_time_s``
    and number ``min_calls``, or until ``max_calls``.
    """
    _check_positive(batch_size=batch_size, min_calls=min_calls, max_calls=max_calls)
    _check_positive(min_time_s=min_time_s, target_call_s=target_call_s)
    iterator = iter(_fixed_batches(x, y, batch_size=batch_size))
    model.make_train_function()
    train = functools.partial(model.train_function, iterator)
    try:
        start = time.perf_counter()
        repeats = _warm_up(train, calls=warmup_calls, target_s=target_call_s)
        warmup_s = time.perf_counter() - start
        durations = _timed_calls(train, repeats, min_time_s=min_time_s, min_calls=min_calls, max_calls=max_calls)
    except tf.errors.ResourceExhaustedError as error:
        raise CandidateFailed(f"Out of memory while timing a batch of {batch_size}: {error.message}") from None
    steps_per_call = repeats * model.steps_per_execution
    per_step_ms = np.asarray(durations) * 1e3 / steps_per_call
    median = float(np.median(per_step_ms))
    q1, q3 = np.percentile(per_step_ms, [25, 75])
    mad = float(np.median(np.abs(per_step_ms - median)))
    return StepTime(
        median_ms=median, iqr_ms=float(q3 - q1), mad_ms=mad, cv=1.4826 * mad / median,
        steps=len(durations) * steps_per_call, calls=len(durations), steps_per_call=steps_per_call,
        batch_size=batch_size, jit_compile=bool(model.jit_compile),
        warmup_s=warmup_s, timed_s=float(np.sum(durations)),
    )


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not value > 0:
            raise ArchoptError(f"`{name}` must be positive, but got {value!r}.")


def _fixed_batches(x: np.ndarray, y: np.ndarray, *, batch_size: int) -> tf.data.Dataset:
    """Every full batch of ``(x, y)``, cached in memory and repeated forever.

    The batch dimension stays unknown, as in a training pipeline, so ``fit`` on batches
    of the same dtypes reuses the train function traced here instead of tracing another.
    """
    if len(x) != len(y):
        raise ArchoptError(f"`x` and `y` must have as many rows, but got {len(x)} and {len(y)}.")
    full = len(x) // batch_size * batch_size
    if full == 0:
        raise ArchoptError(f"Timing needs at least one batch of {batch_size} rows, but got {len(x)}.")
    batches = tf.data.Dataset.from_tensor_slices((x[:full], y[:full])).batch(batch_size)
    return batches.cache().repeat()


def _call(train: Callable[[], dict], repeats: int) -> float:
    """Seconds for ``repeats`` compiled train calls, ended by fetching the last one's outputs."""
    start = time.perf_counter()
    for _ in range(repeats):
        logs = train()
    keras.tree.map_structure(np.asarray, logs)  # on a GPU, waits for the queued steps
    return time.perf_counter() - start


def _warm_up(train: Callable[[], dict], *, calls: int, target_s: float) -> int:
    """Trace, warm up, and return how many train calls make a timed call last ``target_s``."""
    train()  # traces and compiles: by far the slowest call
    repeats = 1
    for _ in range(max(calls, 1)):
        seconds = _call(train, repeats)
        # Each estimate comes from a longer call, so its overheads weigh less in it.
        repeats = max(1, round(repeats * target_s / seconds))
    return repeats


def _timed_calls(
    train: Callable[[], dict], repeats: int, *, min_time_s: float, min_calls: int, max_calls: int
) -> list[float]:
    """The timed loop: one duration per call, and nothing else under the clock."""
    durations: list[float] = []
    with _gc_paused():
        while len(durations) < max_calls and (len(durations) < min_calls or sum(durations) < min_time_s):
            durations.append(_call(train, repeats))
    return durations


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Keep Python's garbage collector out of the timed calls, as ``timeit`` does."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@functools.cache
def peak_gflops(*, size: int = 1024, dtype: str = "float32") -> float:
    """This machine's measured matrix-multiply speed with TensorFlow, in GFLOP/s.

    The median of several ``size x size`` products (``2 * size**3`` flops each), chained
    inside one graph so none can be skipped or merged; cached per process.
    """
    _check_positive(size=size)
    a = tf.random.normal((size, size), dtype=dtype)
    b = tf.random.normal((size, size), dtype=dtype) / size**0.5  # keeps the chain's scale

    @tf.function
    def chain(repeats: tf.Tensor) -> tf.Tensor:
        c = a
        for _ in tf.range(repeats):
            c = tf.linalg.matmul(c, b)
        return tf.reduce_sum(c)  # a scalar to fetch: waits for the device, copies nothing

    repeats = tf.constant(4)
    chain(repeats).numpy()  # traces and warms up
    seconds = []
    for _ in range(7):
        start = time.perf_counter()
        chain(repeats).numpy()
        seconds.append((time.perf_counter() - start) / 4)
    return 2 * size**3 / float(np.median(seconds)) / 1e9
