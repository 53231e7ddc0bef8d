"""Measure how long one compiled training step of a Keras model takes.

The step time is an objective of the front, so it must repeat between processes on a noisy machine and cost a
second or two: Keras' own compiled train step, warmed up, timed in whole calls until the median is known to 2%.
The protocol and its reasons: docs/how-a-trial-is-measured.md.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import time
from collections.abc import Callable, Iterator
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from optimizer.data.datasets import without_autotune
from optimizer.errors import ArchoptError, CandidateFailed, check_positive

REL_ERROR = 0.02  # the timed loop stops once the median is known to 2% (see _settled)
FLOOR_S = 0.25  # but never before it has timed this long
MIN_SETTLED_CALLS = 5  # nor on fewer calls: a MAD of 3 calls says little
MIN_BUDGET_CALLS = 4  # timing within a step budget: the trace, two warm-up calls, one timed call


@dataclasses.dataclass(frozen=True)
class StepTime:
    """The per-step time of one model, in milliseconds, and how it was measured.

    ``median_ms``, ``iqr_ms`` and ``mad_ms`` (the plain median absolute deviation) are
    wall-clock. ``cv`` is robust: ``1.4826 * mad_ms / median_ms``, which estimates
    std/mean for Gaussian noise but ignores the few calls another process interrupts.
    ``cpu_ms`` is the median CPU time of the process per step, all threads together:
    on a shared CPU it hardly moves with the load, where wall-clock can double, but
    on a GPU it only counts the host's share. A timed call runs ``steps_per_call``
    steps, in train calls of ``steps_per_execution`` steps each.
    """

    median_ms: float
    iqr_ms: float
    mad_ms: float
    cv: float
    cpu_ms: float
    steps: int
    calls: int
    steps_per_call: int
    steps_per_execution: int
    batch_size: int
    jit_compile: bool
    warmup_s: float
    timed_s: float
    trace_s: float = 0.0  # the first call, which traces (part of warmup_s)
    # Within a step budget (``max_steps``): every step it ran (tracing, warm-up, timed), which the
    # budget's training goes on from. 0 on fixed batches: those steps count in no budget.
    budget_steps: int = 0

    def to_dict(self) -> dict[str, float | int | bool]:
        return dataclasses.asdict(self)


def measure_step_time(model: keras.Model, *, x: np.ndarray, y: np.ndarray, batch_size: int, **loop: Any) -> StepTime:
    """Time the compiled training step of ``model`` on the full batches of ``(x, y)``, repeated.

    ``model`` must be compiled. ``loop``: ``time_train_steps``' loop settings (``min_time_s``, ``rel_error``, ...),
    with its defaults; no ``max_steps``: these steps count in no budget. This trains the model on a few fixed batches,
    for as many steps as timing needs (re-timing a trained model, ``explain``, epoch budgets).
    """
    if "max_steps" in loop:
        raise TypeError("measure_step_time times on fixed batches, in no budget: `max_steps` is time_train_steps'.")
    check_positive(batch_size=batch_size)
    iterator = iter(_fixed_batches(x, y, batch_size=batch_size))
    build_training_state(model, y=y[:batch_size])
    return time_train_steps(model, iterator, batch_size=batch_size, **loop)


def time_train_steps(
    model: keras.Model,
    iterator: Iterator,
    *,
    batch_size: int,
    max_steps: int | None = None,
    min_time_s: float = 1.0,
    min_calls: int = 3,
    max_calls: int = 200,
    warmup_calls: int = 2,
    target_call_s: float = 0.05,
    rel_error: float | None = REL_ERROR,
    floor_s: float = FLOOR_S,
    stop_above_ms: float | None = None,
) -> StepTime:
    """Time ``model``'s compiled train function on the batches of ``iterator``, running at most ``max_steps`` steps.

    After the tracing call and at most ``warmup_calls`` calibration calls, timed calls of about ``target_call_s``
    each go on until they add up to ``min_time_s`` and number ``min_calls``, or until they number ``max_calls``;
    with ``rel_error``, also until the median is known that well (after ``floor_s`` seconds at least). With
    ``max_steps`` (timing on the training stream, whose steps count toward the budget), calls are made shorter so
    that about ten fit, and the loop stops before it would pass ``max_steps``; ``StepTime.budget_steps`` says how
    many steps ran in all. ``stop_above_ms``: stop as soon as the median step (after ``floor_s`` and five calls)
    is slower than this, as the candidate will be turned away. ``model`` must be compiled and its training state built
    (``build_training_state``).
    """
    check_positive(batch_size=batch_size, min_calls=min_calls, max_calls=max_calls)
    check_positive(min_time_s=min_time_s, target_call_s=target_call_s)
    calls_left = _calls_allowed(model, max_steps)
    model.make_train_function()
    train = functools.partial(model.train_function, iterator)
    try:
        start = time.perf_counter()
        train()  # traces and compiles: by far the slowest call
        trace_s = time.perf_counter() - start
        cap = None if calls_left is None else max(1, (calls_left - 1) // (2 * MIN_SETTLED_CALLS))
        repeats, warm = _warm_up(train, calls=warmup_calls, target_s=target_call_s, cap=cap)
        warmup_s = time.perf_counter() - start
        clocks = _timed_calls(
            train, repeats, min_time_s=min_time_s, min_calls=min_calls, max_calls=max_calls,
            rel_error=rel_error, floor_s=min(floor_s, min_time_s),
            budget=None if calls_left is None else calls_left - 1 - warm,
            stop_above_s=None if stop_above_ms is None else stop_above_ms * 1e-3 * repeats * model.steps_per_execution,
        )
    except tf.errors.ResourceExhaustedError as error:
        raise CandidateFailed(f"Out of memory while timing a batch of {batch_size}: {error.message}") from None
    steps_per_call = repeats * model.steps_per_execution
    step = _summarize(clocks, model=model, steps_per_call=steps_per_call, batch_size=batch_size, warmup_s=warmup_s)
    ran = 0 if max_steps is None else (1 + warm) * model.steps_per_execution + step.steps
    return dataclasses.replace(step, trace_s=trace_s, budget_steps=ran)


def _calls_allowed(model: keras.Model, max_steps: int | None) -> int | None:
    """How many train calls ``max_steps`` steps hold: at least the trace, two warm-up calls and one timed call."""
    if max_steps is None:
        return None
    calls = max_steps // model.steps_per_execution
    if calls < MIN_BUDGET_CALLS:
        raise ValueError(
            f"`max_steps` must hold {MIN_BUDGET_CALLS} train calls of {model.steps_per_execution} steps, but got "
            f"{max_steps=}."
        )
    return calls


def _summarize(
    clocks: np.ndarray, *, model: keras.Model, steps_per_call: int, batch_size: int, warmup_s: float
) -> StepTime:
    """Per-step statistics of the ``(calls, 2)`` wall and CPU seconds of the timed calls."""
    per_step_ms = clocks[:, 0] * 1e3 / steps_per_call
    median = float(np.median(per_step_ms))
    q1, q3 = np.percentile(per_step_ms, [25, 75])
    mad = float(np.median(np.abs(per_step_ms - median)))
    return StepTime(
        median_ms=median, iqr_ms=float(q3 - q1), mad_ms=mad, cv=1.4826 * mad / median,
        cpu_ms=float(np.median(clocks[:, 1])) * 1e3 / steps_per_call,
        steps=len(clocks) * steps_per_call, calls=len(clocks), steps_per_call=steps_per_call,
        steps_per_execution=model.steps_per_execution, batch_size=batch_size,
        jit_compile=bool(model.jit_compile), warmup_s=warmup_s, timed_s=float(clocks[:, 0].sum()),
    )


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
    return without_autotune(batches.cache().repeat())


def _call(train: Callable[[], dict], repeats: int) -> tuple[float, float]:
    """Wall and process-CPU seconds of ``repeats`` train calls, ended by fetching the last outputs."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        logs = train()
    keras.tree.map_structure(np.asarray, logs)  # on a GPU, waits for the queued steps
    return time.perf_counter() - wall, time.process_time() - cpu


def _warm_up(train: Callable[[], dict], *, calls: int, target_s: float, cap: int | None = None) -> tuple[int, int]:
    """Warm up the traced function; return how many train calls make a timed call last ``target_s`` (at most
    ``cap``), and how many train calls the warm-up ran."""
    repeats, ran = 1, 0
    for _ in range(max(calls, 1)):
        seconds, _ = _call(train, repeats)
        ran += repeats
        # Each estimate comes from a longer call, so its overheads weigh less in it.
        estimate = max(1, round(repeats * target_s / seconds))
        estimate = estimate if cap is None else min(estimate, cap)
        if estimate == repeats:  # settled: a slow model's one step already fills a call
            break
        repeats = estimate
    return repeats, ran


def _timed_calls(
    train: Callable[[], dict], repeats: int, *, min_time_s: float, min_calls: int, max_calls: int,
    rel_error: float | None = None, floor_s: float = 0.0, budget: int | None = None,
    stop_above_s: float | None = None,
) -> np.ndarray:
    """The timed loop: wall and CPU seconds per call, and nothing else under the clocks.

    ``budget``: the train calls it may run in all (one timed call at least), None for no limit. ``stop_above_s``:
    stop once enough calls are timed and their median call is slower than this.
    """
    clocks: list[tuple[float, float]] = []
    wall = 0.0
    calls = max_calls if budget is None else min(max_calls, max(1, budget // repeats))
    with _gc_paused():
        while len(clocks) < calls and (len(clocks) < min_calls or wall < min_time_s):
            clocks.append(_call(train, repeats))
            wall += clocks[-1][0]
            enough = wall >= floor_s and len(clocks) >= max(min_calls, MIN_SETTLED_CALLS)
            if rel_error is not None and enough and _settled(clocks, rel_error):
                break
            if stop_above_s is not None and enough and np.median([c[0] for c in clocks]) > stop_above_s:
                break
    return np.asarray(clocks)


def _settled(clocks: list[tuple[float, float]], rel_error: float) -> bool:
    """Whether the median call's relative standard error is at most ``rel_error``.

    For Gaussian noise the median's standard error is ``1.2533 * sigma / sqrt(n)``; sigma is estimated as
    ``1.4826 * MAD``, which the few calls another process interrupts hardly move.
    """
    walls = np.asarray([wall for wall, _ in clocks])
    median = float(np.median(walls))
    mad = float(np.median(np.abs(walls - median)))
    return 1.2533 * 1.4826 * mad / (median * len(walls) ** 0.5) <= rel_error


def build_training_state(model: keras.Model, *, y: np.ndarray) -> None:
    """Create the optimizer's, loss' and metrics' variables before the train function is traced.

    ``fit`` does this (``Trainer._symbolic_build``, which also runs a symbolic forward pass, 0.2-0.7 s here) before
    its first step; timing traces first, and a first trace that creates variables is traced twice by TensorFlow.
    Here the symbolic outputs the model already has stand in for that forward pass, and a batch of labels ``y``
    gives the labels' shape and dtype (Keras picks e.g. which accuracy "accuracy" means from them). Keras keeps
    the compiled loss and metrics in private attributes: a model without them, or with several outputs, is left as
    it is (the variables are then created by the trace, which only costs time).
    """
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    outputs = getattr(model, "outputs", None) or []
    if len(outputs) != 1:
        return
    y_pred = outputs[0]
    y_true = keras.KerasTensor(y.shape, keras.backend.standardize_dtype(y.dtype))
    for compiled in (getattr(model, "_compile_metrics", None), getattr(model, "_compile_loss", None)):
        if compiled is not None and not compiled.built:
            compiled.build(y_true, y_pred)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Keep Python's garbage collector out of the timed calls, as ``timeit`` does.

    No ``gc.collect()`` first: with TensorFlow loaded it takes about 0.5 s here.
    """
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

    The fastest of several ``size x size`` products (``2 * size**3`` flops each), chained
    inside one graph so none can be skipped or merged; cached per process.
    """
    check_positive(size=size)
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
    return 2 * size**3 / min(seconds) / 1e9  # the fastest run: the least disturbed
