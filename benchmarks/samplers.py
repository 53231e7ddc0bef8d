"""Sampler benchmark (issue 27): which sampler, each with the de-duplication, finds the better front in the same time?

Runs the default ``archopt search`` (default space, data and training budget) once per sampler and seed with
``--sampler S --seed N --timeout BUDGET``, every run for the same wall clock, alone on the machine. Reports, per run,
the hypervolume of the front found so far against elapsed time (``benchmarks.hypervolume``: its fixed reference point,
chance accuracy and 200 ms a step) and the run's repeats and distinct networks (``benchmarks.night.run_counts``).
Samplers: tpe, nsga2, random, and gp where PyTorch and SciPy import.

Resumable as ``benchmarks.engines`` is: a finished run leaves ``done`` in its folder and is not run again; the CSVs,
plot and verdict are rewritten after every run. Usage, from the repository root (needs moocore: ``.[bench]``)::

    python -m benchmarks.samplers --budget-s 1800 --seeds 0 1 2 --out results/benchmarks/samplers
    # 12 runs of 30 minutes with gp, 9 without: about 6 or 4.5 hours
"""

from __future__ import annotations

import argparse
import importlib.util
import shlex
import sys
import time
from pathlib import Path
from typing import Callable

import pandas as pd

from benchmarks.engines import curve, overhead_per_trial, plot, trials_of
from benchmarks.harness import stamp
from benchmarks.night import finished_runs, run_counts, run_search

SAMPLERS = ("tpe", "nsga2", "random")
GP = "gp"
DEFAULT = "tpe"  # optimizer.study.samplers.DEFAULT_SAMPLER, named here to compare the others with it


def available_samplers(*, find_spec: Callable[[str], object] = importlib.util.find_spec) -> list[str]:
    """The samplers to compare: gp only where its PyTorch and SciPy are importable (``archopt[gp]``)."""
    return [*SAMPLERS, *([GP] if all(find_spec(m) is not None for m in ("torch", "scipy")) else [])]


def run_one(sampler: str, seed: int, *, budget_s: float, runs: Path, extra: list[str]) -> Path:
    """One default search with ``sampler`` in its own process, unless a finished one is there."""
    args = ["--sampler", sampler, "--seed", str(seed), "--timeout", str(round(budget_s)), "--no-progress", *extra]
    return run_search(runs / f"{sampler}-seed{seed}", args=args, log=runs / f"{sampler}-seed{seed}.log")


def summarize(runs: Path, *, budget_s: float, every_s: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The finished runs' hypervolume curves (a row per run and checkpoint) and their counts (a row per run)."""
    curves, counts = [], []
    for name, folder in finished_runs(runs).items():
        sampler, _, seed = name.rpartition("-seed")
        trials = trials_of(folder)
        curves.append(curve(trials, budget_s=budget_s, every_s=every_s).assign(
            sampler=sampler, seed=int(seed), overhead_s_per_trial=round(overhead_per_trial(trials), 4)))
        counts.append({"sampler": sampler, "seed": int(seed), **run_counts(pd.read_csv(folder / "trials.csv"))})
    columns = ["sampler", "seed", "elapsed_s", "trials", "hypervolume", "overhead_s_per_trial"]
    return (pd.concat(curves)[columns] if curves else pd.DataFrame(columns=columns)), pd.DataFrame(counts)


def verdict(curves: pd.DataFrame, counts: pd.DataFrame, *, default: str = DEFAULT) -> str:
    """Per sampler: the final hypervolume (median and range over seeds), its mean over the run's checkpoints (how
    soon the front got good), and the repeats and distinct networks; then the sampler whose final median is best."""
    if curves.empty:
        return "no finished run."
    end = curves[curves["elapsed_s"] == curves["elapsed_s"].max()]
    final = end.groupby("sampler")["hypervolume"]
    area = curves.groupby(["sampler", "seed"])["hypervolume"].mean().groupby("sampler").median()
    by_sampler = counts.groupby("sampler")
    lines = [
        f"{s}: {len(g)} seeds, final hypervolume median {final.median()[s]:.4f} "
        f"[{final.min()[s]:.4f}, {final.max()[s]:.4f}], mean over the run {area[s]:.4f}; per run median "
        f"{g['trials'].median():.0f} trials, {g['repeats'].median():.0f} repeats "
        f"({100 * g['repeat_share'].median():.1f}%), {g['distinct'].median():.0f} distinct networks, "
        f"{g['failed'].median():.0f} failed"
        for s, g in by_sampler if s in area
    ]
    best = final.median().idxmax()
    lines.append(f"best final median hypervolume: {best}"
                 + (f" ({default}: {final.median()[default]:.4f})" if default in area and best != default else ""))
    return "\n".join(lines)


def write(runs: Path, *, out: Path, budget_s: float, every_s: float, header: str) -> None:
    curves, counts = summarize(runs, budget_s=budget_s, every_s=every_s)
    curves.to_csv(out / "samplers.csv", index=False)
    counts.to_csv(out / "samplers_runs.csv", index=False)
    if len(curves):
        plot(curves.rename(columns={"sampler": "engine"}), out / "samplers.png")
        (out / "samplers.txt").write_text(header + verdict(curves, counts) + "\n")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-s", type=float, default=1800.0, help="wall clock per run (default: %(default)s)")
    parser.add_argument("--every-s", type=float, default=60.0, help="hypervolume checkpoints (default: %(default)s)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--samplers", nargs="+", default=available_samplers(), choices=[*SAMPLERS, GP])
    parser.add_argument("--search-args", default="", help="more `archopt search` arguments, in one string")
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks/samplers"))
    parser.add_argument("--summarize-only", action="store_true", help="rewrite the outputs from finished runs")
    args = parser.parse_args(argv)
    runs = args.out / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    header = stamp(module="benchmarks.samplers", argv=argv)
    with (args.out / "commands.log").open("a") as log:
        log.write(header)
    # Seed-major order: an interrupted benchmark still has every sampler on its first seeds.
    jobs = [] if args.summarize_only else [(s, seed) for seed in args.seeds for s in args.samplers]
    for sampler, seed in jobs:
        print(f"{time.strftime('%H:%M:%S')} {sampler} seed {seed}", flush=True)
        run_one(sampler, seed, budget_s=args.budget_s, runs=runs, extra=shlex.split(args.search_args))
        write(runs, out=args.out, budget_s=args.budget_s, every_s=args.every_s, header=header)
    write(runs, out=args.out, budget_s=args.budget_s, every_s=args.every_s, header=header)
    if (args.out / "samplers.txt").exists():
        print((args.out / "samplers.txt").read_text(), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
