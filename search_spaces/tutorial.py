"""TensorFlow's tutorial convnet for (Fashion-)MNIST, as a MODEL function for `--around` and `--baseline`.

Usage: ``archopt search --around search_spaces.tutorial:build`` (see docs/around.md).
"""

from __future__ import annotations

import keras
from keras import layers


def build(*, input_shape: tuple[int, ...] = (28, 28, 1), num_classes: int = 10) -> keras.Model:
    """Two 5x5 convolutions of 32 and 64 filters, each followed by 2x2 max pooling, then Dense 1024 and logits.

    Compiled as the tutorial does: Adam at 1e-3, cross-entropy on logits.
    """
    model = keras.Sequential(
        [
            keras.Input(input_shape),
            layers.Conv2D(32, 5, padding="same", activation="relu", name="conv1"),
            layers.MaxPooling2D(2, name="pool1"),
            layers.Conv2D(64, 5, padding="same", activation="relu", name="conv2"),
            layers.MaxPooling2D(2, name="pool2"),
            layers.Flatten(name="flatten"),
            layers.Dense(1024, activation="relu", name="dense"),
            layers.Dropout(0.4, name="dropout"),
            layers.Dense(num_classes, name="logits"),
        ],
        name="tutorial_cnn",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model
