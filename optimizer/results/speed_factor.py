"""A re-timing's sitting: how fast the machine ran while it timed, against the run's own timings (pure).

Each pass of a re-timing also times a few controls off the front; the median of their re-timed over their own
timings is the sitting's ``factor``, and every figure of the pass is divided by it, so that a slow or fast minute of
a shared CPU does not move the front. Measured figures: docs/how-a-trial-is-measured.md.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import NamedTuple

# Per pass: each control costs one model's rounds (1-3 s); a median of 8 ratios has under half
# the noise of one.
CONTROLS = 8


class Retimed(NamedTuple):
    """One model's rounds in one sitting, and that sitting's factor (above 1: the machine ran slower than the run)."""

    rounds_ms: list[float]
    factor: float = 1.0

    @property
    def step_time_ms(self) -> float:
        """On the run's own scale: the median round divided by the sitting's factor."""
        return statistics.median(self.rounds_ms) / self.factor

    def record(self) -> dict:
        return {
            "step_time_ms": self.step_time_ms,
            "step_time_rounds_ms": [round(ms, 4) for ms in self.rounds_ms],
            "sitting_factor": round(self.factor, 4),
        }


def controls(own: Mapping[int, float], *, front: Iterable[int], n: int = CONTROLS) -> list[int]:
    """Up to ``n`` trials of ``own`` (trial number -> own step time) off the ``front``, evenly spread over their step
    times, fastest first."""
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"`n` must be a non-negative integer, but got {n=}.")
    on_front = set(front)
    rest = sorted((ms, k) for k, ms in own.items() if k not in on_front and math.isfinite(ms) and ms > 0)
    picks = min(n, len(rest))
    return [rest[i * len(rest) // picks][1] for i in range(picks)]


def factor(rounds: Mapping[Hashable, Sequence[float]], *, own: Mapping[int, float], keys: Iterable[int]) -> float:
    """The sitting's speed against the run's: the median over ``keys`` of median round / own timing; 1 for none."""
    ratios = [statistics.median(rounds[k]) / own[k] for k in keys if k in rounds]
    return statistics.median(ratios) if ratios else 1.0


def scaled(rounds: Mapping[Hashable, list[float]], *, own: Mapping[int, float], keys: Iterable[int]) -> dict:
    """Every key's rounds of one pass with that pass's factor, measured on the control ``keys``."""
    f = factor(rounds, own=own, keys=keys)
    return {key: Retimed(list(ms), f) for key, ms in rounds.items()}
