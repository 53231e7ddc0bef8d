"""Scores of a model on in-memory images, without ``predict``'s per-call setup."""

from __future__ import annotations

import keras
import numpy as np

CHUNK = 1024  # rows per forward pass: few Python calls, and a first layer of 64 filters at 28x28 needs ~200 MB


def predict_scores(model: keras.Model, x: np.ndarray, *, chunk: int = CHUNK) -> np.ndarray:
    """``model``'s outputs for every row of ``x``, in forward passes of ``chunk`` rows.

    ``model.predict`` builds a data pipeline, callbacks and a progress logger on every call: 0.3-0.5 s of a small
    candidate's evaluation on the 2-core CPU. ``predict_on_batch`` runs the same traced predict function on arrays;
    the last chunk is padded to ``chunk`` rows so that every call has one shape and the function is traced once.
    """
    if len(x) == 0:
        raise ValueError(f"`x` must have at least one row, but got shape {x.shape}.")
    outputs = []
    for start in range(0, len(x), chunk):
        part = x[start:start + chunk]
        padded = part if len(part) == chunk or len(x) < chunk else np.concatenate(
            [part, np.zeros((chunk - len(part), *part.shape[1:]), dtype=part.dtype)]
        )
        outputs.append(np.asarray(model.predict_on_batch(padded))[: len(part)])
    return np.concatenate(outputs)
