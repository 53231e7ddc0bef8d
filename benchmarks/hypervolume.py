"""Hypervolume of an accuracy / step-time front, normalized against a fixed reference point.

Computed with moocore (the maintained C library behind the EMO community's indicators):
Optuna's own hypervolume code is private (``optuna._hypervolume``), and its public
``plot_hypervolume_history`` draws a figure rather than returning numbers.
"""

from __future__ import annotations

import numpy as np

# The reference point is the worst front worth anything: chance accuracy on 10 classes, and the
# slowest step the benchmark accepts (its --max-step-ms). It scales both objectives to [0, 1].
CHANCE_ACCURACY = 0.1
MAX_STEP_MS = 200.0


def normalized(accuracy: np.ndarray, step_ms: np.ndarray) -> np.ndarray:
    """Points to minimize, in the unit box: (error above chance, step time) over the reference point's."""
    error = (1.0 - np.asarray(accuracy, dtype=float)) / (1.0 - CHANCE_ACCURACY)
    return np.column_stack([error, np.asarray(step_ms, dtype=float) / MAX_STEP_MS])


def hypervolume(accuracy: np.ndarray, step_ms: np.ndarray) -> float:
    """The area the front of these trials dominates inside the unit box; 0 for no trial."""
    import moocore

    points = normalized(accuracy, step_ms)
    points = points[(points < 1.0).all(axis=1)]  # points beyond the reference add nothing
    return float(moocore.hypervolume(points, ref=[1.0, 1.0])) if len(points) else 0.0
