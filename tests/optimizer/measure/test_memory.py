"""Memory estimates, and candidates too large for the machine turned away before their weights exist."""

import resource

import keras
import optuna
import pytest

from optimizer.data.datasets import load_dataset, split_validation
from optimizer.errors import CandidateFailed
from optimizer.measure import memory
from optimizer.trial.objective import Budget, Objective

BUDGET = Budget(batch_size=16, train_steps=5, timing_s=0.05)


def small_model() -> keras.Model:
    inputs = keras.Input((4, 4, 1))
    x = keras.layers.Flatten()(inputs)
    return keras.Model(inputs, keras.layers.Dense(3)(x))


def test_training_bytes_counts_weights_four_times_and_activations_twice():
    model = small_model()
    weights = (16 * 3 + 3) * 4
    activations = (16 + 3) * 4  # Flatten's 16 and Dense's 3 outputs, float32
    assert memory.training_bytes(model, batch_size=10) == 4 * weights + 2 * 10 * activations


def test_check_fits_refuses_what_exceeds_the_memory_given():
    need = memory.training_bytes(small_model(), batch_size=8)
    assert memory.check_fits(small_model(), batch_size=8, available=10 * need) == need
    with pytest.raises(CandidateFailed, match="GiB of memory is available"):
        memory.check_fits(small_model(), batch_size=8, available=need)


def test_available_bytes_is_positive_and_below_total():
    total = int(open("/proc/meminfo").read().split()[1]) * 1024
    assert 0 < memory.available_bytes() <= total


def test_deferred_variables_have_shapes_but_no_memory_until_allocated():
    rss = _max_rss_mb()
    with memory.deferred_variables():
        inputs = keras.Input((28, 28, 1))
        huge = keras.Model(inputs, keras.layers.Dense(2_000_000)(keras.layers.Flatten()(inputs)))  # 1.6e9 weights
    assert huge.count_params() == 784 * 2_000_000 + 2_000_000
    assert _max_rss_mb() - rss < 500  # 6 GB if allocated
    keras.backend.clear_session()  # drops the deferred variables: nothing is ever allocated for them
    with memory.deferred_variables():
        model = small_model()
    memory.allocate_variables()
    assert model.predict(keras.ops.ones((2, 4, 4, 1)), verbose=0).shape == (2, 3)


def huge_or_small(hp):
    """Billions of weights when `huge`, else a tiny model that trains."""
    units = 4_000_000 if hp.Boolean("huge") else 16
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Dense(units, activation="relu")(keras.layers.Flatten()(inputs))
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))


def test_candidate_far_too_large_fails_before_allocation_and_the_study_goes_on(fashion_dir, seed):
    split = split_validation(
        load_dataset("fashion_mnist", data_dir=fashion_dir), val_size=100, train_size=200, seed=seed
    )
    study = optuna.create_study(directions=["maximize", "minimize"])
    study.enqueue_trial({"huge": True})
    study.enqueue_trial({"huge": False})
    rss = _max_rss_mb()
    study.optimize(Objective(build=huge_or_small, split=split, budget=BUDGET), n_trials=2, catch=(CandidateFailed,))
    huge, small = study.trials
    assert huge.state == optuna.trial.TrialState.FAIL and "GiB to train" in huge.user_attrs["fail_reason"]
    assert huge.user_attrs["params"] == 784 * 4_000_000 + 4_000_000 + 4_000_000 * 10 + 10
    assert small.state == optuna.trial.TrialState.COMPLETE
    assert _max_rss_mb() - rss < 1000  # its 12.5 GB of weights were never allocated


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
