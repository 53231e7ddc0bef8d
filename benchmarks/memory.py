"""Resident memory over a long search: 300 trials of the default space at a tiny budget, RSS every 20 trials.

It runs `archopt search` exactly as a user does (a supervisor and its workers of --trials-per-process trials) and
samples the resident memory of the whole process tree twice a second. For each window of 20 finished trials it
prints the peak. The figure to hold: the peak over trials 281-300 within 10% of the peak over trials 21-40
(KerasTuner users report about 1 GB more per 20 trials). With --trials-per-process 0 (every trial in one process)
it shows the growth that workers avoid.

Run: python -m benchmarks.memory [--trials 300] [--trials-per-process 20] [--train-steps 20] [--out /tmp/archopt-memory]
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
    # 20: the shortest budget a trial times on its own training stream (shorter ones time on fixed batches).
    parser.add_argument("--train-steps", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("/tmp/archopt-memory"))
    args = parser.parse_args(argv)
    shutil.rmtree(args.out, ignore_errors=True)
    storage = f"sqlite:///{args.out.resolve() / 'study.db'}"
    command = [
        sys.executable,
        "-m",
        "optimizer.cli",
        "search",
        "--sampler",
        "random",
        "--trials",
        str(args.trials),
        "--study",
        "memory",
        "--out",
        str(args.out),
        "--no-progress",
        "--trials-per-process",
        str(args.trials_per_process),
        "--train-steps",
        str(args.train_steps),
        *TINY,
    ]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    proc = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    )
    peaks, start, window_peak, last_check = {}, time.monotonic(), 0.0, 0.0
    print(f"{'trials':>6} {'peak_rss_mb':>11} {'elapsed_s':>9}", flush=True)
    while proc.poll() is None:  # until the search ends or reaches --trials finished trials
        window_peak = max(window_peak, tree_rss_mb(proc.pid))
        if time.monotonic() - last_check > 2:
            last_check, done = time.monotonic(), finished(storage)
            mark = done // EVERY * EVERY
            if mark and mark not in peaks:
                peaks[mark] = window_peak
                print(f"{mark:>6} {window_peak:>11.0f} {time.monotonic() - start:>9.0f}", flush=True)
                window_peak = 0.0
                if mark >= args.trials:  # what follows (re-timing the front) is not the figure
                    break
        time.sleep(0.5)
    proc.terminate()
    proc.wait()
    last = max(peaks) if peaks else 0
    if 40 in peaks and last > 40:
        print(
            f"peak RSS over trials {last - EVERY + 1}-{last} vs 21-40: "
            f"{peaks[last] / peaks[40] - 1:+.1%} (target: within 10%)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
