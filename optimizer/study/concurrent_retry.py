"""Steps that many workers take at the same moment, retried when they lose the race to one another.

A fleet's workers (a shell loop, a Slurm array, a Kubernetes Job) open the storage at the same moment. On a fresh
database they all create Optuna's tables at once, and all but one lose the race with an integrity or lock error
(PostgreSQL: a duplicate ``pg_type`` row; MySQL: "already exists"; SQLite: "database is locked").
``retry_concurrent`` runs such a step again after a short, jittered back-off, within a bounded time: the second
attempt finds the tables (or the study) the winner made.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy.exc

T = TypeVar("T")

RETRY_S = 60.0  # a fleet of hundreds gets in well within this; a real fault is reported after it
FIRST_DELAY_S, MAX_DELAY_S = 0.05, 2.0
# What a lost race says, in SQLAlchemy's and the drivers' words (PostgreSQL, MySQL, SQLite). An
# unreachable server, a bad password or a missing database says none of these: reported at once.
RACE_WORDS = ("already exists", "duplicate key", "database is locked", "database table is locked", "deadlock",
              "lock wait timeout", "could not serialize")

def retry_concurrent(step: Callable[[], T], *, budget_s: float | None = None) -> T:
    """``step()``, run again while it fails only because another worker did the same thing at the same moment."""
    deadline = time.monotonic() + (RETRY_S if budget_s is None else budget_s)
    delay = FIRST_DELAY_S
    while True:
        try:
            return step()
        except Exception as error:
            if not lost_race(error) or time.monotonic() + delay > deadline:
                raise
        time.sleep(random.uniform(delay / 2, delay))  # jittered: losers do not collide again
        delay = min(2 * delay, MAX_DELAY_S)


def lost_race(error: BaseException) -> bool:
    """Whether ``error`` (or what it wraps: Optuna re-raises SQLAlchemy's errors) is a concurrent writer's doing."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, sqlalchemy.exc.IntegrityError):
            return True
        if isinstance(error, sqlalchemy.exc.DBAPIError) and any(w in str(error).lower() for w in RACE_WORDS):
            return True
        error = error.__cause__ or error.__context__
    return False
