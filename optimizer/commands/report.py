"""`archopt report RUN_DIR`: rewrite the run's results and its self-contained report.html (open it in a browser)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "report",
        help="write RUN_DIR/report.html: the front to hover, progress, knobs, export commands",
        description=__doc__,
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from optimizer.results.html_report import FILE
    from optimizer.results.rebuild import open_run
    from optimizer.results.report import write_outputs

    _, study = open_run(args.run_dir)
    write_outputs(study, args.run_dir)
    path = (args.run_dir / FILE).resolve()
    print(f"Wrote {path} ({path.stat().st_size / 1e6:.1f} MB); open file://{path}")
    return 0
