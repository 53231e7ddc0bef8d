"""`archopt retime RUN`: time the front and the baselines again, in interleaved rounds, and rewrite the results.

Use it when the machine is quiet. Only trials of this machine's device class are re-timed;
a few trials off the front are re-timed beside it to measure how fast the machine runs now against
the run's own timings, and the new figures are scaled back by that; the front is recomputed from
them, and each CSV keeps the first timing in its step_time_first_ms column.
"""

from __future__ import annotations

import argparse

from optimizer.commands.run_folder import add_run_arguments
from optimizer.defaults import RETIME_ROUNDS
from optimizer.errors import check_positive_int

EXAMPLE = """example:
  archopt retime results/fashion_mnist-default --rounds 5
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "retime", help="re-time a run's front and baselines, then rewrite its results",
        description="Time a run's front and baselines again in interleaved rounds and rewrite its results.\n\n"
        + __doc__.split("\n\n", 1)[1],
        epilog=EXAMPLE,
    )
    add_run_arguments(p)
    p.add_argument("--rounds", type=int, default=RETIME_ROUNDS, help="interleaved rounds per model")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from optimizer.results import retime
    from optimizer.results.rebuild import open_run
    from optimizer.results.report import write_outputs
    from optimizer.results.summary import print_summary
    from optimizer.study import assemble

    rounds = args.rounds
    check_positive_int(**{"--rounds": rounds})
    config, study = open_run(args.run_dir, storage=args.storage)
    times = retime.retime_study(study, assemble.objective_for(config), rounds=rounds)
    factors = ", ".join(f"{f:.2f}x" for f in sorted({r.factor for r in times.values()}))
    print(
        f"Re-timed {len(times)} models in {rounds} interleaved rounds; the machine ran at {factors or '1.00x'} the "
        "run's own timings meanwhile (measured on trials off the front), and the figures are scaled back by that."
    )
    print_summary(write_outputs(study, args.run_dir), run_dir=args.run_dir)
    return 0
