"""The run folder's results: trials.csv, pareto.csv, pareto.png and report.html, rewritten as trials end."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
import optuna
import pandas as pd

from optimizer.errors import ArchoptError
from optimizer.results import baselines as baseline_rows
from optimizer.results import front, html_report
from optimizer.results.front import FINAL, LEADING, METRICS, num_classes, useful_front
from optimizer.results.plot import plot_front
from optimizer.results.throttle import written_within


def pareto_numbers(study: optuna.Study) -> set[int]:
    """Numbers of the complete trials on their device class's front; their stored values are the re-timed ones."""
    return front.pareto_numbers(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))


def for_device(frame: pd.DataFrame, device: str | None) -> pd.DataFrame:
    """The rows of one device class (all rows for None); an unknown class names the ones there are."""
    if device is None:
        return frame
    known = sorted(frame["device"].dropna().unique()) if "device" in frame else []
    if device not in known:
        raise ArchoptError(
            f"no trial ran on device {device!r}; this run's devices are: {', '.join(map(repr, known)) or 'none'}."
        )
    return frame[frame["device"] == device]


def trials_frame(trials: Sequence[optuna.trial.FrozenTrial], *, pareto: set[int]) -> pd.DataFrame:
    """One row per trial: the fixed leading columns, then one column per knob, then the measurements.

    ``step_time_ms`` is the trial's stored value (re-timed, if the front was); the first measurement stays in
    ``step_time_first_ms``.
    """
    rows = [_row(t, pareto=pareto) for t in trials]
    _explain_stale_failures(rows, trials)
    knobs = knobs_in_order(trials)
    final = [c for c in FINAL if any(c in r for r in rows)]
    columns = LEADING + final + knobs + METRICS + [c for r in rows for c in r]
    frame = pd.DataFrame(rows, columns=list(dict.fromkeys(columns)))
    return _without_duplicates(frame).astype({"is_pareto": bool})


def _without_duplicates(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop the columns that repeat another in every trial by construction: the first timing's median
    (``step_time_median_ms``, which ``step_time_first_ms`` is), and the one rung's accuracy of a run without
    successive halving (``accuracy``, where a complete trial is scored); with several rungs each stays."""
    rungs = [c for c in frame.columns if c.startswith("accuracy_") and c[len("accuracy_"):].isdigit()]
    duplicates = ["step_time_median_ms"] + (rungs if len(rungs) == 1 else [])
    return frame.drop(columns=[c for c in duplicates if c in frame])


def knobs_in_order(trials: Sequence[optuna.trial.FrozenTrial]) -> list[str]:
    """Every knob once, in the order the space asks for them: a knob first met in a later trial (``filters_5`` of the
    first five-block network) goes right after the knob asked before it in that trial, not after all the others."""
    knobs: list[str] = []
    for trial in trials:
        at = 0
        for knob in trial.params:  # in the order the trial suggested them
            if knob not in knobs:
                knobs.insert(at, knob)
            at = knobs.index(knob) + 1
    return knobs


def _explain_stale_failures(rows: list[dict], trials: Sequence[optuna.trial.FrozenTrial]) -> None:
    """Give a reason to trials Optuna failed for a stale heartbeat.

    Optuna fails them itself, before the next trial, and a finished trial takes no more attributes; its retry, though,
    records ``retry_of``, which says what happened.
    """
    retries = {t.user_attrs["retry_of"]: t.number for t in trials if "retry_of" in t.user_attrs}
    for row in rows:
        if row["state"] == "FAIL" and not row.get("fail_reason") and row["trial"] in retries:
            row["fail_reason"] = (
                f"its worker stopped sending heartbeats (killed or lost); retried as trial {retries[row['trial']]}."
            )


def _row(trial: optuna.trial.FrozenTrial, *, pareto: set[int]) -> dict:
    attrs = trial.user_attrs
    row = {"trial": trial.number, "state": trial.state.name, "is_pareto": trial.number in pareto}
    if trial.values:
        row["accuracy"], row["step_time_ms"] = trial.values
        row["step_time_first_ms"] = attrs.get("step_time_first_ms", row["step_time_ms"])
    row |= {k: v for k, v in attrs.items() if k not in row and not isinstance(v, (dict, list))}
    row |= trial.params
    if trial.duration is not None:
        row["duration_s"] = round(trial.duration.total_seconds(), 3)
    return row


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write through a temporary file so a run killed mid-write leaves the previous file intact."""
    tmp = path.with_name(f".{path.name}.tmp")
    whole_numbers_as_integers(frame).to_csv(tmp, index=False)
    os.replace(tmp, path)


def whole_numbers_as_integers(frame: pd.DataFrame) -> pd.DataFrame:
    """Float columns whose values are all whole numbers as pandas' nullable integers, so a CSV reads 314, not 314.0
    (Optuna stores every number as a float; a column with gaps, such as ``repeat_of``, cannot be numpy's int64)."""
    floats = frame.select_dtypes("float")
    whole = [c for c in floats if np.isfinite(floats[c].dropna()).all() and (floats[c].dropna() % 1 == 0).all()]
    return frame.astype({column: "Int64" for column in whole})


def write_outputs(study: optuna.Study, run_dir: Path, *, throttle: bool = False) -> pd.DataFrame | None:
    """Rewrite trials.csv, pareto.csv, pareto.png, report.html (and baselines.csv) from the study; returns the frame.

    With ``throttle`` (after each trial of a search) nothing is written, and None returned, within
    OUTPUTS_MIN_INTERVAL_S of the last write, and the plot only when ``_plot_is_stale``: trials of a few seconds
    would otherwise spend a tenth of their time rewriting files. A search's last write is never throttled.
    """
    if throttle and written_within(run_dir / "trials.csv", seconds=OUTPUTS_MIN_INTERVAL_S):
        return None
    frame = trials_frame(study.get_trials(deepcopy=False), pareto=pareto_numbers(study))
    write_csv(frame, run_dir / "trials.csv")
    stored = baseline_rows.stored(study)
    baselines = baseline_rows.baselines_frame(stored) if stored else None
    kept, _ = useful_front(frame, num_classes=num_classes(study.user_attrs.get("dataset")))
    write_csv(baseline_rows.versus(kept, baselines), run_dir / "pareto.csv")
    if baselines is not None:
        write_csv(baselines, run_dir / baseline_rows.FILE)
    if not throttle or _plot_is_stale(frame, run_dir / "pareto.png"):
        plot_front(frame, run_dir / "pareto.png", title=plot_title(run_dir, study.study_name),
                   baselines=_complete(baselines))
    html_report.write_report(study, run_dir, frame=frame, baselines=baselines, throttle=throttle)  # slower cadence
    return frame


OUTPUTS_MIN_INTERVAL_S = 10
_FRONTS_DRAWN: dict[Path, tuple] = {}
PLOT_REFRESH_S = 300
PLOT_MIN_INTERVAL_S = 30


def _plot_is_stale(frame: pd.DataFrame, path: Path) -> bool:
    """Whether the plot misses a change of the front or is older than PLOT_REFRESH_S; never before PLOT_MIN_INTERVAL_S.

    Drawing takes 0.5-1 s, as long as a small trial's bookkeeping: after every trial it would slow the search (tiny
    trials change the front every few seconds), so the picture is redrawn at most twice a minute, when it would show a
    different front (the CSVs: see ``write_outputs``). The run's last write always draws.
    """
    front = tuple(frame.loc[frame["is_pareto"], ["trial", "accuracy", "step_time_ms"]].itertuples(index=False))
    if written_within(path, seconds=PLOT_MIN_INTERVAL_S) or (
        written_within(path, seconds=PLOT_REFRESH_S) and _FRONTS_DRAWN.get(path) == front
    ):
        return False
    _FRONTS_DRAWN[path] = front
    return True


def _complete(baselines: pd.DataFrame | None) -> pd.DataFrame | None:
    return None if baselines is None else baselines[baselines["state"] == "COMPLETE"]


def plot_title(run_dir: Path, study_name: str) -> str:
    """The run folder's name (a copied folder is titled as the copy), and the study's where a fleet shares it."""
    folder = Path(run_dir).resolve().name
    return folder if folder == study_name else f"{folder} (study {study_name})"
