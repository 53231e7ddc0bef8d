"""`archopt pareto RUN_DIR`: rewrite a run's CSVs and plot from its study and print the front."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("pareto", help="print a run's Pareto front (and rewrite its CSVs and plot)")
    p.add_argument("run_dir", type=Path)
    p.add_argument(
        "--device", help="only this device class's front (see the CSVs' device column); mixed fleets need it"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from optimizer.results.rebuild import open_run
    from optimizer.results.report import for_device, write_outputs
    from optimizer.results.summary import print_summary

    _, study = open_run(args.run_dir)
    print_summary(for_device(write_outputs(study, args.run_dir), args.device), run_dir=args.run_dir)
    return 0
