"""Workers of a few trials each: the search goes on across processes, and a killed supervisor takes its worker along."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import TINY_BUDGET

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parents[3]


def command(out: Path, data_dir: Path, *extra: str) -> list[str]:
    budget = TINY_BUDGET[: TINY_BUDGET.index("--trials-per-process")]
    return [sys.executable, "-m", "optimizer.cli", "search", "--data-dir", str(data_dir), "--out", str(out),
            "--no-progress", "--sampler", "random", *budget, *extra]


def test_trials_run_in_successive_workers_and_the_summary_comes_once(tmp_path, small_fashion_dir) -> None:
    out = tmp_path / "run"
    done = subprocess.run(
        command(out, small_fashion_dir, "--trials", "2", "--trials-per-process", "1"),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    trials = pd.read_csv(out / "trials.csv")
    complete = trials[trials["state"] == "COMPLETE"]
    assert len(complete) == 2 and "RUNNING" not in set(trials["state"])
    assert trials["pid"].nunique() == len(trials)  # one worker per trial
    assert done.stdout.count("Pareto front") == 1
    # The console holds archopt's lines only; Optuna's and the warnings are in the run folder's log.
    console, log = done.stdout + done.stderr, (out / "archopt.log").read_text()
    for optuna_line in ("[I 20", "Trial ", "ExperimentalWarning"):
        assert optuna_line not in console and optuna_line in log, optuna_line


def test_a_supervisor_killed_with_sigkill_takes_its_worker_along(tmp_path, small_fashion_dir) -> None:
    out = tmp_path / "run"
    proc = subprocess.Popen(command(out, small_fashion_dir, "--trials", "50"), cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    deadline = time.monotonic() + 300
    while not (out / "trials.csv").exists():  # the worker has finished a trial
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.5)
    worker = int(pd.read_csv(out / "trials.csv")["pid"].iloc[0])
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for _ in range(100):
        if not Path(f"/proc/{worker}").exists() or "Z" in Path(f"/proc/{worker}/stat").read_text().split()[2]:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"worker {worker} outlived its supervisor")


def test_a_sigterm_ends_the_search_with_one_line_and_exit_130(tmp_path, small_fashion_dir) -> None:
    out = tmp_path / "run"
    proc = subprocess.Popen(command(out, small_fashion_dir, "--trials", "50", "--trials-per-process", "2"), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    deadline = time.monotonic() + 300
    while not _has_a_trial(out):  # a worker is in its first trial
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    console, _ = proc.communicate(timeout=300)
    assert proc.returncode == 130, console
    assert "Traceback" not in console and console.strip().splitlines()[-1] == "archopt: interrupted", console
    assert "KeyboardInterrupt" in (out / "archopt.log").read_text()  # Optuna's account of the stopped trial


def _has_a_trial(out: Path) -> bool:
    import sqlite3

    if not (out / "study.db").exists():
        return False
    with sqlite3.connect(out / "study.db") as db:
        try:
            return db.execute("SELECT count(*) FROM trials").fetchone()[0] > 0
        except sqlite3.OperationalError:  # no table yet
            return False
