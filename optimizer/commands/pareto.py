"""`archopt pareto RUN_DIR`: rewrite a run's CSVs and plot from its study and print the front."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("pareto", help="print a run's Pareto front (and rewrite its CSVs and plot)")
    p.add_argument("run_dir", type=Path)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from optimizer.rebuild import open_run
    from optimizer.report import write_outputs
    from optimizer.summary import print_summary

    _, study = open_run(args.run_dir)
    print_summary(write_outputs(study, args.run_dir), run_dir=args.run_dir)
    return 0
