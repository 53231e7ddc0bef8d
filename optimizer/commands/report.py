"""`archopt report RUN`: rewrite the run's results and its self-contained report.html (open it in a browser)."""

from __future__ import annotations

import argparse

from optimizer.commands.run_folder import add_run_arguments

EXAMPLE = """example:
  archopt report results/fashion_mnist-default
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "report",
        help="write RUN/report.html: the front to hover, progress, knobs, export commands",
        description="Write the run's self-contained report.html (the front to hover, the search's progress, its "
        "knobs, export commands) and rewrite its CSVs; open it in a browser.", epilog=EXAMPLE,
    )
    add_run_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from optimizer.results.html_report import FILE
    from optimizer.results.rebuild import open_run
    from optimizer.results.report import write_outputs

    _, study = open_run(args.run_dir, storage=args.storage)
    write_outputs(study, args.run_dir)
    path = (args.run_dir / FILE).resolve()
    print(f"Wrote {path} ({path.stat().st_size / 1e6:.1f} MB); open file://{path}")
    return 0
