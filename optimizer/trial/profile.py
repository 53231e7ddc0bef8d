"""Where a trial's seconds go: one candidate run through the search's own ``Objective.evaluate``, its phases read back.

The trial records its phases as it runs (``<phase>_s``, the timing's ``step_time_*_s``, ``fixed_s``); the profile
runs the real trial on a ``FixedTrial`` and tabulates those records, so it cannot drift from what a trial does.
"""

from __future__ import annotations

from typing import Any

import optuna

from optimizer.trial.objective import Objective

# (column, the trial's record it reads); ``warmup``: the timing's warm-up calls after the trace
PARTS = {"sample": "sample_s", "build": "build_s", "trace": "step_time_trace_s", "warmup": "step_time_warmup_s",
         "timed": "step_time_timed_s", "train": "train_s", "eval": "eval_s", "fixed": "fixed_s"}


def profile_candidate(objective: Objective, params: dict[str, Any]) -> dict[str, float]:
    """Seconds of each of ``PARTS`` of one trial of the candidate ``params``, with its ``macs`` and ``step_ms``.

    ``fixed`` is the trial's own ``fixed_s``: its wall time outside the timed loop and the training steps.
    """
    trial = optuna.trial.FixedTrial(params)
    objective.evaluate(trial)
    attrs = trial.user_attrs
    seconds = {part: float(attrs.get(key, 0.0)) for part, key in PARTS.items()}
    seconds["warmup"] = round(seconds["warmup"] - seconds["trace"], 4)  # the trace is part of the warm-up
    return seconds | {"macs": attrs["macs"], "step_ms": round(attrs["step_time_ms"], 3)}


def format_profile(profiles: dict[str, dict[str, float]]) -> str:
    """A table: one row per named candidate, one column per part (``fixed``: all but the timed and training steps)."""
    header = f"{'candidate':<10}{'MACs':>12}{'step ms':>9}" + "".join(f"{p:>9}" for p in PARTS)
    lines = [header, "-" * len(header)]
    for name, row in profiles.items():
        cells = "".join(f"{row[p]:>9.3f}" for p in PARTS)
        lines.append(f"{name:<10}{int(row['macs']):>12,}{row['step_ms']:>9.2f}{cells}")
    lines.append("seconds, as the trial records them (trials.csv's *_s columns); train: the steps timing left")
    return "\n".join(lines)
