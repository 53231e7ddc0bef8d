"""Resident memory over a long search: 300 trials of the default space at a tiny budget, RSS every 20 trials.

It runs `archopt search` exactly as a user does (a supervisor and its workers of --trials-per-process trials) and
samples the resident memory of the whole process tree twice a second. For each window of 20 finished trials it
prints the peak. A window's peak follows its largest candidates (the same candidates run first in a fresh study
peak as high as late in a run), so comparing trials 281-300 with 21-40 compares two mixes of candidates. The figure
to hold therefore runs the same candidates twice: after trial 280 the search is stopped (SIGTERM, as a scheduler
does), trials 21-40's candidates are enqueued, and a resumed search runs them again as trials 281-300; their peak
must be within 10% of their first peak (KerasTuner users report about 1 GB more per 20 trials). With
--trials-per-process 0 (every trial in one process) the windows up to 280 show the growth that workers avoid (the
repeat then runs in a new process).

Run: python -m benchmarks.memory [--trials 300] [--trials-per-process 20] [--train-steps 20] [--run /tmp/archopt-memory]
(``--run``: the search's folder, emptied first; ``--out``: the printed lines, stamped, results/benchmarks/memory.txt)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import optuna

from benchmarks.harness import add_out, echo, stamp, write_output

EVERY = 20
TINY = [
    "--train-size",
    "500",
    "--val-size",
    "200",
    "--timing-s",
    "0.05",
    "--batch-size",
    "32",
    "--max-step-ms",
    "200",
]


def tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants, in MiB."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
            for task in Path(f"/proc/{p}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            continue
    return total / 1024


def finished(storage: str) -> int:
    try:
        study = optuna.load_study(study_name="memory", storage=storage)
    except Exception:  # not created yet
        return 0
    return sum(t.state.is_finished() for t in study.get_trials(deepcopy=False))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--trials-per-process", type=int, default=20)
    # 20: the shortest budget a trial times on its own training stream (shorter: fixed batches).
    parser.add_argument("--train-steps", type=int, default=20)
    parser.add_argument("--run", type=Path, default=Path("/tmp/archopt-memory"),
                        help="the search's folder, emptied first (default: %(default)s)")
    add_out(parser, default=Path("results/benchmarks/memory.txt"))
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    shutil.rmtree(args.run, ignore_errors=True)
    storage = f"sqlite:///{args.run.resolve() / 'study.db'}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    write_output(args.out, "", header=stamp(module="benchmarks.memory", argv=argv))
    echo(f"{'trials':>6} {'peak_rss_mb':>11} {'elapsed_s':>9}", out=args.out)
    peaks = watch(search_command(args), storage=storage, until=args.trials - EVERY, start=time.monotonic(),
                  out=args.out)
    last = max(peaks) if peaks else 0
    if 40 in peaks and last > 40:
        echo(f"peak RSS over trials {last - EVERY + 1}-{last} vs 21-40: {peaks[last] / peaks[40] - 1:+.1%} "
             "(other candidates: a window's peak follows its largest candidates)", out=args.out)
    # The same 20 candidates late in the run as early: the rest is growth, not the candidates' mix.
    study = optuna.load_study(study_name="memory", storage=storage)
    for trial in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)[EVERY : 2 * EVERY]:
        study.enqueue_trial(trial.params)
    done = finished(storage)
    again = watch(search_command(args), storage=storage, until=done + EVERY, start=time.monotonic(), every=EVERY,
                  offset=done, out=args.out)
    if 40 in peaks and again:
        repeat = max(again.values())
        echo(f"peak RSS, trials 21-40's candidates again as trials {done + 1}-{done + EVERY} (a resumed search, "
             f"a fresh worker): {repeat:.0f} MB vs {peaks[40]:.0f} MB: {repeat / peaks[40] - 1:+.1%} "
             "(target: within 10%)", out=args.out)
    return 0


def search_command(args: argparse.Namespace) -> list[str]:
    """The user's `archopt search`: random candidates of the default space at a tiny budget, workers of 20."""
    return [
        sys.executable, "-m", "optimizer.cli", "search", "--sampler", "random", "--trials", str(args.trials + 100),
        "--study", "memory", "--out", str(args.run), "--no-progress", "--trials-per-process",
        str(args.trials_per_process), "--train-steps", str(args.train_steps), *TINY,
    ]


def watch(command: list[str], *, storage: str, until: int, start: float, every: int = EVERY,
          offset: int = 0, out: Path | None = None) -> dict[int, float]:
    """Run ``command`` until ``until`` trials of the study are finished; the peak RSS of each window of ``every``
    (a line each, printed and added to ``out``)."""
    proc = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    )
    peaks: dict[int, float] = {}
    window_peak, last_check = 0.0, 0.0
    while proc.poll() is None:
        window_peak = max(window_peak, tree_rss_mb(proc.pid))
        if time.monotonic() - last_check > 2:
            last_check, done = time.monotonic(), finished(storage)
            mark = offset + (done - offset) // every * every
            if mark > offset and mark not in peaks:
                peaks[mark] = window_peak
                echo(f"{mark:>6} {window_peak:>11.0f} {time.monotonic() - start:>9.0f}", out=out)
                window_peak = 0.0
                if mark >= until:  # what follows (re-timing the front) is not the figure
                    break
        time.sleep(0.5)
    proc.terminate()  # SIGTERM: the search stops as on Ctrl-C; a trial it was running fails
    proc.wait()
    return peaks


if __name__ == "__main__":
    sys.exit(main())
