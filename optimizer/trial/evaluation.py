"""Scoring a candidate as it will really perform: the loss its outputs need (``compile_for_outputs``: logits or
probabilities), and batch-norm statistics recomputed for its trained weights (``recompute_batch_norm``: "precise
BN"; after a few hundred steps the moving averages describe an earlier network). Why: docs/how-a-trial-is-measured.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import keras
import numpy as np

from optimizer.errors import CandidateFailed, squeezed
from optimizer.trial.predict import predict_scores

# Images whose batch statistics replace the moving averages: enough for stable means, ~1 s on a CPU.
PRECISE_BN_IMAGES = 512
PROBE_IMAGES = 8
_PROBABILITY_LOSSES = ("sparse_categorical_crossentropy", "categorical_crossentropy")


def walk_layers(model: keras.layers.Layer) -> Iterator[keras.layers.Layer]:
    """Every layer inside ``model``, nested models included (depth first)."""
    for layer in getattr(model, "layers", ()):
        yield layer
        yield from walk_layers(layer)


def batch_norm_layers(model: keras.Model) -> list[keras.layers.BatchNormalization]:
    return [layer for layer in walk_layers(model) if isinstance(layer, keras.layers.BatchNormalization)]


def recompute_batch_norm(model: keras.Model, x: np.ndarray, *, batch_size: int, images: int = PRECISE_BN_IMAGES) -> int:
    """Set every batch-norm layer's moving statistics to the mean of its batch statistics over ``images`` images.

    Each batch runs forward in training mode (no weight changes) with momentum ``i / (i + 1)`` at batch ``i``, which
    makes the moving average the cumulative mean over the batches; the layers' momentum is restored afterwards.
    ``x`` must be training images: validation images would leak into the score. Returns the batches used (0 when
    the model has no batch norm, whose inference then needs nothing).
    """
    layers = batch_norm_layers(model)
    n = min(len(x), images)
    if not layers or n == 0:
        return 0
    size = min(batch_size, n)
    batches = max(1, n // size)
    momenta = [layer.momentum for layer in layers]
    try:
        for i in range(batches):
            for layer in layers:
                layer.momentum = i / (i + 1)
            model(x[i * size : (i + 1) * size], training=True)
    except Exception as error:
        raise CandidateFailed(f"batch-norm statistics failed: {type(error).__name__}: {squeezed(error)}") from error
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
    return batches


def outputs_probabilities(model: keras.Model, x: np.ndarray) -> bool:
    """Whether ``model`` outputs class probabilities: a final softmax, or non-negative rows that sum to 1 on ``x``."""
    last = _output_layer(model)
    if isinstance(last, keras.layers.Softmax) or _is_softmax(getattr(last, "activation", None)):
        return True
    try:
        scores = keras.ops.convert_to_numpy(model(x[:PROBE_IMAGES], training=False))
    except Exception as error:
        raise CandidateFailed(f"evaluation failed: {type(error).__name__}: {squeezed(error)}") from error
    return bool(scores.ndim == 2 and np.all(scores >= 0) and np.allclose(scores.sum(axis=-1), 1.0, atol=1e-3))


def compile_for_outputs(model: keras.Model, x: np.ndarray) -> bool:
    """Make the loss match what ``model`` outputs; returns whether it outputs logits.

    A model compiled with the plain ``sparse_categorical_crossentropy`` (archopt's default, or a space's) that outputs
    logits is recompiled with ``from_logits=True``, keeping its optimizer; any other probability loss on logits fails
    the candidate with one line, since training it would be silently wrong. Call before the first training step.
    """
    if not model.compiled or outputs_probabilities(model, x):
        return False
    loss = model.loss
    if isinstance(loss, str) and loss == "sparse_categorical_crossentropy":
        model.compile(
            optimizer=model.optimizer,
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        return True
    if (isinstance(loss, str) and loss in _PROBABILITY_LOSSES) or getattr(loss, "from_logits", None) is False:
        name = loss if isinstance(loss, str) else type(loss).__name__
        raise CandidateFailed(
            f"the model outputs logits (its last layer has no softmax) but is compiled with {name} "
            "on probabilities; compile it with from_logits=True or end it with a softmax."
        )
    return True


def validation_accuracy(model: keras.Model, split: Any) -> float:
    """Top-1 accuracy on the validation split, from predictions (works whatever the model compiled with)."""
    return accuracy(model, split.x_val, split.y_val)


def accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    try:
        scores = predict_scores(model, x)
    except Exception as error:
        raise CandidateFailed(f"evaluation failed: {type(error).__name__}: {squeezed(error)}") from error
    return float(np.mean(np.argmax(scores, axis=-1) == y))


def score(model: keras.Model, split: Any, *, batch_size: int) -> float:
    """Validation accuracy after the batch-norm statistics are recomputed on training images."""
    recompute_batch_norm(model, split.x_train, batch_size=batch_size)
    return validation_accuracy(model, split)


def _output_layer(model: keras.Model) -> Any:
    outputs = getattr(model, "outputs", None) or []
    history = getattr(outputs[0], "_keras_history", None) if len(outputs) == 1 else None
    if history is not None:
        return history.operation
    layers = getattr(model, "layers", None)
    return layers[-1] if layers else None


def _is_softmax(activation: Any) -> bool:
    return getattr(activation, "__name__", None) == "softmax"
