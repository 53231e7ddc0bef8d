"""`archopt pareto RUN`: rewrite a run's CSVs and plot from its study and print the front."""

from __future__ import annotations

import argparse

from optimizer.commands.run_folder import add_run_arguments

EXAMPLE = """example:
  archopt pareto results/fashion_mnist-default
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "pareto", help="print a run's Pareto front (and rewrite its CSVs and plot)",
        description="Print a run's Pareto front of validation accuracy against step time, and rewrite its CSVs and "
        "plot from its study.", epilog=EXAMPLE,
    )
    add_run_arguments(p)
    p.add_argument(
        "--device", help="only this device class's front (see the CSVs' device column); mixed fleets need it"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from optimizer.results.rebuild import open_run
    from optimizer.results.report import for_device, write_outputs
    from optimizer.results.summary import print_summary

    _, study = open_run(args.run_dir, storage=args.storage)
    print_summary(for_device(write_outputs(study, args.run_dir), args.device), run_dir=args.run_dir)
    return 0
