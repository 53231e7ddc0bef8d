"""The end-of-search summary printed to the terminal."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from optimizer.errors import ArchoptError
from optimizer.results.baselines import FILE, dominance_lines
from optimizer.results.front import floor_words, num_classes, pareto_frame, useful_front
from optimizer.study import run_config

COLUMNS = ["trial", "accuracy", "step_time_ms", "params", "macs"]
DRIFT_NOTE = ("Step times drift between runs while their ratios hold: compare within this run, and against a baseline "
              "as a ratio from the same re-timing.")


def print_summary(frame: pd.DataFrame, *, run_dir: Path) -> None:
    states = frame["state"].value_counts() if len(frame) else pd.Series(dtype=int)
    complete = int(states.get("COMPLETE", 0))
    print(f"{len(frame)} trials in {run_dir}: {complete} complete, {int(states.get('FAIL', 0))} failed.")
    repeats = int(frame["repeat_of"].notna().sum()) if "repeat_of" in frame else 0
    if repeats:
        print(f"{repeats} repeated an earlier trial's architecture and took its result, untrained (column repeat_of).")
    _print_rungs(frame, pruned=int(states.get("PRUNED", 0)) - repeats)
    if complete == 0:
        reasons = frame.get("fail_reason", pd.Series(dtype=str)).dropna()
        why = reasons.mode().iloc[0] if len(reasons) else "no candidate was tried"
        raise ArchoptError(f"no trial completed; most often: {why}")
    front, floor = useful_front(frame, num_classes=num_classes(_dataset(run_dir)))
    under = int(frame["is_pareto"].sum()) - len(front)
    print(f"Pareto front ({len(front)} trials, most accurate first; {floor_words(under=under, floor=floor)}: "
          "left out of pareto.csv, kept in trials.csv):")
    print(front[COLUMNS].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    _print_baselines(pareto_frame(frame), run_dir=run_dir)
    print(DRIFT_NOTE)
    print(f"Results: {run_dir / 'trials.csv'}, {run_dir / 'pareto.csv'}, {run_dir / 'pareto.png'}")


def _dataset(run_dir: Path) -> str | None:
    """The run's dataset, from its run.json (None where there is none: the floor then assumes ten classes)."""
    return run_config.recorded(run_dir).dataset if (Path(run_dir) / run_config.FILE).is_file() else None


def _print_baselines(front: pd.DataFrame, *, run_dir: Path) -> None:
    """Which front members dominate each baseline, and by how much (from the baselines.csv just written)."""
    if (run_dir / FILE).is_file():
        print("\n".join(dominance_lines(front, pd.read_csv(run_dir / FILE))))


def _print_rungs(frame: pd.DataFrame, *, pruned: int) -> None:
    """Successive halving: how many candidates each rung has seen, and how many stopped below the top one."""
    from optimizer.trial.halving import rung_counts

    columns = {c: int(frame[c].notna().sum()) for c in frame.columns if c.startswith("accuracy_") and c[9:].isdigit()}
    if len(columns) > 1:  # trials.csv keeps one column per rung only where there are several
        print(f"Candidates per rung: {rung_counts(columns=columns)}; {pruned} stopped before the top rung.")
