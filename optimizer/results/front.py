"""The front of a set of trials, and the columns every table of trials shares: the one home of both.

Pure: no files, no TensorFlow. report, retime and baselines all ask here which trials are non-dominated.
"""

from __future__ import annotations

import copy
from typing import Iterable, Sequence

import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from optimizer.data.datasets import SPECS, DatasetSpec
from optimizer.defaults import FRONT_FLOOR_SHARE
from optimizer.study.study import DIRECTIONS

LEADING = ["trial", "state", "accuracy", "step_time_ms", "params", "macs", "is_pareto"]
FINAL = ["final_accuracy", "final_epochs"]  # a finalist's score (results.finalists), right after LEADING when present
METRICS = [
    "step_time_first_ms", "step_time_iqr_ms", "step_time_mad_ms", "step_time_cv", "step_time_steps",
    "sample_s", "build_s", "timing_s", "train_s", "eval_s", "duration_s", "fixed_s", "bookkeeping_s", "fit_step_ms",
    "device", "host", "fail_reason",
]


def pareto_numbers(trials: Iterable[FrozenTrial]) -> set[int]:
    """Numbers of the complete trials on their device class's front, as Optuna itself defines non-dominated.

    Step times from different hardware do not compare, so a mixed fleet has one front per device class.
    """
    by_device: dict[str, list[FrozenTrial]] = {}
    for trial in trials:
        if trial.state == TrialState.COMPLETE:
            by_device.setdefault(str(trial.user_attrs.get("device", "")), []).append(trial)
    return set().union(*(_best_numbers(group) for group in by_device.values()))


def _best_numbers(trials: Sequence[FrozenTrial]) -> set[int]:
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "new study created" line per device and call
    try:
        scratch = optuna.create_study(directions=list(DIRECTIONS))  # in memory: only to ask Optuna for the front
        scratch.add_trials(trials)
        return {trials[t.number].number for t in scratch.best_trials}  # the copies are numbered 0, 1, ...
    finally:
        optuna.logging.set_verbosity(verbosity)


def with_step_times(trials: Iterable[FrozenTrial], step_times: dict[int, float]) -> list[FrozenTrial]:
    """Copies of the complete ``trials`` whose step time is replaced where ``step_times`` has one."""
    copies = []
    for trial in trials:
        if trial.state == TrialState.COMPLETE:
            copy_ = copy.copy(trial)  # FrozenTrial's setter replaces the list: the stored trial is untouched
            copy_.values = [trial.values[0], step_times.get(trial.number, trial.values[1])]
            copies.append(copy_)
    return copies


def dominating(rows: pd.DataFrame, *, accuracy: float, step_time_ms: float) -> pd.DataFrame:
    """The rows that dominate the point: no worse in both objectives and better in one (Optuna's definition)."""
    no_worse = (rows["accuracy"] >= accuracy) & (rows["step_time_ms"] <= step_time_ms)
    return rows[no_worse & ((rows["accuracy"] > accuracy) | (rows["step_time_ms"] < step_time_ms))]


def pareto_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The non-dominated rows, fastest first."""
    return frame[frame["is_pareto"]].sort_values(["step_time_ms", "accuracy"], ascending=[True, False])


def num_classes(dataset: str | None) -> int:
    """The dataset's number of classes; a study naming none (built by hand) has the built-in datasets' default."""
    return SPECS[dataset].num_classes if dataset in SPECS else DatasetSpec.num_classes


def accuracy_floor(front: pd.DataFrame, *, num_classes: int, share: float = FRONT_FLOOR_SHARE) -> float:
    """The accuracy ``share`` of the way from chance (``1 / num_classes``) to the front's best."""
    chance = 1 / num_classes
    best = front["accuracy"].max() if len(front) else chance
    return chance + share * max(best - chance, 0.0)


def floor_words(*, under: int, floor: float) -> str:
    """'2 more front members under the accuracy floor 0.460 (50% of the way from chance to the best)'."""
    return (f"{under} more front member{'' if under == 1 else 's'} under the accuracy floor {floor:.3f} "
            f"({FRONT_FLOOR_SHARE:.0%} of the way from chance to the best)")


def useful_front(frame: pd.DataFrame, *, num_classes: int) -> tuple[pd.DataFrame, float]:
    """pareto.csv's rows: the front members at or above ``accuracy_floor``, most accurate first; and the floor.

    The fastest members of a front are networks near chance (fast because they learn nothing): ranked by accuracy,
    the first row is the best network, and each next one trades accuracy for speed.
    """
    front = pareto_frame(frame)
    floor = accuracy_floor(front, num_classes=num_classes)
    kept = front[front["accuracy"] >= floor]
    return kept.sort_values(["accuracy", "step_time_ms"], ascending=[False, True]), floor
