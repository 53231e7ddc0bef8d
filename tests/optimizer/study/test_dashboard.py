"""optuna-dashboard on a study archopt wrote (SQLite and PostgreSQL), read over HTTP: one URL everywhere, one front."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import optuna
import pandas as pd
import pytest

from optimizer.cli import main
from optimizer.study import run_config
from optimizer.study.study import DIRECTIONS, METRIC_NAMES
from tests.helpers import search_argv
from tests.pg import _free_port, postgres_server

pytestmark = pytest.mark.slow
DASHBOARD = Path(sys.executable).with_name("optuna-dashboard")  # the test extra's console script, beside python


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


@contextlib.contextmanager
def dashboard(storage_url: str, log: Path) -> Iterator[str]:
    """`optuna-dashboard STORAGE_URL` on a free loopback port, exactly as a user starts it; yields its base URL."""
    port = _free_port()
    command = [str(DASHBOARD), storage_url, "--host", "127.0.0.1", "--port", str(port)]
    with log.open("w") as output:
        proc = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"optuna-dashboard exited ({proc.returncode}): {log.read_text()[-2000:]}")
            try:
                get_json(f"{base}/api/studies")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"optuna-dashboard never answered: {log.read_text()[-2000:]}") from None
                time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def study_over_http(base: str, name: str) -> dict:
    (summary,) = [s for s in get_json(f"{base}/api/studies")["study_summaries"] if s["study_name"] == name]
    return {"directions": summary["directions"], **get_json(f"{base}/api/studies/{summary['study_id']}")}


def check_the_dashboard_shows_the_run(base: str, run_dir: Path) -> None:
    config = run_config.load(run_dir)
    detail = study_over_http(base, config.study)
    assert detail["directions"] == list(DIRECTIONS) and detail["objective_names"] == list(METRIC_NAMES)
    trials = pd.read_csv(run_dir / "trials.csv")
    assert sorted(t["number"] for t in detail["trials"]) == sorted(trials["trial"])
    # The dashboard's best trials are trials.csv's front (pareto.csv keeps those over the accuracy
    # floor), with the step times the CSV shows (re-timed ones included).
    pareto = trials[trials["is_pareto"]].set_index("trial")
    best = {t["number"]: t["values"] for t in detail["best_trials"]}
    assert sorted(best) == sorted(pareto.index)
    for number, (accuracy, step_ms) in best.items():
        assert (float(accuracy), float(step_ms)) == pytest.approx(
            (pareto.loc[number, "accuracy"], pareto.loc[number, "step_time_ms"])
        )


def test_optuna_dashboard_reads_a_sqlite_run(tiny_run: Path, tmp_path: Path) -> None:
    url = run_config.load(tiny_run).storage
    assert pd.read_csv(tiny_run / "trials.csv")["step_time_first_ms"].notna().any()
    with dashboard(url, tmp_path / "dashboard.log") as base:
        check_the_dashboard_shows_the_run(base, tiny_run)


def test_one_postgresql_url_for_archopt_optuna_and_the_dashboard(small_fashion_dir: Path, tmp_path: Path) -> None:
    with postgres_server() as url:  # a bare postgresql:// URL, as the README's fleet uses
        run = tmp_path / "fleet"
        argv = search_argv(
            run,
            small_fashion_dir,
            "--trials",
            "2",
            "--sampler",
            "random",
            "--no-progress",
            "--storage",
            url,
            "--study",
            "fleet",
        )
        assert main(argv) == 0
        study = optuna.load_study(study_name="fleet", storage=url)  # Optuna with the same URL, no driver in it
        assert study.metric_names == list(METRIC_NAMES)
        front = pd.read_csv(run / "trials.csv").query("is_pareto")["trial"]
        assert sorted(t.number for t in study.best_trials) == sorted(front)
        with dashboard(url, tmp_path / "dashboard.log") as base:
            check_the_dashboard_shows_the_run(base, run)
