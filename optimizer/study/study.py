"""Opening the two-objective Optuna study and running it with archopt's stopping rules."""

from __future__ import annotations

from typing import Callable

import optuna
from optuna.trial import TrialState

from optimizer.errors import ArchoptError, first_line
from optimizer.study.concurrent_retry import retry_concurrent
from optimizer.study.storage import redact
from optimizer.trial.repeats import is_repeat

DIRECTIONS = ("maximize", "minimize")
METRIC_NAMES = ("accuracy", "step_time_ms")
GIVE_UP_AFTER_FAILURES = 25
# Repeats in a row after which a search ends: its sampler finds nothing new (a small space seen
# whole). Even at the 42% of trials a 20-minute default search repeated (README), 200 in a row has a
# chance of 0.42**200.
EXHAUSTED_AFTER_REPEATS = 200
# Candidates fully judged: trained to the top rung (COMPLETE) or stopped at a lower one by
# successive halving (PRUNED).
JUDGED = (TrialState.COMPLETE, TrialState.PRUNED)


def open_study(
    *, storage: str | optuna.storages.BaseStorage, name: str, sampler: optuna.samplers.BaseSampler
) -> optuna.Study:
    """Create the study, or load it to resume: every earlier trial is kept."""
    def create() -> optuna.Study:
        study = optuna.create_study(
            storage=storage, study_name=name, directions=list(DIRECTIONS), sampler=sampler, load_if_exists=True
        )
        study.set_metric_names(list(METRIC_NAMES))
        return study

    try:
        study = retry_concurrent(create)  # workers started together create and load it at the same moment
    except ValueError as error:  # e.g. an existing study with other directions.
        raise ArchoptError(f"cannot use study {name!r}: {error}") from error
    except Exception as error:  # SQLAlchemy's errors for an unreachable or unusable storage.
        raise ArchoptError(
            f"cannot open storage {redact(storage)}: {type(error).__name__}: {first_line(error)}"
        ) from error
    return study


def count(study: optuna.Study, *states: TrialState) -> int:
    return len(study.get_trials(deepcopy=False, states=states))


def stop_when_hopeless(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """Stop a study whose candidates all fail, instead of failing forever overnight."""
    if count(study, TrialState.COMPLETE) == 0 and count(study, TrialState.FAIL) >= GIVE_UP_AFTER_FAILURES:
        study.stop()


def stop_at(n_complete: int) -> Callable:
    """Stop once the study holds ``n_complete`` judged candidates (complete or stopped at a rung), in every worker."""
    return optuna.study.MaxTrialsCallback(n_complete, states=JUDGED)


def exhausted(study: optuna.Study) -> bool:
    """Whether the last ``EXHAUSTED_AFTER_REPEATS`` judged trials all repeated earlier ones."""
    last = study.get_trials(deepcopy=False, states=JUDGED)[-EXHAUSTED_AFTER_REPEATS:]
    return len(last) == EXHAUSTED_AFTER_REPEATS and all(map(is_repeat, last))


def stop_when_exhausted(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """Stop a search whose sampler only proposes networks it has judged: each repeat costs a build, and a night of
    them would fill the storage with nothing new."""
    if exhausted(study):
        study.stop()
