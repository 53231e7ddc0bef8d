"""Workers that start together on one study: every one gets in, and one with other measuring settings is refused.

A fleet's workers (a shell loop, a Slurm array, a Kubernetes Job) open the storage at the same moment. On a fresh
database they all create Optuna's tables at once, and all but one lose the race with an integrity or lock error
(PostgreSQL: a duplicate ``pg_type`` row; MySQL: "already exists"; SQLite: "database is locked").
``retry_concurrent`` runs such a step again after a short, jittered back-off, within a bounded time: the second
attempt finds the tables (or the study) the winner made.

The study also records what a trial measures (dataset, space, split sizes, seed, training budget) as study user
attributes the first time any worker joins it, and every later worker checks its own settings against them before
it runs a trial: trials scored on different splits or budgets are not comparable on one front.
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import optuna

from optimizer.errors import ArchoptError
from optimizer.run_config import MUST_MATCH, RunConfig

T = TypeVar("T")

RETRY_S = 60.0  # a fleet of hundreds gets in well within this; a real fault is reported after it
FIRST_DELAY_S, MAX_DELAY_S = 0.05, 2.0
# What a lost race says, in SQLAlchemy's and the drivers' words (PostgreSQL, MySQL, SQLite); an unreachable
# server, a bad password or a missing database says none of these and is reported at once.
RACE_WORDS = ("already exists", "duplicate key", "database is locked", "database table is locked", "deadlock",
              "lock wait timeout", "could not serialize")
# The command-line flag of each recorded setting, for the refusal's message.
FLAGS = {"dataset": "--dataset", "space": "--space", "val_size": "--val-size", "train_size": "--train-size",
         "seed": "--seed", "batch_size": "--batch-size", "train_steps": "--train-steps", "epochs": "--epochs",
         "timing_s": "--timing-s", "max_step_ms": "--max-step-ms"}


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
        time.sleep(random.uniform(delay / 2, delay))  # jittered: the losers do not collide again in step
        delay = min(2 * delay, MAX_DELAY_S)


def lost_race(error: BaseException) -> bool:
    """Whether ``error`` (or what it wraps: Optuna re-raises SQLAlchemy's errors) is a concurrent writer's doing."""
    import sqlalchemy.exc

    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, sqlalchemy.exc.IntegrityError):
            return True
        if isinstance(error, sqlalchemy.exc.DBAPIError) and any(w in str(error).lower() for w in RACE_WORDS):
            return True
        error = error.__cause__ or error.__context__
    return False


def settings_of(config: RunConfig) -> dict:
    """The settings that change what a trial measures, as the JSON values the study stores."""
    return json.loads(json.dumps({field: config.to_dict()[field] for field in MUST_MATCH}))


def shares_study(config: RunConfig, *, run_dir: Path) -> bool:
    """Whether other workers may run this study: a server database, or a SQLite file other than the run folder's own
    (several run folders given one ``--storage sqlite:///...``). Their samplers are then seeded per worker."""
    from optimizer.storage import is_shared

    return is_shared(config.storage) or config.storage != f"sqlite:///{Path(run_dir).resolve() / 'study.db'}"


def join_study(config: RunConfig) -> None:
    """Open (creating it if need be) the study, record its settings if it has none, and refuse other settings.

    Called before a worker writes anything, so a refused worker leaves the study (and its own run.json) untouched.
    """
    from optimizer.storage import make_storage
    from optimizer.study import open_study

    storage = make_storage(config.storage)
    try:
        study = open_study(storage=storage, name=config.study, sampler=optuna.samplers.RandomSampler())
        check_settings(study, config)
    finally:
        storage.engine.dispose()  # the worker opens its own later; no idle connections held on the server


def check_settings(study: optuna.Study, config: RunConfig) -> None:
    """Record ``config``'s settings on a study that has none; raise ArchoptError naming the first that differs.

    The first worker to record wins, atomically, even against workers started at the same moment; a study made by
    an archopt that did not record settings adopts the first joining worker's (said on stderr if it has trials).
    """
    from optimizer.storage import add_study_user_attrs

    own = settings_of(config)
    missing = {key: value for key, value in own.items() if key not in study.user_attrs}
    if missing:
        retry_concurrent(lambda: add_study_user_attrs(study, missing))
    recorded = study.user_attrs
    if missing and all(recorded[key] == own[key] for key in missing) and study.get_trials(deepcopy=False):
        print(f"archopt: study {study.study_name!r} had no recorded {', '.join(missing)}; it now keeps this "
              f"worker's, and its earlier trials are assumed to be measured with them.", file=sys.stderr)
    for key, value in own.items():
        _compare(key, recorded[key], value, study=study.study_name)


def _compare(key: str, recorded: object, own: object, *, study: str) -> None:
    if isinstance(recorded, dict) and isinstance(own, dict):  # the budget: name the field that differs
        for field in sorted(recorded.keys() | own.keys()):
            _compare(field, recorded.get(field), own.get(field), study=study)
    elif recorded != own:
        flag = FLAGS.get(key, key)
        raise ArchoptError(
            f"study {study!r} measures trials with {flag} {_shown(recorded)}, but this worker was started with "
            f"{flag} {_shown(own)}; start it with the study's settings, or give it another --study."
        )


def _shown(value: object) -> str:
    return "(not set)" if value is None else str(value)


class TrialGate:
    """Start a trial only while the study needs more than its complete trials and the trials running now.

    Without it, every worker that finishes a trial before the fleet reaches ``--trials`` starts another, and each
    one still running when the target is reached completes too: up to one extra trial per worker. With it, a worker
    whose next trial would be surplus waits instead: if the running trials complete, the study is done with exactly
    the target; if one fails, its place is free again. Dead workers' trials are failed meanwhile (heartbeats), so a
    wait ends; ``timeout`` (seconds, from now) bounds it too. Two workers that check at the same instant may still
    both start, one trial over.
    """

    def __init__(self, *, target: int, timeout: float | None = None, poll_s: float = 1.0) -> None:
        self.target, self.poll_s = target, poll_s
        self.deadline = None if timeout is None else time.monotonic() + timeout

    def open(self, study: optuna.Study) -> bool:
        """Whether to start another trial, after waiting while the running trials would reach the target."""
        from optuna.trial import TrialState

        from optimizer.storage import fail_stale

        while True:
            trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.RUNNING))
            complete = sum(t.state == TrialState.COMPLETE for t in trials)
            if complete >= self.target or (self.deadline is not None and time.monotonic() >= self.deadline):
                return False
            if len(trials) < self.target:
                return True
            time.sleep(self.poll_s)
            fail_stale(study)

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if not self.open(study):
            study.stop()
