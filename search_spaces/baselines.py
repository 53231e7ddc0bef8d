"""Fixed, well-known models to compare a search against (`--baseline`) or to take apart (`archopt explain`)."""

from __future__ import annotations

import keras
from keras import layers


def mnist_cnn(*, input_shape: tuple[int, ...] = (28, 28, 1), num_classes: int = 10) -> keras.Model:
    """Keras' classic MNIST example: two 3x3 convolutions at full resolution, max pooling, a 128-unit dense head."""
    return keras.Sequential(
        [
            keras.Input(input_shape),
            layers.Conv2D(32, 3, activation="relu"),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(num_classes, activation="softmax"),
        ],
        name="mnist_cnn",
    )
