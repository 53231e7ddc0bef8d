"""Successive halving inside a trial: rung results in the study's storage, and the stop-or-continue decision.

A trial's rung results are user attributes (``accuracy_<steps>``, ``steps_trained``, ``rung``, ``step_time_ms``),
written before each decision, so every worker of a fleet and every resumed run judges against the same trials.
Every trial is judged on its own timing, the one it measured on its training stream: a re-timing of the front (at the
end of a run, so also before a resume) replaces only the front members' ``step_time_ms`` and keeps that first timing
in ``step_time_first_ms``, and mixing the two kinds of figure would rank trials by how they were timed.
A trial that stops ends PRUNED (``optuna.TrialPruned``); one that reaches the top rung ends COMPLETE.
"""

from __future__ import annotations

from typing import Any

import optuna
from optuna.trial import TrialState

from optimizer.trial.attrs import FIRST_STEP_TIME
from optimizer.trial.rungs import Point, continues

# Trials whose rung results count: FAIL ones are left out, since a failed trial's parameters are
# retried and would otherwise count twice (and a trial killed mid-rung has no score there anyway).
JUDGED_STATES = (TrialState.RUNNING, TrialState.PRUNED, TrialState.COMPLETE)


def accuracy_key(steps: int) -> str:
    return f"accuracy_{steps}"


def rung_points(study: optuna.Study, *, steps: int) -> dict[int, Point]:
    """(accuracy at ``steps``, the trial's own step time) of every trial of ``study`` that reached the rung."""
    points = {}
    for trial in study.get_trials(deepcopy=False, states=JUDGED_STATES):
        attrs = trial.user_attrs
        if accuracy_key(steps) in attrs and "step_time_ms" in attrs:
            own = attrs.get(FIRST_STEP_TIME, attrs["step_time_ms"])  # before any re-timing replaced it
            points[trial.number] = (float(attrs[accuracy_key(steps)]), float(own))
    return points


def peers_key(steps: int) -> str:
    return f"peers_{steps}"


def continues_past(trial: Any, *, steps: int, eta: int) -> tuple[bool, int]:
    """Whether ``trial`` trains on past its rung at ``steps``, and among how many trials (itself included) judged.

    Its own result must already be in the storage. A trial without a study (a FixedTrial: a baseline, a KerasTuner
    trial) always trains to the full budget.
    """
    study = getattr(trial, "study", None)
    if study is None:
        return True, 0
    points = rung_points(study, steps=steps)
    return trial.number not in points or continues(points, trial=trial.number, eta=eta), len(points)


def pruned(*, steps: int, rung: int, accuracy: float) -> optuna.TrialPruned:
    return optuna.TrialPruned(f"stopped at rung {rung} after {steps} steps ({accuracy:.4f} accuracy): outranked there.")


def rung_counts(trials: list[optuna.trial.FrozenTrial] | None = None, *, columns: dict[str, int] | None = None) -> str:
    """'candidates per rung: 100 steps 40, 300 steps 13, 900 steps 4', from trials or from counts by column."""
    if columns is None:
        columns = {}
        for trial in trials or []:
            for key in trial.user_attrs:
                if key.startswith("accuracy_") and key[len("accuracy_") :].isdigit():
                    columns[key] = columns.get(key, 0) + 1
    ordered = sorted(columns.items(), key=lambda kv: int(kv[0][len("accuracy_") :]))
    return ", ".join(f"{key[len('accuracy_') :]} steps {n}" for key, n in ordered)
