"""Throughput benchmark: complete trials per hour of `archopt search`, this checkout against an older commit.

Both run the default space on Fashion-MNIST at ``--train-steps 100`` (the short first rungs of successive halving),
each in its own run folder, taking turns in slices of ``--slice-min`` minutes (new, old, old, new, ...) so that the
machine's drift hits both. Each side's search resumes its own study slice after slice, as a long search would grow.
The older commit is checked out with ``git worktree add`` into a temporary folder. It prints, for each side:

- complete trials per hour (complete trials over the wall time of its slices, process start-ups included);
- the median ``fixed_s``: a trial's wall time outside its timed and training steps, the bookkeeping since the
  previous trial included. Older commits have no such column, so it is computed for both sides from the phase
  columns (``duration_s - step_time_timed_s - train_s`` plus the gap since the previous trial, from the study's
  timestamps). That counts fit's own setup as steps, so it understates the fixed cost a little; the new side's own
  ``fixed_s`` column is printed beside it;
- the median seconds of each phase, and ``fit_over_timed``: the median ratio of fit's own time per step
  (``fit_step_ms``, new side only) to the measured step time, which says whether step times keep their meaning;

and then the per-part profile of a small, a medium and a large candidate with this checkout
(``benchmarks.profile_trial``: the real trial, instrumented). Figures taken on a machine that runs other jobs are
not results. Usage::

    python -m benchmarks.throughput                           # 2 x 10 minutes per side against ad3d2eb
    python -m benchmarks.throughput --old 1234abc --slices 3 --slice-min 20
    python -m benchmarks.throughput --slices 1 --slice-min 1  # a smoke run
    python -m benchmarks.throughput --sampler random          # both sides on the same mix of candidates
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.harness import add_out, run_study, stamp, write_output

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OLD = "ad3d2eb"  # the last commit before issue 10's fast trials
PHASES = ["sample_s", "build_s", "timing_s", "train_s", "eval_s", "duration_s"]
def search_slice(checkout: Path, run_dir: Path, *, seconds: float, train_steps: int, data_dir: str | None,
                 sampler: str = "tpe") -> float:
    """Run (or resume) `archopt search` of ``checkout`` for ``seconds``; returns the wall seconds it took."""
    argv = ["search", "--dataset", "fashion_mnist", *(["--data-dir", data_dir] if data_dir else []),
            "--out", str(run_dir),
            "--trials", "1000000", "--sampler", sampler,
            "--train-steps", str(train_steps), "--timeout", f"{seconds:.0f}s", "--no-progress"]
    env = dict(os.environ, PYTHONPATH=str(checkout), TF_CPP_MIN_LOG_LEVEL="3")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "optimizer.cli", *argv], cwd=checkout, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


MAX_GAP_S = 60  # a longer gap between two trials spans two slices (two processes), not bookkeeping


def finished_trials(run_dir: Path) -> list:
    """The finished trials of ``run_dir``'s study, in trial order."""
    trials = run_study(run_dir).get_trials(deepcopy=False)
    return sorted((t for t in trials if t.datetime_complete), key=lambda t: t.number)


def bookkeeping_gaps(trials: list) -> pd.Series:
    """Seconds from each trial's predecessor's end to its start, by trial number; 0 for the first trial and for gaps
    that span two slices."""
    gaps = pd.Series({b.number: (b.datetime_start - a.datetime_complete).total_seconds()
                      for a, b in zip(trials, trials[1:])}, dtype=float).reindex([t.number for t in trials])
    return gaps.where((gaps >= 0) & (gaps < MAX_GAP_S), 0.0)


def fixed_from_phases(run_dir: Path) -> pd.Series:
    """Each complete trial's fixed seconds from its phase columns and the study's timestamps (any commit)."""
    frame = pd.read_csv(run_dir / "trials.csv").set_index("trial")
    done = frame[frame["state"] == "COMPLETE"]
    gap = bookkeeping_gaps(finished_trials(run_dir)).reindex(done.index, fill_value=0.0)
    return done["duration_s"] - done["step_time_timed_s"] - done["train_s"] + gap


def trial_walls(run_dir: Path) -> pd.DataFrame:
    """Each finished trial's params (as a key), state and wall seconds, the bookkeeping gap before it included."""
    trials = finished_trials(run_dir)
    gaps = bookkeeping_gaps(trials)
    rows = [{"key": json.dumps(t.params, sort_keys=True), "state": t.state.name,
             "wall_s": (t.datetime_complete - t.datetime_start).total_seconds() + gaps[t.number]} for t in trials]
    return pd.DataFrame(rows).drop_duplicates("key")


def same_candidates(new_dir: Path, old_dir: Path) -> str:
    """Trials per hour on identical work: the candidates both sides ran to completion (with ``--sampler random`` both
    draw the same sequence from the same seed until a resume reseeds them), their summed wall seconds per side."""
    pairs = trial_walls(new_dir).merge(trial_walls(old_dir), on="key", suffixes=("_new", "_old"))
    pairs = pairs[(pairs["state_new"] == "COMPLETE") & (pairs["state_old"] == "COMPLETE")]
    if pairs.empty:
        return "same candidates on both sides: none (use --sampler random)"
    total = pairs["wall_s_old"].sum() / pairs["wall_s_new"].sum()
    each = (pairs["wall_s_old"] / pairs["wall_s_new"]).median()
    return (f"same candidates on both sides: {len(pairs)} complete on both; wall seconds per trial (bookkeeping "
            f"included) summed {pairs['wall_s_new'].sum():.1f} new against {pairs['wall_s_old'].sum():.1f} old: "
            f"{total:.2f}x the trials per hour on identical work (median per candidate {each:.2f}x)")


def summarize(run_dir: Path, *, wall_s: float) -> dict:
    frame = pd.read_csv(run_dir / "trials.csv")
    done = frame[frame["state"] == "COMPLETE"]
    row = {"complete": len(done), "wall_s": round(wall_s, 1), "trials_per_hour": round(3600 * len(done) / wall_s, 1),
           "fixed_s_from_phases": round(float(fixed_from_phases(run_dir).median()), 3) if len(done) else np.nan,
           "fixed_s_column": round(float(done["fixed_s"].median()), 3) if "fixed_s" in done and len(done) else np.nan,
           "step_time_timed_s": round(float(done["step_time_timed_s"].median()), 3) if len(done) else np.nan,
           "macs_median": round(float(done["macs"].median())) if len(done) else np.nan,  # the mix of candidates
           "fit_over_timed": _fit_ratio(done)}
    return row | {p: round(float(done[p].median()), 3) if len(done) else np.nan for p in PHASES}


def _fit_ratio(done: pd.DataFrame) -> float:
    """Median of fit's own time per step over the measured step time (first timing), where trials record it."""
    if "fit_step_ms" not in done or not done["fit_step_ms"].notna().any():
        return np.nan
    return round(float((done["fit_step_ms"] / done["step_time_first_ms"]).median()), 3)


def profile_table(checkout: Path, *, train_steps: int, data_dir: str | None) -> str:
    """The per-part profile (``benchmarks.profile_trial``: the real trial, instrumented) in a fresh process."""
    command = [sys.executable, "-m", "benchmarks.profile_trial", "--train-steps", str(train_steps)]
    command += ["--data-dir", data_dir] if data_dir else []
    env = dict(os.environ, PYTHONPATH=str(checkout), TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run(command, cwd=checkout, env=env, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def report(rows: dict[str, dict], *, old: str, slices: int, slice_min: float, train_steps: int, sampler: str) -> str:
    frame = pd.DataFrame(rows).T
    old_rate = rows["old"]["trials_per_hour"]
    ratio = rows["new"]["trials_per_hour"] / old_rate if old_rate else np.nan
    lines = [f"archopt search, default space, Fashion-MNIST, --train-steps {train_steps}: this checkout (new) against",
             f"{old} (old), {slices} slice(s) of {slice_min:g} min each per side, taking turns, --sampler {sampler}.",
             "Medians per complete",
             "trial, seconds (fixed_s_from_phases: the same formula for both; fixed_s_column: the new trials' own).",
             frame.to_string(), f"complete trials per hour, new / old: {ratio:.2f}x"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", default=DEFAULT_OLD, help="the commit to compare with (default: %(default)s)")
    parser.add_argument("--slices", type=int, default=2, help="slices per side (default: %(default)s)")
    parser.add_argument("--slice-min", type=float, default=10.0, help="minutes per slice (default: %(default)s)")
    parser.add_argument("--train-steps", type=int, default=100)
    parser.add_argument("--data-dir", default=None, help="the dataset's folder (default: where archopt finds it)")
    # tpe: what a user runs, but each side's proposals follow its own measurements, so the two sides
    # train different mixes of candidates (and trials per hour moves with the mix); random: both
    # sides draw from the same distribution (the seeds move on with the study's size, as in any
    # resumed search), the same work on average.
    parser.add_argument("--sampler", choices=["tpe", "random"], default="tpe")
    add_out(parser, default=Path("results/benchmarks/throughput.txt"))
    parser.add_argument("--no-profile", action="store_true", help="skip the per-part profile")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    if args.slices <= 0 or args.slice_min <= 0:
        parser.error(f"--slices and --slice-min must be positive, but got {args.slices} and {args.slice_min}.")
    with tempfile.TemporaryDirectory(prefix="archopt-throughput-") as tmp:
        old = Path(tmp) / "old"
        subprocess.run(["git", "worktree", "add", "--detach", str(old), args.old], cwd=REPO, check=True,
                       capture_output=True)
        try:
            checkouts = {"new": REPO, "old": old}
            walls = {"new": 0.0, "old": 0.0}
            order = [side for i in range(args.slices) for side in (("new", "old") if i % 2 == 0 else ("old", "new"))]
            for side in order:
                walls[side] += search_slice(checkouts[side], Path(tmp) / f"run-{side}", seconds=60 * args.slice_min,
                                            train_steps=args.train_steps, data_dir=args.data_dir,
                                            sampler=args.sampler)
                print(f"{side} slice done, {walls[side]:.0f} s so far", file=sys.stderr, flush=True)
            rows = {side: summarize(Path(tmp) / f"run-{side}", wall_s=walls[side]) for side in ("new", "old")}
            text = report(rows, old=args.old, slices=args.slices, slice_min=args.slice_min,
                          train_steps=args.train_steps, sampler=args.sampler)
            text += "\n" + same_candidates(Path(tmp) / "run-new", Path(tmp) / "run-old")
            if not args.no_profile:
                text += "\n\nWhere a trial's seconds go (this checkout, one process, after a warm-up candidate):\n"
                text += profile_table(REPO, train_steps=args.train_steps, data_dir=args.data_dir)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=REPO, check=False,
                           capture_output=True)
    print(text)
    write_output(args.out, text, header=stamp(module="benchmarks.throughput", argv=argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
