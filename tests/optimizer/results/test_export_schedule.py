"""The export's retraining: the learning rate decays to 0 along a cosine over exactly the steps `fit` runs."""

import keras
import numpy as np
import pytest

from optimizer.data.augment import Augmentation
from optimizer.results.export import retrain


def tiny_model(learning_rate) -> keras.Model:
    model = keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3), keras.layers.Flatten(), keras.layers.Dense(3)]  # logits
    )
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy")
    return model


@pytest.fixture
def images(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((44, 8, 8, 1), dtype=np.float32), rng.integers(0, 3, 44)


def test_the_rate_decays_from_the_models_own_to_zero_over_every_step(images) -> None:
    model = tiny_model(2e-3)
    schedule = retrain(model, *images, batch_size=8, epochs=2, verbose=0)
    # 44 images in batches of 8 are 6 steps an epoch (the last batch partial): 12 in all.
    assert schedule == {
        "learning_rate": pytest.approx(2e-3), "learning_rate_schedule": "cosine decay to 0 over 12 steps",
        "augmentation": "none",
    }
    assert int(model.optimizer.iterations) == 12
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-9)  # the rate at the end of training
    decay = model.optimizer.get_config()["learning_rate"]["config"]
    assert (decay["initial_learning_rate"], decay["decay_steps"], decay["alpha"]) == (pytest.approx(2e-3), 12, 0.0)


def test_a_model_compiled_with_its_own_schedule_keeps_it(images) -> None:
    own = keras.optimizers.schedules.ExponentialDecay(1e-3, decay_steps=5, decay_rate=0.5)
    model = tiny_model(own)
    record = retrain(model, *images, batch_size=8, epochs=1, verbose=0)
    assert record == {"learning_rate": "the model's own schedule", "augmentation": "none"}
    assert model.optimizer.get_config()["learning_rate"]["class_name"] == "ExponentialDecay"
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3 * 0.5 ** (6 / 5))


def test_a_logits_model_is_retrained_with_the_loss_for_logits(images) -> None:
    model = tiny_model(1e-3)
    retrain(model, *images, batch_size=8, epochs=1, verbose=0)
    assert model.loss.get_config()["from_logits"] is True


def test_augmented_epochs_follow_one_cosine_and_train_other_weights(images) -> None:
    plain, augmented = tiny_model(2e-3), tiny_model(2e-3)
    augmented.set_weights(plain.get_weights())
    retrain(plain, *images, batch_size=8, epochs=2, verbose=0)
    record = retrain(augmented, *images, batch_size=8, epochs=2, augmentation=Augmentation(1, True), verbose=0)
    assert record["augmentation"] == (
        "random shifts of up to 1 pixel and left-right flips of half the images, drawn anew each epoch"
    )
    # One fit per epoch, yet one schedule: 12 steps in all, the rate at 0 after the last.
    assert int(augmented.optimizer.iterations) == 12
    assert float(augmented.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-9)
    assert not np.allclose(plain.get_weights()[0], augmented.get_weights()[0])
