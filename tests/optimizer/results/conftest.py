"""Fixtures that the results stage's tests share: a tiny real objective to time and train."""

import keras
import numpy as np
import pytest

from optimizer.data.datasets import Split
from optimizer.trial.budget import Budget
from optimizer.trial.objective import Objective


def tiny_build(hp) -> keras.Model:
    filters = hp.Int("filters", 1, 16)
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(filters, 3),
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )


@pytest.fixture
def tiny_objective(seed: int) -> Objective:
    rng = np.random.default_rng(seed)
    x, y = rng.random((64, 8, 8, 1), dtype=np.float32), rng.integers(0, 3, 64)
    return Objective(build=tiny_build, split=Split(x, y, x[:16], y[:16]), budget=Budget(batch_size=8, timing_s=0.02))
