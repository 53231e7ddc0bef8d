"""The default CNN search space: the classic knobs that trade accuracy for training speed.

Written with KerasTuner's HyperParameters API, so the same space drives Optuna
(through `optimizer.space.hparams`) and KerasTuner's own tuners. The knob names are the
column names of `trials.csv`.
"""

from __future__ import annotations

import keras
import keras_tuner as kt
from keras import layers

MAX_BLOCKS = 5


def _conv(x, *, filters: int, kernel: int, factorization: str, batch_norm: bool, name: str):
    """One k x k convolution, as written, split into k x 1 then 1 x k, or depthwise-separable."""
    bias = not batch_norm  # a bias right before batch norm is redundant.
    if factorization == "kx1_1xk":
        x = layers.Conv2D(filters, (kernel, 1), padding="same", use_bias=bias, name=f"{name}_kx1")(x)
        x = layers.Conv2D(filters, (1, kernel), padding="same", use_bias=bias, name=f"{name}_1xk")(x)
    elif factorization == "separable":
        x = layers.SeparableConv2D(filters, kernel, padding="same", use_bias=bias, name=name)(x)
    else:
        x = layers.Conv2D(filters, kernel, padding="same", use_bias=bias, name=name)(x)
    if batch_norm:
        x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def _downsample(x, *, how: str, filters: int, name: str):
    if how == "max":
        return layers.MaxPooling2D(2, name=name)(x)
    if how == "avg":
        return layers.AveragePooling2D(2, name=name)(x)
    if how == "strided":
        return layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu", name=name)(x)
    return x


def _feature_sizes(*, size: int, first_stride: int, num_blocks: int, downsample: str) -> list[int]:
    """Spatial size after the stem and after each block's down-sampling (pure, for the feasibility check)."""
    sizes = [-(-size // first_stride)]  # "same" padding rounds up.
    for _ in range(num_blocks - 1):
        shrink = {"max": lambda s: s // 2, "avg": lambda s: s // 2, "strided": lambda s: -(-s // 2)}
        sizes.append(shrink.get(downsample, lambda s: s)(sizes[-1]))
    return sizes


def check_feasible(*, input_shape: tuple[int, ...], first_stride: int, num_blocks: int, downsample: str) -> None:
    """Reject, before anything is built, a candidate whose feature map would shrink below 1x1."""
    sizes = _feature_sizes(
        size=min(input_shape[:2]), first_stride=first_stride, num_blocks=num_blocks, downsample=downsample
    )
    if min(sizes) < 1:
        raise kt.errors.FailedTrialError(
            f"feature map shrinks below 1x1: input {input_shape[0]}x{input_shape[1]} with first_stride={first_stride}, "
            f"num_blocks={num_blocks} and downsample={downsample!r} gives sizes {sizes}."
        )


class DefaultCNN(kt.HyperModel):
    """Stem convolution, 1-5 blocks of convolutions with down-sampling between them, and a small head."""

    def __init__(self, *, input_shape: tuple[int, ...] = (28, 28, 1), num_classes: int = 10) -> None:
        super().__init__(name="default_cnn")
        self.input_shape = tuple(input_shape)
        self.num_classes = num_classes

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        first_stride = hp.Choice("first_stride", [1, 2])
        first_kernel = hp.Choice("first_kernel", [3, 5, 7])
        num_blocks = hp.Int("num_blocks", 1, MAX_BLOCKS)
        filters = [self._block_filters(hp, b) for b in range(1, MAX_BLOCKS + 1)]
        spec = dict(
            kernel=hp.Choice("kernel_size", [3, 5]),
            factorization=hp.Choice("factorization", ["none", "kx1_1xk", "separable"]),
            batch_norm=hp.Boolean("batch_norm"),
        )
        convs_per_block = hp.Int("convs_per_block", 1, 2)
        downsample = hp.Choice("downsample", ["max", "avg", "strided", "none"])
        head = hp.Choice("head", ["gap", "flatten"])
        dense_units = hp.Choice("dense_units", [0, 32, 64, 128, 256])
        dropout = hp.Float("dropout", 0.0, 0.5, step=0.25)
        check_feasible(
            input_shape=self.input_shape, first_stride=first_stride, num_blocks=num_blocks, downsample=downsample
        )

        inputs = keras.Input(self.input_shape, name="image")
        x = layers.Conv2D(
            filters[0], first_kernel, strides=first_stride, padding="same", activation="relu", name="stem"
        )(inputs)
        for b in range(num_blocks):
            for i in range(convs_per_block):
                x = _conv(x, filters=filters[b], name=f"block{b + 1}_conv{i + 1}", **spec)
            if b < num_blocks - 1:
                x = _downsample(x, how=downsample, filters=filters[b], name=f"block{b + 1}_down")
        x = (
            layers.GlobalAveragePooling2D(name="head_gap")(x)
            if head == "gap"
            else layers.Flatten(name="head_flatten")(x)
        )
        if dense_units:
            x = layers.Dense(dense_units, activation="relu", name="hidden")(x)
        if dropout:
            x = layers.Dropout(dropout, name="dropout")(x)
        outputs = layers.Dense(self.num_classes, activation="softmax", name="classifier")(x)
        return keras.Model(inputs, outputs, name="default_cnn")

    @staticmethod
    def _block_filters(hp: kt.HyperParameters, block: int) -> int | None:
        # Conditional: filters_3 exists only with 3 or more blocks (empty in the CSV otherwise).
        with hp.conditional_scope("num_blocks", list(range(block, MAX_BLOCKS + 1))):
            return hp.Choice(f"filters_{block}", [8, 16, 32, 64])
