"""Hand-designed networks of the field, to measure a search's finalists against (``benchmarks/night.py``).

Each is a MODEL function as ``--baseline`` and ``archopt explain`` take it (``search_spaces.references:vgg_style``):
called with no arguments it builds for 28x28 grey images and 10 classes. All but the tutorial convnet (which compiles
itself, as its tutorial does) are left uncompiled with a softmax output, so archopt compiles them as it compiles its
own candidates (Adam at 1e-3, sparse cross-entropy).
"""

from __future__ import annotations

from typing import Callable

import keras
from keras import layers

from search_spaces import tutorial


def tutorial_cnn(*, input_shape: tuple[int, ...] = (28, 28, 1), num_classes: int = 10) -> keras.Model:
    """TensorFlow's tutorial convnet (the layers-API MNIST tutorial): 5x5 convolutions of 32 and 64 filters, each
    with 2x2 max pooling, Dense 1024 and dropout; ``search_spaces.tutorial.build``."""
    return tutorial.build(input_shape=input_shape, num_classes=num_classes)


def vgg_style(*, input_shape: tuple[int, ...] = (28, 28, 1), num_classes: int = 10) -> keras.Model:
    """Modelled on VGG (Simonyan and Zisserman, 2014) as the small VGG-style nets of Keras examples shrink it: two
    stages of two 3x3 convolutions with batch norm and ReLU (32, then 64 filters), 2x2 max pooling after each stage,
    Flatten, Dense 128 with dropout 0.5."""
    stack = [keras.Input(input_shape)]
    for filters in (32, 64):
        for _ in range(2):
            stack += [layers.Conv2D(filters, 3, padding="same", use_bias=False), layers.BatchNormalization(),
                      layers.ReLU()]
        stack.append(layers.MaxPooling2D(2))
    stack += [layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dropout(0.5),
              layers.Dense(num_classes, activation="softmax")]
    return keras.Sequential(stack, name="vgg_style")


def mobilenet_style(*, input_shape: tuple[int, ...] = (28, 28, 1), num_classes: int = 10) -> keras.Model:
    """Modelled on MobileNet v1 (Howard et al., 2017), scaled to small images: a stride-2 3x3 stem of 32 filters,
    four depthwise-separable stages (3x3 depthwise, 1x1 pointwise, each with batch norm and ReLU) of 64, 128 (stride
    2), 128 and 256 (stride 2) filters, global average pooling and a softmax."""
    stack = [keras.Input(input_shape), layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False),
             layers.BatchNormalization(), layers.ReLU()]
    for filters, stride in ((64, 1), (128, 2), (128, 1), (256, 2)):
        stack += [layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False),
                  layers.BatchNormalization(), layers.ReLU(),
                  layers.Conv2D(filters, 1, use_bias=False), layers.BatchNormalization(), layers.ReLU()]
    stack += [layers.GlobalAveragePooling2D(), layers.Dense(num_classes, activation="softmax")]
    return keras.Sequential(stack, name="mobilenet_style")


def small_bn(*, input_shape: tuple[int, ...] = (28, 28, 1), num_classes: int = 10) -> keras.Model:
    """A small batch-norm net of about 94k parameters, modelled on the compact convnets used as Fashion-MNIST
    baselines: three stages of a 3x3 convolution with batch norm and ReLU (32, 64, 128 filters), 2x2 max pooling
    after the first two, global average pooling and a softmax."""
    stack = [keras.Input(input_shape)]
    for i, filters in enumerate((32, 64, 128)):
        stack += [layers.Conv2D(filters, 3, padding="same"), layers.BatchNormalization(), layers.ReLU()]
        if i < 2:
            stack.append(layers.MaxPooling2D(2))
    stack += [layers.GlobalAveragePooling2D(), layers.Dense(num_classes, activation="softmax")]
    return keras.Sequential(stack, name="small_bn")


# Name -> model function: the references a benchmark measures, in this order.
REFERENCES: dict[str, Callable[..., keras.Model]] = {
    "tutorial_cnn": tutorial_cnn,
    "vgg_style": vgg_style,
    "mobilenet_style": mobilenet_style,
    "small_bn": small_bn,
}
