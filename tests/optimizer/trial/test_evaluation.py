"""Right evaluation: batch norm fitted to the trained weights before scoring, and the loss chosen for the outputs."""

import keras
import numpy as np
import optuna
import pytest

from optimizer.data.datasets import Split
from optimizer.errors import CandidateFailed
from optimizer.space.candidate import build_candidate
from optimizer.trial import evaluation
from optimizer.trial.budget import Budget
from optimizer.trial.evaluation import validation_accuracy
from optimizer.trial.objective import Objective, train


@pytest.fixture(scope="module")
def fashion_split(small_fashion_dir) -> Split:
    from optimizer.data.formats import read_idx_dir

    (x, y), _ = read_idx_dir(small_fashion_dir)
    x = (x.astype("float32") / 255.0).reshape(-1, 28, 28, 1)
    return Split(x[:900], y[:900].astype("int64"), x[900:1200], y[900:1200].astype("int64"))


def _bn_cnn(hp=None) -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(16, 3, use_bias=False),
            keras.layers.BatchNormalization(),
            keras.layers.Activation("relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(32, 3, use_bias=False),
            keras.layers.BatchNormalization(),
            keras.layers.Activation("relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def _logits_cnn(hp=None) -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(16, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(10),  # logits, as the TensorFlow tutorials write it
        ]
    )


def test_recomputed_statistics_are_the_mean_of_the_batch_statistics(seed: int) -> None:
    model = keras.Sequential([keras.Input((3,)), keras.layers.BatchNormalization()])
    x = np.random.default_rng(seed).normal(5.0, 2.0, (100, 3)).astype("float32")
    used = evaluation.recompute_batch_norm(model, x, batch_size=16, images=64)
    (bn,) = evaluation.batch_norm_layers(model)
    batches = x[:64].reshape(4, 16, 3)
    assert used == 4 and bn.momentum == 0.99  # restored
    np.testing.assert_allclose(keras.ops.convert_to_numpy(bn.moving_mean), batches.mean(axis=1).mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(bn.moving_variance), batches.var(axis=1).mean(axis=0), rtol=1e-4
    )


def test_a_model_without_batch_norm_is_left_alone(seed: int) -> None:
    assert evaluation.recompute_batch_norm(_logits_cnn(), np.zeros((8, 28, 28, 1), "float32"), batch_size=4) == 0


@pytest.mark.slow
def test_a_batch_norm_candidate_after_a_short_budget_scores_near_its_batch_statistics_accuracy(
    seed, fashion_split
) -> None:
    model = build_candidate(_bn_cnn, None)
    train(model, fashion_split, budget=Budget(batch_size=32, train_steps=60))
    stale = validation_accuracy(model, fashion_split)  # Keras' inference mode with the lagging moving averages
    bn = evaluation.batch_norm_layers(model)
    kept = [[keras.ops.convert_to_numpy(v) for v in (b.moving_mean, b.moving_variance)] for b in bn]
    scores = np.concatenate(
        [
            keras.ops.convert_to_numpy(model(fashion_split.x_val[i : i + 100], training=True))
            for i in range(0, len(fashion_split.x_val), 100)
        ]
    )
    batch_stats = float(np.mean(scores.argmax(axis=-1) == fashion_split.y_val))
    for b, (mean, var) in zip(bn, kept):  # the reference pass above must not help the score below
        b.moving_mean.assign(mean), b.moving_variance.assign(var)

    scored = evaluation.score(model, fashion_split, batch_size=32)
    assert batch_stats > 0.4, (batch_stats, scored, stale)
    assert abs(scored - batch_stats) < 0.05, (scored, batch_stats, stale)
    assert scored > stale + 0.1, (scored, stale)


@pytest.mark.slow
def test_a_logits_model_trains_as_well_as_the_same_model_compiled_for_logits(seed, fashion_split) -> None:
    budget = Budget(batch_size=32, train_steps=80, timing_s=0.02)
    trial = optuna.trial.FixedTrial({})
    accuracy, _ = Objective(build=_logits_cnn, split=fashion_split, budget=budget).evaluate(trial)
    assert trial.user_attrs["from_logits"] is True

    def compiled_for_logits(hp):
        model = _logits_cnn()
        model.compile(
            optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"]
        )
        return model

    keras.utils.set_random_seed(seed)
    expected, _ = Objective(build=compiled_for_logits, split=fashion_split, budget=budget).evaluate(
        optuna.trial.FixedTrial({})
    )
    assert expected > 0.6, expected
    assert abs(accuracy - expected) < 0.03, (accuracy, expected)


def test_probabilities_keep_their_loss_and_a_wrong_explicit_loss_fails_the_candidate(seed) -> None:
    x = np.random.default_rng(seed).random((8, 28, 28, 1), dtype=np.float32)
    softmax = build_candidate(_bn_cnn, None)
    assert evaluation.compile_for_outputs(softmax, x) is False and softmax.loss == "sparse_categorical_crossentropy"
    logits = build_candidate(_logits_cnn, None)
    assert evaluation.compile_for_outputs(logits, x) is True and logits.loss.get_config()["from_logits"] is True

    wrong = _logits_cnn()
    wrong.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    with pytest.raises(CandidateFailed, match="outputs logits"):
        evaluation.compile_for_outputs(wrong, x)
