"""Asynchronous multi-objective successive halving: the rungs and the rule that stops a candidate at one (pure).

A candidate goes on past a rung only if it ranks in the top ``1/eta`` of the trials seen there, by non-dominated
sorting on (accuracy at the rung, step time) with crowding-distance ties (Schmucker et al. 2021); while a rung has
seen fewer than ``eta`` trials, only a dominated one stops (docs/successive-halving.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from optimizer.errors import ArchoptError, check_positive_int

Point = tuple[float, float]  # (accuracy: higher is better, step time in ms: lower is better)


def make_rungs(*, min_steps: int, max_steps: int, eta: int) -> tuple[int, ...]:
    """Training steps of each rung: ``min_steps``, ``eta * min_steps``, ... below ``max_steps``, then ``max_steps``.

    The top rung is always ``max_steps`` (the full budget); ``min_steps == max_steps`` gives one rung: single fidelity.
    """
    check_positive_int(**{"--min-steps": min_steps, "--train-steps": max_steps})
    if min_steps > max_steps:
        raise ArchoptError(f"`--min-steps <= --train-steps` must hold, but got ({min_steps=}, {max_steps=}).")
    if not isinstance(eta, int) or eta < 2:
        raise ArchoptError(f"`--eta` must be an integer of at least 2, but got {eta!r}.")
    steps, rungs = min_steps, []
    while steps < max_steps:
        rungs.append(steps)
        steps *= eta
    return (*rungs, max_steps)


def dominates(a: Point, b: Point) -> bool:
    """``a`` is no worse than ``b`` in both objectives and better in one."""
    return a[0] >= b[0] and a[1] <= b[1] and (a[0] > b[0] or a[1] < b[1])


def fronts(points: Mapping[int, Point]) -> list[list[int]]:
    """Non-dominated sorting: the keys of ``points`` by front, the non-dominated ones first."""
    left, result = dict(points), []
    while left:
        front = [k for k, p in left.items() if not any(dominates(q, p) for j, q in left.items() if j != k)]
        result.append(sorted(front))
        for k in front:
            del left[k]
    return result


def crowding(points: Mapping[int, Point], front: Sequence[int]) -> dict[int, float]:
    """NSGA-II's crowding distance within one front: the extremes get infinity, others their normalized gaps."""
    distance = {k: 0.0 for k in front}
    for axis in (0, 1):
        order = sorted(front, key=lambda k: (points[k][axis], k))
        span = points[order[-1]][axis] - points[order[0]][axis]
        distance[order[0]] = distance[order[-1]] = math.inf
        if span <= 0:
            continue
        for before, k, after in zip(order, order[1:], order[2:]):
            distance[k] += (points[after][axis] - points[before][axis]) / span
    return distance


def ranking(points: Mapping[int, Point]) -> list[int]:
    """Every key, best first: by front, then by crowding distance (largest first), then by key (earlier first)."""
    ranked = []
    for front in fronts(points):
        distance = crowding(points, front)
        ranked += sorted(front, key=lambda k: (-distance[k], k))
    return ranked


def continues(points: Mapping[int, Point], *, trial: int, eta: int) -> bool:
    """Whether ``trial`` goes on past a rung, given the (accuracy, step time) of every trial that reached it.

    ``points`` must hold ``trial`` itself. With ``n >= eta`` trials at the rung, the top ``floor(n / eta)`` of
    ``ranking`` continue; with fewer, every trial that no other dominates continues.
    """
    if trial not in points:
        raise ValueError(f"`trial` must be one of the rung's trials, but got {trial=} (rung holds {sorted(points)}).")
    if len(points) < eta:
        return not any(dominates(p, points[trial]) for k, p in points.items() if k != trial)
    return trial in ranking(points)[: len(points) // eta]
