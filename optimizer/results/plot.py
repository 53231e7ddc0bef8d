"""pareto.png: every complete trial, and the front drawn through the non-dominated ones."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

# The object-oriented API draws with Agg, without pyplot's global state or a display (headless).
from matplotlib.figure import Figure


def plot_front(frame: pd.DataFrame, path: Path, *, title: str = "", baselines: pd.DataFrame | None = None) -> None:
    """Accuracy against step time (log scale); the front is a staircase: between two members nothing better is known."""
    done = frame[frame["state"] == "COMPLETE"]
    front = done[done["is_pareto"]].sort_values("step_time_ms")
    fig = Figure(figsize=(7, 4.5), dpi=110)
    ax = fig.subplots()
    ax.scatter(done["step_time_ms"], done["accuracy"], s=14, color="0.7", label=f"trials ({len(done)})")
    ax.step(front["step_time_ms"], front["accuracy"], where="post", color="tab:red", lw=1.2)
    ax.scatter(
        front["step_time_ms"], front["accuracy"], s=28, color="tab:red", label=f"Pareto front ({len(front)})", zorder=3
    )
    for _, row in front.loc[labelled(front, span=done)].iterrows():
        ax.annotate(
            str(int(row["trial"])),
            (row["step_time_ms"], row["accuracy"]),
            fontsize=7,
            xytext=(3, -9),
            textcoords="offset points",
        )
    if baselines is not None and len(baselines):
        ax.scatter(
            baselines["step_time_ms"],
            baselines["accuracy"],
            marker="*",
            s=120,
            color="tab:blue",
            label="baselines",
            zorder=4,
        )
        for _, row in baselines.iterrows():
            ax.annotate(
                str(row["name"]),
                (row["step_time_ms"], row["accuracy"]),
                fontsize=8,
                xytext=(4, 4),
                textcoords="offset points",
            )
    if len(done):
        ax.set_xscale("log")
    ax.set_xlabel("training step time (ms, median)")
    ax.set_ylabel("validation accuracy")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp)
    os.replace(tmp, path)


def labelled(front: pd.DataFrame, *, span: pd.DataFrame, gap: tuple[float, float] = (0.06, 0.05)) -> list:
    """The front members whose trial numbers fit on the plot without overlapping: from the most accurate (always
    labelled) toward the fastest, a member is skipped when its label would fall within ``gap`` (fractions of the
    axes' width on the log scale and of their height, spanned by ``span``) of the last one labelled."""
    if not len(front):
        return []
    x, y = np.log10(span["step_time_ms"].astype(float)), span["accuracy"].astype(float)
    width, height = (x.max() - x.min()) or 1.0, (y.max() - y.min()) or 1.0
    kept, last = [], None
    for index, row in front.sort_values("step_time_ms", ascending=False).iterrows():
        at = (np.log10(float(row["step_time_ms"])) / width, float(row["accuracy"]) / height)
        if last is None or abs(at[0] - last[0]) >= gap[0] or abs(at[1] - last[1]) >= gap[1]:
            kept.append(index)
            last = at
    return kept
