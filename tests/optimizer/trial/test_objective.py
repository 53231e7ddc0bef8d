"""A trial times its candidate on the first steps of its own training: those steps count toward the budget."""

import keras
import numpy as np
import optuna
import pytest

from optimizer.data.datasets import Split
from optimizer.trial.budget import Budget
from optimizer.trial.objective import STREAM_TIMING_MIN_STEPS, Objective


def _split(seed: int) -> Split:
    rng = np.random.default_rng(seed)
    x, y = rng.random((96, 8, 8, 1), dtype=np.float32), rng.integers(0, 3, 96)
    return Split(x, y, x[:16], y[:16])


def _capturing(models: list) -> callable:
    def build(hp) -> keras.Model:
        model = keras.Sequential(
            [keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3), keras.layers.Flatten(),
             keras.layers.Dense(3, activation="softmax")]
        )
        models.append(model)
        return model

    return build


def _evaluate(seed: int, budget: Budget) -> tuple[dict, keras.Model]:
    models: list = []
    trial = optuna.trial.FixedTrial({})
    Objective(build=_capturing(models), split=_split(seed), budget=budget).evaluate(trial)
    return trial.user_attrs, models[-1]


def test_the_timed_steps_are_the_first_steps_of_the_budget(seed):
    # A short timing_s does not stop the timed loop on the training stream: the first rung is timed
    # all through (its steps are training steps), but for the last train call and what is left over
    # from the last timed call.
    attrs, model = _evaluate(seed, Budget(batch_size=8, train_steps=40, timing_s=0.01))
    spe = model.steps_per_execution
    assert 40 - spe - attrs["step_time_steps_per_call"] < attrs["step_time_budget_steps"] <= 40 - spe
    assert attrs["step_time_steps"] < attrs["step_time_budget_steps"]  # trace and warm-up steps count too
    assert int(model.optimizer.iterations) == 40  # exactly the budget: timing's steps plus fit's
    assert attrs["steps_trained"] == 40 and attrs["fit_step_ms"] > 0


def test_timing_stops_early_on_a_candidate_too_slow_to_keep(seed):
    # max_step_ms far below any step: the candidate is failed after a handful of timed calls, not
    # the whole rung. The rung is long enough (20,000 steps) that timing all of it would take ~200
    # calls on any machine this runs on, so the count of calls tells the early stop apart whatever
    # the machine's speed (a 400-step rung held 9 calls, and a fast machine needed 8 to fill the
    # quarter second: CI failed on it).
    models: list = []
    trial = optuna.trial.FixedTrial({})
    budget = Budget(batch_size=8, train_steps=20_000, max_step_ms=0.01)  # above the peak's floor: timing decides
    with pytest.raises(Exception, match="exceeds max_step_ms"):
        Objective(build=_capturing(models), split=_split(seed), budget=budget).evaluate(trial)
    attrs = trial.user_attrs
    assert 5 <= attrs["step_time_calls"] <= 10  # five calls and a quarter second, not the rung
    assert attrs["step_time_budget_steps"] < 20_000 // 10
    assert int(models[-1].optimizer.iterations) == attrs["step_time_budget_steps"]  # failed: not trained further


def test_a_first_rung_too_short_to_time_within_is_timed_on_fixed_batches_uncounted(seed):
    steps = STREAM_TIMING_MIN_STEPS - 1
    attrs, model = _evaluate(seed, Budget(batch_size=8, train_steps=steps, timing_s=0.05))
    assert attrs["step_time_budget_steps"] == 0
    assert int(model.optimizer.iterations) > steps  # fit trained the whole budget after timing's own steps


def test_train_on_goes_on_from_the_iterator_and_fails_a_diverged_candidate(seed):
    from optimizer.data.datasets import to_tf_dataset
    from optimizer.errors import CandidateFailed
    from optimizer.trial.objective import train_on

    split = _split(seed)
    model = _capturing([])(None)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    iterator = iter(to_tf_dataset(split.x_train, split.y_train, batch_size=8, shuffle=True).repeat())
    train_on(model, iterator, steps=5)
    assert int(model.optimizer.iterations) == 5
    poisoned = iter(to_tf_dataset(np.full_like(split.x_train, np.nan), split.y_train, batch_size=8, shuffle=False))
    with pytest.raises(CandidateFailed, match="diverged"):
        train_on(model, poisoned, steps=3)
