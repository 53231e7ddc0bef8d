"""A benchmark's finished rows in a CSV written after each one (an interrupted benchmark resumes where it was), and its
printed `key=value` lines, appended to a log."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd


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
    line = prefix + " ".join(f"{k}={v}" for k, v in row.items())
    print(line, flush=True)
    if out:
        with out.open("a") as f:
            f.write(line + "\n")
    return line


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
