"""What every benchmark does the same way: launch a search, open a run's study, keep finished rows so an interrupted
benchmark resumes, and stamp its output with the command, commit and date that wrote it."""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

DONE = "done"  # the file a finished search leaves in its run folder


def run_search(folder: Path, *, args: list[str], log: Path, checkout: Path | None = None) -> Path:
    """``archopt search ARGS --out folder`` in its own process (fresh Keras state), unless a finished run is there.

    An interrupted run starts again from nothing: a resumed one would reseed its sampler. A run that exits non-zero
    (see ``log``) is not marked done, so the next call tries it again. ``checkout``: another commit's tree to run.
    """
    if (folder / DONE).exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "optimizer.cli", "search", *args, "--out", str(folder)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **({"PYTHONPATH": str(checkout)} if checkout else {})}
    with open(log, "w") as out:
        code = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False, env=env,
                              cwd=checkout).returncode
    if code == 0:
        (folder / DONE).write_text(time.strftime("%Y-%m-%d %H:%M:%S\n"))
    return folder


def finished_runs(runs: Path) -> dict[str, Path]:
    """The run folders under ``runs`` that ``run_search`` finished, by name."""
    return {p.name: p for p in sorted(runs.iterdir()) if (p / DONE).exists()} if runs.exists() else {}


def run_study(folder: Path):
    """The study of a run folder's own ``study.db``, whichever archopt commit wrote it (its only study)."""
    import optuna

    url = f"sqlite:///{(folder / 'study.db').resolve()}"
    return optuna.load_study(study_name=optuna.get_all_study_names(storage=url)[0], storage=url)


class Ledger:
    """The rows already in ``path``, keyed by the column ``key``; ``add`` appends one and writes the file at once."""

    def __init__(self, path: Path, *, key: str, columns: Iterable[str] = ()) -> None:
        self.path, self.key = path, key
        self.frame = pd.read_csv(path) if path.exists() else pd.DataFrame(columns=[key, *columns])

    def missing(self, keys: Iterable) -> list:
        """The ``keys`` that have no row yet, in their order."""
        done = set(self.frame[self.key])
        return [k for k in keys if k not in done]

    def pending(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``frame`` whose ``key`` has no row yet."""
        return frame[~frame[self.key].isin(self.frame[self.key])]

    def add(self, row: dict) -> None:
        self.frame = pd.concat([self.frame, pd.DataFrame([row])], ignore_index=True)
        self.frame.to_csv(self.path, index=False)


def log_line(row: dict, *, out: Path | None, prefix: str = "") -> str:
    """Print ``row`` as one ``key=value`` line (after ``prefix``), append it to ``out`` if given, and return it."""
    return echo(prefix + " ".join(f"{k}={v}" for k, v in row.items()), out=out)


def echo(text: str, *, out: Path | None) -> str:
    """Print ``text`` (a line or several) and append it to ``out`` if given, so an interrupted benchmark keeps what it
    printed; return it."""
    print(text, flush=True)
    if out:
        with out.open("a") as f:
            f.write(text + "\n")
    return text


def add_out(parser: argparse.ArgumentParser, *, default: Path) -> None:
    """``--out``: the file a benchmark's printed figures are written to, below ``stamp``'s header."""
    parser.add_argument("--out", type=Path, default=default,
                        help="the file the printed figures are written to, stamped with the command, commit and date "
                             "(default: %(default)s)")


def write_output(path: Path, text: str, *, header: str, append: bool = False) -> Path:
    """Write ``header`` (``stamp``'s lines) and then ``text`` to ``path``, or after what is there with ``append``
    (a benchmark whose sittings add lines). Empty ``text`` starts a file that ``echo`` then adds to."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a" if append else "w") as f:
        f.write(header + (text if not text or text.endswith("\n") else text + "\n"))
    return path


def stamp(*, module: str, argv: Iterable[str]) -> str:
    """Comment lines that date a benchmark's output: the command that wrote it (``python -m module argv``), the
    code's commit (and whether tracked files had uncommitted changes), and when (UTC)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown (not a git checkout)"
    if git("status", "--porcelain", "--untracked-files=no"):
        commit += " with uncommitted changes"
    command = shlex.join(["python", "-m", module, *argv])
    return (f"# command: {command}\n# commit: {commit}\n"
            f"# date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC\n")
