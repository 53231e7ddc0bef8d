"""Resident memory over a long search: 300 trials of the default space at a tiny budget, RSS after every 20.

The figure to hold: RSS after trial 300 within 10% of RSS after trial 40 (KerasTuner users report about
1 GB more per 20 trials). Run: python benchmarks/memory.py [--trials 300] [--out /tmp/archopt-memory]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from optuna.trial import TrialState

from optimizer import assemble, report as outputs
from optimizer.errors import CandidateFailed
from optimizer.objective import Budget
from optimizer.run_config import RunConfig

EVERY = 20


def rss_mb() -> float:
    """Resident memory now (not the peak): VmRSS of /proc/self/status."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--out", type=Path, default=Path("/tmp/archopt-memory"))
    args = parser.parse_args(argv)
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    config = RunConfig(
        dataset="fashion_mnist", space="default", storage=f"sqlite:///{args.out.resolve() / 'study.db'}", study="memory",
        val_size=200, train_size=500, budget=Budget(batch_size=32, train_steps=5, timing_s=0.05, max_step_ms=200),
    )
    study = assemble.study_for(config, sampler="random")
    objective = assemble.objective_for(config)
    print(f"{'trials':>6} {'complete':>8} {'rss_mb':>8} {'elapsed_s':>9}", flush=True)
    start, marks = time.monotonic(), {}

    def report(study, trial) -> None:
        outputs.write_outputs(study, args.out)  # as `archopt search` does after every trial (CSVs and plot)
        if (trial.number + 1) % EVERY == 0:
            marks[trial.number + 1] = rss_mb()
            done = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
            print(f"{trial.number + 1:>6} {done:>8} {marks[trial.number + 1]:>8.0f} {time.monotonic() - start:>9.0f}", flush=True)

    study.optimize(objective, n_trials=args.trials, catch=(CandidateFailed,), callbacks=[report], gc_after_trial=False)
    if 40 in marks and args.trials in marks:
        growth = marks[args.trials] / marks[40] - 1
        print(f"RSS after trial {args.trials} vs 40: {growth:+.1%} (target: within 10%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
