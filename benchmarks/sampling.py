"""What each Optuna sampler spends proposing a candidate, replayed on the engine benchmark's own trial histories.

Optuna samples lazily, at a trial's first ``suggest`` call, which archopt made inside the build phase until the
engine benchmark of 2026-11-22 had run: that benchmark's ``overhead_s_per_trial`` leaves the sampler out for the
Optuna engines (KerasTuner's oracle proposes before the trial starts, so its cost is in). This script measures
the missing part: for every trial of each finished Optuna run, the time to propose it given the trials that had
finished before it (its start). Trials now record it themselves (``sample_s``), outside the build phase. Usage::

    python -m benchmarks.sampling --runs results/benchmarks/runs
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import optuna

from benchmarks.harness import DONE, add_out, run_study, stamp, write_output
from optimizer.study.samplers import make_sampler
from optimizer.study.study import DIRECTIONS


def proposal_seconds(trials: list[optuna.trial.FrozenTrial], *, sampler: str, seed: int) -> list[float]:
    """Seconds to propose each trial again (relative sampling, then its knobs) from the trials finished before it."""
    seconds = []
    for trial in trials:
        done = [t for t in trials if t.datetime_complete and t.datetime_complete <= trial.datetime_start]
        study = optuna.create_study(directions=list(DIRECTIONS), sampler=make_sampler(sampler, seed=seed))
        study.add_trials(done)
        fresh = study.ask()
        start = time.perf_counter()
        _ = fresh.relative_params
        for name, distribution in trial.distributions.items():  # the knobs the original asked, in its order
            _suggest(fresh, name, distribution)
        seconds.append(time.perf_counter() - start)
    return seconds


def _suggest(trial: optuna.Trial, name: str, distribution: optuna.distributions.BaseDistribution) -> None:
    if isinstance(distribution, optuna.distributions.IntDistribution):
        trial.suggest_int(name, distribution.low, distribution.high, step=distribution.step, log=distribution.log)
    elif isinstance(distribution, optuna.distributions.FloatDistribution):
        trial.suggest_float(name, distribution.low, distribution.high, step=distribution.step, log=distribution.log)
    else:
        trial.suggest_categorical(name, distribution.choices)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=Path("results/benchmarks/runs"))
    parser.add_argument("--samplers", nargs="+", default=["tpe", "nsga2", "gp", "random"])
    add_out(parser, default=Path("results/benchmarks/sampling.txt"))
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(
        optuna.logging.ERROR
    )  # GPSampler warns for every conditional knob it samples at random
    lines = []
    for name in args.samplers:
        per_run = []
        for folder in sorted(args.runs.glob(f"*{name}-seed*")):
            if not (folder / DONE).exists() or folder.name.startswith("kt-"):
                continue
            trials = run_study(folder).get_trials(deepcopy=False)
            seed = int(folder.name.rpartition("-seed")[2])
            per_run.append(float(np.median(proposal_seconds(trials, sampler=name, seed=seed))))
        if per_run:
            lines.append(f"{name}: proposal time per trial, median over each run's trials: "
                         + ", ".join(f"{s:.3f}" for s in per_run) + f" s (median of runs {np.median(per_run):.3f} s)")
            print(lines[-1], flush=True)
    write_output(args.out, "\n".join(lines), header=stamp(module="benchmarks.sampling", argv=argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
