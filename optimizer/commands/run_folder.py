"""The arguments of the commands that read a run folder: the folder, and the storage URL its run.json masks."""

from __future__ import annotations

import argparse
from pathlib import Path

from optimizer.defaults import ENV_STORAGE


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", type=Path, metavar="RUN", help="a run folder written by `archopt search`")
    add_storage_argument(p)


def add_storage_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--storage",
        metavar="URL",
        help="the study's storage URL with its password, for a run on a database server: run.json masks the "
        f"password (default: ${ENV_STORAGE})",
    )
