"""`archopt retime RUN_DIR`: time the front and the baselines again, in interleaved rounds, and rewrite the results.

Use it when the machine is quiet. Only trials of this machine's device class are re-timed;
a few trials off the front are re-timed beside it to measure how fast the machine runs now against
the run's own timings, and the new figures are scaled back by that; the front is recomputed from
them, and each CSV keeps the first timing in its step_time_first_ms column.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from optimizer.errors import ArchoptError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "retime", help="re-time a run's front and baselines, then rewrite its results", description=__doc__
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    p.add_argument("--rounds", type=int, default=None, help="interleaved rounds per model (default: 3)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from optimizer.results import retime
    from optimizer.results.rebuild import open_run
    from optimizer.results.report import write_outputs
    from optimizer.results.summary import print_summary
    from optimizer.study import assemble

    rounds = retime.DEFAULT_ROUNDS if args.rounds is None else args.rounds
    if rounds <= 0:
        raise ArchoptError(f"`--rounds` must be a positive integer, but got {rounds!r}.")
    config, study = open_run(args.run_dir)
    times = retime.retime_study(study, assemble.objective_for(config), rounds=rounds)
    factors = ", ".join(f"{f:.2f}x" for f in sorted({r.factor for r in times.values()}))
    print(
        f"Re-timed {len(times)} models in {rounds} interleaved rounds; the machine ran at {factors or '1.00x'} the "
        "run's own timings meanwhile (measured on trials off the front), and the figures are scaled back by that."
    )
    print_summary(write_outputs(study, args.run_dir), run_dir=args.run_dir)
    return 0
