"""The user's own models as baselines: measured exactly as trials are, and compared with the front.

A baseline is stored in the study (user attribute ``baselines``: name -> row), not only in
``baselines.csv``, so that a resumed search, ``archopt pareto`` and ``archopt retime`` find it
wherever the study lives, and the model is measured once per run.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any, Iterable

import optuna
import pandas as pd

from optimizer.errors import CandidateFailed
from optimizer.results.front import LEADING, METRICS, dominating

ATTR = "baselines"
FILE = "baselines.csv"


def baseline_name(spec: str, *, taken: Iterable[str] = ()) -> str:
    """A short name for the plot and the summary: the spec's last path part, made unique."""
    base = Path(spec).name or spec
    name, n = base, 2
    while name in set(taken):
        name, n = f"{base}#{n}", n + 1
    return name


def fresh_model(spec: str):
    """The model ``spec`` names with freshly initialized weights, as a trial starts from.

    A function spec builds a new model on every call; a saved file is loaded with its trained
    weights (and uncompiled), so it is cloned, which re-initializes every weight.
    """
    import keras

    from optimizer.space.models import load_model

    model = load_model(spec)
    if model.compiled:  # from a function, so fresh: keep its compile
        return model
    try:
        return keras.models.clone_model(model)
    except Exception:  # subclassed, so from a function: fresh
        return model


def check_specs(specs: Iterable[str]) -> None:
    """Load every baseline once before the search starts: a typo must not surface after hours of trials."""
    for spec in specs:
        fresh_model(spec)


def measure(objective: Any, *, spec: str, name: str) -> dict:
    """One baseline through the trial protocol: same data, budget, timing, training and evaluation.

    Only ``max_step_ms`` is lifted: it keeps the search away from slow candidates, but a slow
    baseline is exactly the one the user wants compared.
    """
    from optimizer.trial.objective import Objective  # Keras: not in the supervisor

    trial = optuna.trial.FixedTrial({})
    budget = dataclasses.replace(objective.budget, max_step_ms=math.inf)
    protocol = Objective(build=lambda hp: fresh_model(spec), split=objective.split, budget=budget)
    row = {"name": name, "model": spec, "state": "COMPLETE"}
    try:
        protocol.evaluate(trial)
    except CandidateFailed as error:
        row |= {"state": "FAIL", "fail_reason": str(error)}
    row |= {k: v for k, v in trial.user_attrs.items() if not isinstance(v, (dict, list))}
    if "step_time_ms" in row:
        row["step_time_first_ms"] = row["step_time_ms"]
    return row | dict(objective.tags)


def stored(study: optuna.Study) -> dict[str, dict]:
    """The baselines measured for this study so far, by name."""
    return dict(study.user_attrs.get(ATTR, {}))


def store(study: optuna.Study, rows: dict[str, dict]) -> None:
    study.set_user_attr(ATTR, rows)


def measure_missing(study: optuna.Study, objective: Any, *, specs: Iterable[str]) -> dict[str, dict]:
    """Measure each spec not yet measured in this study; returns every stored baseline."""
    rows = stored(study)
    known = {row["model"]: name for name, row in rows.items()}
    for spec in specs:
        if spec not in known:
            name = baseline_name(spec, taken=rows)
            rows[name] = known[spec] = measure(objective, spec=spec, name=name)
            store(study, rows)  # after each one: an interrupted run keeps what it measured
    return rows


def baselines_frame(rows: dict[str, dict]) -> pd.DataFrame:
    """One row per baseline, with the trial columns after ``name``."""
    lead = ["name", "model"] + [c for c in LEADING if c not in ("trial", "is_pareto")]
    frame = pd.DataFrame([{k: v for k, v in row.items() if not isinstance(v, (dict, list))} for row in rows.values()])
    return frame.reindex(columns=list(dict.fromkeys(lead + METRICS + list(frame.columns))))


def versus(front: pd.DataFrame, baselines: pd.DataFrame | None) -> pd.DataFrame:
    """``front`` with, for each complete baseline, each member's speed-up (x) and accuracy change (points) against it.

    The speed-up is left empty for a member timed on another device class than the baseline.
    """
    if baselines is None:
        return front
    front = front.copy()
    for b in baselines[baselines["state"] == "COMPLETE"].itertuples():
        same = front["device"] == b.device if "device" in front and isinstance(b.device, str) else True
        front[f"speedup_vs_{b.name}"] = (b.step_time_ms / front["step_time_ms"]).where(same).round(3)
        front[f"points_vs_{b.name}"] = (100 * (front["accuracy"] - b.accuracy)).round(2)
    return front


def dominance_lines(front: pd.DataFrame, baselines: pd.DataFrame) -> list[str]:
    """For each baseline, the front members that dominate it and by how much, fastest first."""
    lines = []
    for b in baselines[baselines["state"] == "COMPLETE"].itertuples():
        acc, ms = b.accuracy, b.step_time_ms
        # Step times compare only within one device class.
        rivals = front[front["device"] == b.device] if "device" in front and "device" in baselines else front
        better = dominating(rivals, accuracy=acc, step_time_ms=ms)
        if better.empty:
            lines.append(f"baseline {b.name}: no front member dominates it ({acc:.4f} accuracy, {ms:.3g} ms per step).")
            continue
        lines.append(f"baseline {b.name} ({acc:.4f} accuracy, {ms:.3g} ms per step) is dominated by:")
        lines += [
            f"  trial {int(t.trial)}: {_comparison(t, acc=acc, ms=ms)}"
            for t in better.sort_values("step_time_ms").itertuples()
        ]
    return lines


def _comparison(member: Any, *, acc: float, ms: float) -> str:
    return f"{ms / member.step_time_ms:.1f}x faster per step at {100 * (member.accuracy - acc):+.1f} points of accuracy"
