"""Engine benchmark: which search engine finds a better accuracy / step-time front sooner?

Runs ``archopt search`` once per engine and seed, each for the same wall-clock budget on the
same space, data and training budget, then reports for every run the hypervolume of the front
found so far against elapsed time, and the per-trial orchestration overhead: the wall time
between one trial's start and the next one's that the trial's own work (build, timing,
training, evaluation) does not account for, i.e. sampler, storage, KerasTuner's oracle and
files, and archopt's per-trial outputs.

Resumable: a finished run leaves ``done`` in its folder and is not run again; the CSV, plot and verdict
(``engines.txt``, stamped with the command, commit and date) are rewritten after every run. Usage, from the
repository root::

    python -m benchmarks.engines --budget-s 240 --seeds 0 1 2 --out results/benchmarks   # about 65 minutes
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.harness import DONE, run_search, run_study, stamp, write_output
from benchmarks.hypervolume import MAX_STEP_MS, hypervolume

ENGINES = {
    "optuna-tpe": ["--sampler", "tpe"],
    "optuna-nsga2": ["--sampler", "nsga2"],
    "optuna-gp": ["--sampler", "gp"],
    "random": ["--sampler", "random"],
    "kt-bayesian": ["--engine", "keras-tuner", "--tuner", "bayesian"],
}
# Small enough for about 40 trials per 4-minute run on a 2-core CPU (~6 s a trial), with enough
# training (60 steps of 32 images) that accuracy separates good candidates from bad. Every trial in
# one process, as the KerasTuner engine runs them, so that worker restarts (--trials-per-process) do
# not weigh on one engine only.
SEARCH = [
    "--dataset", "fashion_mnist", "--space", "search_spaces.examples:TinyCNN", "--batch-size", "32",
    "--train-steps", "60", "--train-size", "1000", "--val-size", "500", "--timing-s", "0.1",
    "--max-step-ms", str(MAX_STEP_MS), "--trials", "100000", "--no-progress", "--trials-per-process", "0",
]
PHASES = ["build_s", "timing_s", "train_s", "eval_s"]
COLUMNS = ["engine", "seed", "elapsed_s", "trials", "hypervolume", "overhead_s_per_trial", "outside_timing_training_s"]


def run_one(engine: str, seed: int, *, budget_s: float, runs: Path) -> Path:
    """One search run in its own process (fresh Keras state), unless a finished one is there."""
    return run_search(runs / f"{engine}-seed{seed}", log=runs / f"{engine}-seed{seed}.log",
                      args=[*SEARCH, *ENGINES[engine], "--seed", str(seed), "--timeout", str(budget_s)])


def trials_of(folder: Path) -> pd.DataFrame:
    """A run's trials, start-ordered: start/end seconds since its first trial started, state, objectives, phases."""
    trials = sorted(run_study(folder).get_trials(deepcopy=False), key=lambda t: t.datetime_start)
    t0 = trials[0].datetime_start
    return pd.DataFrame([{
        "start": (t.datetime_start - t0).total_seconds(),
        "end": (t.datetime_complete - t0).total_seconds() if t.datetime_complete else np.nan,
        "state": t.state.name,
        "accuracy": t.values[0] if t.values else np.nan,
        "step_ms": t.values[1] if t.values else np.nan,
        "work_s": sum(t.user_attrs.get(p, np.nan) for p in PHASES),
        "timing_train_s": sum(t.user_attrs.get(p, np.nan) for p in ("timing_s", "train_s")),
    } for t in trials])


def overhead_per_trial(trials: pd.DataFrame, *, work: str = "work_s") -> float:
    """Median over complete trials of (next trial's start - this one's start - this trial's own ``work``)."""
    gaps = trials["start"].shift(-1) - trials["start"] - trials[work]
    return float(gaps[trials["state"] == "COMPLETE"].dropna().median())


def curve(trials: pd.DataFrame, *, budget_s: float, every_s: float) -> pd.DataFrame:
    """Hypervolume of the complete trials finished by each checkpoint."""
    done = trials[trials["state"] == "COMPLETE"]
    rows = []
    for elapsed in np.arange(every_s, budget_s + every_s / 2, every_s):
        seen = done[done["end"] <= elapsed]
        rows.append(
            {
                "elapsed_s": float(elapsed),
                "trials": len(seen),
                "hypervolume": hypervolume(seen["accuracy"], seen["step_ms"]),
            }
        )
    return pd.DataFrame(rows)


def summarize(runs: Path, *, budget_s: float, every_s: float) -> pd.DataFrame:
    frames = []
    for folder in sorted(p for p in runs.iterdir() if (p / DONE).exists() and (p / "study.db").exists()):
        engine, _, seed = folder.name.rpartition("-seed")
        trials = trials_of(folder)
        frame = curve(trials, budget_s=budget_s, every_s=every_s)
        frames.append(frame.assign(
            engine=engine, seed=int(seed), overhead_s_per_trial=round(overhead_per_trial(trials), 4),
            # The broader reading: everything but timing and training, i.e. also building and
            # evaluating the model.
            outside_timing_training_s=round(overhead_per_trial(trials, work="timing_train_s"), 4),
        ))
    return pd.concat(frames)[COLUMNS] if frames else pd.DataFrame(columns=COLUMNS)


def plot(frame: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bars) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [2, 1]})
    for engine, group in frame.groupby("engine"):
        by_time = group.groupby("elapsed_s")["hypervolume"]
        line = ax.plot(
            by_time.median().index, by_time.median().values, label=f"{engine} (n={group['seed'].nunique()})"
        )[0]
        ax.fill_between(
            by_time.min().index, by_time.min().values, by_time.max().values, color=line.get_color(), alpha=0.15
        )
    ax.set(
        xlabel="wall-clock since the first trial (s)",
        ylabel="hypervolume (normalized)",
        title="Front quality over time: median, min-max over seeds",
    )
    ax.legend(fontsize=8)
    overhead = frame.groupby("engine")["overhead_s_per_trial"].median().sort_values()
    bars.barh(overhead.index, overhead.values)
    bars.set(xlabel="orchestration overhead per trial (s, median)", title="Per-trial overhead")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-s", type=float, default=240.0, help="wall-clock per run (default: %(default)s)")
    parser.add_argument("--every-s", type=float, default=10.0, help="hypervolume checkpoints (default: %(default)s)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=list(ENGINES))
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks"))
    parser.add_argument("--summarize-only", action="store_true", help="rewrite the CSV and plot from finished runs")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    runs = args.out / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    header = stamp(module="benchmarks.engines", argv=argv)
    with (args.out / "commands.log").open("a") as log:  # every sitting's command, commit and date
        log.write(header)
    # Seed-major order: an interrupted benchmark still has every engine on its first seeds.
    jobs = [] if args.summarize_only else [(e, s) for s in args.seeds for e in args.engines]
    for engine, seed in jobs:
        print(f"{time.strftime('%H:%M:%S')} {engine} seed {seed}", flush=True)
        run_one(engine, seed, budget_s=args.budget_s, runs=runs)
        write(runs, out=args.out, budget_s=args.budget_s, every_s=args.every_s, header=header)
    write(runs, out=args.out, budget_s=args.budget_s, every_s=args.every_s, header=header)
    if (args.out / "engines.txt").exists():
        print((args.out / "engines.txt").read_text(), end="")
    return 0


def write(runs: Path, *, out: Path, budget_s: float, every_s: float, header: str) -> None:
    """The CSV, the plot and the verdict (``engines.txt``, under ``header``) from the finished runs."""
    frame = summarize(runs, budget_s=budget_s, every_s=every_s)
    frame.to_csv(out / "engines.csv", index=False)
    if len(frame):
        plot(frame, out / "engines.png")
        write_output(out / "engines.txt", verdict(frame), header=header)


def verdict(
    frame: pd.DataFrame, *, default: str = "optuna-tpe", baseline: str = "random", kt: str = "kt-bayesian"
) -> str:
    """The issue's two targets, read off the table: time to random search's final median hypervolume, overhead ratio."""
    end = frame[frame["elapsed_s"] == frame["elapsed_s"].max()].groupby("engine")
    lines = [
        f"{e}: {g['seed'].nunique()} seeds, complete trials median {g['trials'].median():.0f}, "
        f"final hypervolume median "
        f"{g['hypervolume'].median():.3f} [{g['hypervolume'].min():.3f}, {g['hypervolume'].max():.3f}], overhead "
        f"{g['overhead_s_per_trial'].median():.3f} s/trial ({g['outside_timing_training_s'].median():.2f} s with build "
        f"and evaluation)"
        for e, g in end
    ]
    medians = frame.groupby(["engine", "elapsed_s"])["hypervolume"].median()
    if {default, baseline} <= set(frame["engine"]):
        target, curve = medians[baseline].iloc[-1], medians[default]
        reached = curve[curve >= target].index.min()
        budget = frame["elapsed_s"].max()
        when = (
            f"at {reached:.0f} s, {reached / budget:.2f} of the {budget:.0f} s"
            if pd.notna(reached)
            else f"not within {budget:.0f} s"
        )
        lines.append(
            f"{default}'s median reaches {baseline}'s final median hypervolume ({target:.3f}) "
            f"{when} (target: at most 0.50)"
        )
    overhead = frame.groupby("engine")["overhead_s_per_trial"].median()
    if {default, kt} <= set(overhead.index):
        lines.append(f"overhead {kt} / {default}: {overhead[kt] / overhead[default]:.1f}x (target: at least 5x)")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
