"""Example spaces written as users write them for KerasTuner: a HyperModel and a plain `build(hp)` function.

They double as documentation of what `--space` accepts (every hyperparameter kind, conditional
knobs, a learning rate that is not architecture, a model compiled by the space itself) and as
the small, fast space of the engine benchmark (`benchmarks/engines.py`).
"""

from __future__ import annotations

import keras
import keras_tuner as kt
from keras import layers


class TinyCNN(kt.HyperModel):
    """Two to three small convolution blocks on a down-sampled image: a second or two per trial on a CPU.

    Usage: ``archopt search --space search_spaces.examples:TinyCNN``.
    """

    def __init__(self, *, input_shape: tuple[int, ...] = (28, 28, 1), num_classes: int = 10) -> None:
        super().__init__(name="tiny_cnn")
        self.input_shape, self.num_classes = tuple(input_shape), num_classes

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        stem_stride = hp.Choice("stem_stride", [1, 2])
        blocks = hp.Int("blocks", 1, 3)
        width = hp.Int("width", 4, 64, sampling="log")  # log: 4 -> 8 matters as much as 32 -> 64
        kernel = hp.Choice("kernel_size", [3, 5])
        inputs = keras.Input(self.input_shape)
        x = layers.Conv2D(width, 3, strides=stem_stride, padding="same", activation="relu")(inputs)
        for b in range(blocks):
            x = layers.Conv2D(width * 2**b, kernel, padding="same", activation="relu")(x)
            x = layers.MaxPooling2D(2)(x) if x.shape[1] >= 2 else x
        x = layers.GlobalAveragePooling2D()(x)
        hidden = hp.Boolean("hidden")
        # Always entered (KerasTuner's tuners must see the knob); inactive unless hidden is True.
        with hp.conditional_scope("hidden", [True]):
            units = hp.Choice("hidden_units", [32, 128])
        if hidden:
            x = layers.Dense(units, activation="relu")(x)
        outputs = layers.Dense(self.num_classes, activation="softmax")(x)
        return keras.Model(inputs, outputs)


def compiled_mlp(
    hp: kt.HyperParameters, *, input_shape: tuple[int, ...] = (28, 28, 1), num_classes: int = 10
) -> keras.Model:
    """A `build(hp)` function that compiles its own model: archopt keeps its optimizer, learning rate and loss.

    Usage: ``archopt search --space search_spaces.examples:compiled_mlp``.
    """
    model = keras.Sequential([keras.Input(input_shape), layers.Flatten()])
    for i in range(hp.Int("layers", 1, 2)):
        model.add(layers.Dense(hp.Int(f"units_{i}", 16, 256, step=2, sampling="log"), activation="relu"))
    model.add(layers.Dropout(hp.Fixed("dropout", 0.1)))
    model.add(layers.Dense(num_classes, activation="softmax"))
    optimizer = hp.Choice("optimizer", ["adam", "sgd"])
    learning_rate = hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
    model.compile(optimizer=keras.optimizers.get({"class_name": optimizer, "config": {"learning_rate": learning_rate}}),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
