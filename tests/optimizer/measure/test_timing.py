"""The step-time protocol on tiny real CNNs: consistent fields, real training, cost ordering."""

import keras
import numpy as np
import pytest

from optimizer.errors import ArchoptError
from optimizer.measure.timing import FLOOR_S, StepTime, measure_step_time, peak_gflops

BATCH = 32
SHAPE = (24, 24, 1)
QUICK = {"min_time_s": 0.3, "min_calls": 5, "warmup_calls": 2}
ROUNDS = 3  # interleaved rounds of the cost-ordering test: its verdict is the median round's


def _cnn(*convs: tuple[int, str], steps_per_execution: int = 1) -> keras.Model:
    """Convolutions of (filters, padding) at full resolution, then a pooled classifier."""
    layers = [keras.layers.Conv2D(f, 3, padding=p, activation="relu") for f, p in convs]
    model = keras.Sequential(
        [keras.Input(SHAPE), *layers, keras.layers.MaxPooling2D(4), keras.layers.Flatten(), keras.layers.Dense(10)]
    )
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    return model


def _batches(n: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1234)
    return rng.random((n * BATCH, *SHAPE), dtype=np.float32), rng.integers(0, 10, n * BATCH)


@pytest.fixture(scope="module")
def timed() -> tuple[keras.Model, list[np.ndarray], StepTime]:
    keras.utils.set_random_seed(1234)
    model = _cnn((8, "valid"))
    before = [w.copy() for w in model.get_weights()]
    x, y = _batches()
    return model, before, measure_step_time(model, x=x, y=y, batch_size=BATCH, **QUICK)


def test_step_time_fields_are_positive_and_consistent(timed):
    model, _, step = timed
    assert step.median_ms > 0 and step.timed_s > 0 and step.warmup_s > 0
    assert step.iqr_ms >= 0 and step.mad_ms >= 0 and step.cv >= 0 and step.cpu_ms > 0
    assert step.calls >= QUICK["min_calls"]
    assert step.steps == step.calls * step.steps_per_call
    assert step.timed_s >= min(FLOOR_S, QUICK["min_time_s"])  # the adaptive loop may stop at its floor
    assert step.batch_size == BATCH
    assert step.jit_compile == bool(model.jit_compile)  # recorded, never forced
    assert set(step.to_dict()) == {f.name for f in StepTime.__dataclass_fields__.values()}


def test_timing_trains_the_model(timed):
    model, before, step = timed
    changed = [not np.allclose(b, a) for b, a in zip(before, model.get_weights())]
    assert all(changed)
    # Warm-up steps train too, so the optimizer counted more steps than were timed.
    assert int(model.optimizer.iterations) > step.steps


def test_more_macs_take_longer():
    keras.utils.set_random_seed(1234)
    x, y = _batches()
    # MACs per image: 22*22*9*8 = 35k against 24*24*9*(64 + 64*64) = 21.6M, about 600x. A shared
    # box's load can triple one measurement and not the next (150x the MACs once measured 2.8-15x
    # slower), so the two models are timed back to back in interleaved rounds, the order swapped
    # each round, and the verdict is the median round's.
    models = {"small": _cnn((8, "valid")), "large": _cnn((64, "same"), (64, "same"))}
    ratios = []
    for round_ in range(ROUNDS):
        order = list(models) if round_ % 2 == 0 else list(reversed(models))
        ms = {name: measure_step_time(models[name], x=x, y=y, batch_size=BATCH, **QUICK).median_ms for name in order}
        ratios.append(ms["large"] / ms["small"])
    assert float(np.median(ratios)) > 3, ratios


def test_steps_per_call_is_a_multiple_of_steps_per_execution():
    keras.utils.set_random_seed(1234)
    x, y = _batches()
    step = measure_step_time(_cnn((8, "valid"), steps_per_execution=3), x=x, y=y, batch_size=BATCH, **QUICK)
    assert step.steps_per_call % 3 == 0


def test_fit_keeps_the_train_function_timing_traced(timed):
    model, _, _ = timed
    traced = model.train_function
    x, y = _batches()
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    assert model.train_function is traced


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"batch_size": 4 * BATCH + 1}, "at least one batch"),
        ({"batch_size": 0}, "`batch_size` must be positive"),
        ({"min_time_s": 0.0}, "`min_time_s` must be positive"),
        ({"y": np.zeros(3)}, "as many rows"),
    ],
)
def test_bad_arguments_name_the_value(kwargs, match):
    x, y = _batches()
    arguments = {"x": x, "y": y, "batch_size": BATCH, **kwargs}
    with pytest.raises(ArchoptError, match=match):
        measure_step_time(_cnn((8, "valid")), **arguments)


def test_peak_gflops_is_positive_and_cached():
    first = peak_gflops(size=128)
    assert first > 0
    assert peak_gflops(size=128) == first
