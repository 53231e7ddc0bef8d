"""The run folder's results: trials.csv, pareto.csv and pareto.png, rewritten after every trial."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import optuna
import pandas as pd

LEADING = ["trial", "state", "accuracy", "step_time_ms", "params", "macs", "is_pareto"]
METRICS = [
    "step_time_iqr_ms", "step_time_mad_ms", "step_time_cv", "step_time_steps",
    "build_s", "timing_s", "train_s", "eval_s", "duration_s", "device", "host", "fail_reason",
]


def pareto_numbers(study: optuna.Study) -> set[int]:
    """Numbers of the non-dominated complete trials, as Optuna itself defines them."""
    return {t.number for t in study.best_trials}


def trials_frame(trials: Sequence[optuna.trial.FrozenTrial], *, pareto: set[int]) -> pd.DataFrame:
    """One row per trial: the fixed leading columns, then one column per knob, then the measurements."""
    rows = [_row(t, pareto=pareto) for t in trials]
    knobs = list(dict.fromkeys(k for t in trials for k in t.params))
    frame = pd.DataFrame(rows, columns=list(dict.fromkeys(LEADING + knobs + METRICS + [c for r in rows for c in r])))
    return frame.astype({"is_pareto": bool})


def _row(trial: optuna.trial.FrozenTrial, *, pareto: set[int]) -> dict:
    attrs = trial.user_attrs
    row = {"trial": trial.number, "state": trial.state.name, "is_pareto": trial.number in pareto}
    if trial.values:
        row["accuracy"], row["step_time_ms"] = trial.values
    row |= {k: v for k, v in attrs.items() if k not in row and not isinstance(v, (dict, list))}
    row |= trial.params
    if trial.duration is not None:
        row["duration_s"] = round(trial.duration.total_seconds(), 3)
    return row


def pareto_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The non-dominated rows, fastest first."""
    return frame[frame["is_pareto"]].sort_values(["step_time_ms", "accuracy"], ascending=[True, False])


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write through a temporary file so a run killed mid-write leaves the previous file intact."""
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_csv(tmp, index=False)
    os.replace(tmp, path)


def write_outputs(study: optuna.Study, run_dir: Path) -> pd.DataFrame:
    """Rewrite trials.csv, pareto.csv and pareto.png from the study; returns the trials frame."""
    from optimizer.plot import plot_front

    frame = trials_frame(study.get_trials(deepcopy=False), pareto=pareto_numbers(study))
    write_csv(frame, run_dir / "trials.csv")
    write_csv(pareto_frame(frame), run_dir / "pareto.csv")
    plot_front(frame, run_dir / "pareto.png", title=study.study_name)
    return frame
