"""A trial's fixed cost: the arithmetic of fixed_s, and fit's steps counted through the reused train function."""

import time

import keras
import numpy as np

from optimizer.measure.timing import measure_step_time
from optimizer.trial.clock import TrialClock
from optimizer.trial.predict import predict_scores


def test_fixed_s_is_wall_time_outside_the_steps_plus_bookkeeping():
    clock = TrialClock(previous_end=10.0, start=12.5, timed_s=1.0, steps_s=3.0, steps=100)
    assert clock.attrs(now=20.0) == {"fixed_s": 6.0, "bookkeeping_s": 2.5, "fit_step_ms": 30.0}  # 7.5 - 4 + 2.5
    first = TrialClock(previous_end=None, start=12.5, timed_s=1.0, steps_s=3.0)
    assert first.attrs(now=20.0) == {"fixed_s": 3.5}  # a process's first trial has no bookkeeping before it


def _model() -> keras.Model:
    inputs = keras.Input((12, 12, 1))
    x = keras.layers.Conv2D(8, 3, activation="relu")(inputs)
    x = keras.layers.Flatten()(x)
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_count_steps_times_fits_steps_only(seed):
    rng = np.random.default_rng(0)
    x, y = rng.random((320, 12, 12, 1), dtype=np.float32), rng.integers(0, 10, 320)
    model = _model()
    measure_step_time(model, x=x[:128], y=y[:128], batch_size=32, min_time_s=0.1)
    clock = TrialClock()
    clock.count_steps(model)
    start = time.perf_counter()
    model.fit(x, y, batch_size=32, epochs=2, verbose=0)
    wall = time.perf_counter() - start
    assert 0 < clock.steps_s < wall
    assert clock.steps == 20  # 2 epochs of 10 batches: the counted function is the one fit ran
    assert 0 < clock.attrs()["fit_step_ms"] < 1e3 * wall / 20


def test_predict_scores_equal_predict_with_a_padded_last_chunk(seed):
    model = _model()
    x = np.random.default_rng(1).random((70, 12, 12, 1), dtype=np.float32)
    expected = model.predict(x, batch_size=32, verbose=0)
    scores = predict_scores(model, x, chunk=32)  # 32 + 32 + 6 padded to 32
    assert scores.shape == expected.shape
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(predict_scores(model, x[:5], chunk=32), expected[:5], rtol=1e-5, atol=1e-6)


def test_training_data_is_converted_once_per_array():
    from optimizer.data.datasets import _as_tensor, to_tf_dataset

    x = np.arange(24, dtype=np.float32).reshape(6, 2, 2)
    assert _as_tensor(x) is _as_tensor(x)  # one conversion for every trial's fit
    assert _as_tensor(x.copy()) is not _as_tensor(x)
    batches = list(to_tf_dataset(x, np.arange(6), batch_size=4, shuffle=False))
    np.testing.assert_array_equal(batches[0][0].numpy(), x[:4])
    np.testing.assert_array_equal(batches[1][1].numpy(), [4, 5])
