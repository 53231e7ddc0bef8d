"""Where a trial's seconds go: the trial's own steps, one by one, under a timer each.

The search records five coarse phases per trial (sample, build, timing, train, eval). To cut a trial's fixed cost one
has to know what inside them costs: Keras' reset, the space's build, the cost counts, the first (tracing) train call,
the calibration calls, the timed loop, the rest of the training, and the evaluation. ``profile_candidate`` runs one
candidate through the same functions a trial runs, timing each; ``format_profile`` prints a table of several.
"""

from __future__ import annotations

import time
from typing import Any

import optuna

from optimizer.measure import memory
from optimizer.space.candidate import compile_default, reset_keras
from optimizer.space.hparams import OptunaHyperParameters
from optimizer.trial.evaluation import score
from optimizer.trial.objective import Objective, deferred_build, model_costs, train, train_on

PARTS = ("reset", "build", "costs", "memory", "allocate", "trace", "warmup", "timed", "train", "eval")


def profile_candidate(objective: Objective, params: dict[str, Any]) -> dict[str, float]:
    """Seconds of each part (``PARTS``) of one trial of the candidate ``params``, run as the search runs it.

    ``warmup`` excludes the tracing call, ``timed`` is the timed loop (on the training stream its steps are part of the
    budget), ``train`` the budget's remaining steps (``train_on``; all of ``fit`` after timing on fixed batches),
    ``eval`` the batch-norm statistics and the validation pass, ``reset`` is Keras' reset with its garbage collection.
    Also returns ``macs`` and the measured ``step_ms``.
    """
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = round(seconds.get(name, 0.0) + now - clock, 4)
        clock = now

    hp = OptunaHyperParameters(optuna.trial.FixedTrial(params))
    reset_keras()
    lap("reset")
    model = deferred_build(objective.build)(hp)  # what build_candidate does after its reset
    compile_default(model)
    lap("build")
    macs = model_costs(model)["macs"]
    lap("costs")
    memory.check_fits(model, batch_size=objective.budget.batch_size)
    objective.screen(macs)
    lap("memory")
    memory.allocate_variables()
    lap("allocate")
    stream, step = objective.time_training(model)
    seconds["trace"] = round(step.trace_s, 4)
    seconds["warmup"] = round(step.warmup_s - step.trace_s, 4)
    seconds["timed"] = round(step.timed_s, 4)
    clock = time.perf_counter()
    if stream is None:
        train(model, objective.split, budget=objective.budget)
    else:
        train_on(model, stream, steps=objective.budget.train_steps - step.budget_steps)
    lap("train")
    score(model, objective.split, batch_size=objective.budget.batch_size)
    lap("eval")
    return {part: seconds[part] for part in PARTS} | {"macs": macs, "step_ms": round(step.median_ms, 3)}


def format_profile(profiles: dict[str, dict[str, float]]) -> str:
    """A table: one row per named candidate, one column per part, then the fixed total (all but timed and train)."""
    header = f"{'candidate':<10}{'MACs':>12}{'step ms':>9}" + "".join(f"{p:>9}" for p in PARTS) + f"{'fixed':>9}"
    lines = [header, "-" * len(header)]
    for name, row in profiles.items():
        fixed = sum(row[p] for p in PARTS if p not in ("timed", "train"))
        cells = "".join(f"{row[p]:>9.3f}" for p in PARTS)
        lines.append(f"{name:<10}{int(row['macs']):>12,}{row['step_ms']:>9.2f}{cells}{fixed:>9.3f}")
    lines.append("seconds; fixed = all parts but the timed loop and the training steps (train: the steps timing left)")
    return "\n".join(lines)

