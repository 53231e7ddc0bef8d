"""`archopt search`: run (or resume) a multi-objective architecture search into a run folder."""

from __future__ import annotations

import argparse
import sys

from optimizer.defaults import TRAIN_STEPS, TRIALS, TUNERS


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("search", help="search architectures for the accuracy / step-time front")
    p.add_argument("--dataset", default="fashion_mnist", help="mnist, fashion_mnist or cifar10 (default: %(default)s)")
    p.add_argument("--data-dir", help="folder holding the dataset's original files")
    p.add_argument("--space", default="default", help="'default', path/to/file.py:Name or package.module:Name")
    p.add_argument("--sampler", default=None, help="tpe, nsga2, gp or random (default: tpe)")
    p.add_argument("--trials", default=None,
                   help="stop once the study holds this many complete trials, those stopped at a rung and "
                        f"repeats included (default: {TRIALS} without --timeout, no limit with one)")
    p.add_argument("--timeout", help="stop starting trials after this long: 90, 30m, 8h, 1h30m")
    p.add_argument("--out", help="run folder (default: results/<dataset>-<space>)")
    p.add_argument("--storage", help="Optuna storage URL (default: sqlite:///<out>/study.db)")
    p.add_argument("--study", help="study name (default: the run folder's name)")
    p.add_argument("--seed", type=int, default=0, help="seeds the split, the sampler and training")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument(
        "--train-steps", type=int, default=None, help=f"optimizer steps of training per trial (default: {TRAIN_STEPS})"
    )
    p.add_argument("--min-steps", type=int, default=None,
                   help="successive halving: the first rung's training steps; rungs grow by --eta up to --train-steps "
                        "(default: --train-steps, a single rung)")
    p.add_argument("--eta", type=int, default=3,
                   help="each rung keeps the top 1/eta of its trials (default: %(default)s)")
    p.add_argument("--epochs", type=int, default=None, help="train for whole epochs of the training subset instead")
    p.add_argument("--train-size", type=int, default=20000, help="training images per trial (default: %(default)s)")
    p.add_argument(
        "--val-size", type=int, default=5000, help="validation images held out of training (default: %(default)s)"
    )
    p.add_argument(
        "--timing-s",
        type=float,
        default=1.0,
        help="most seconds of timed steps on fixed batches (epoch budgets, first rungs under 20 steps), fewer once "
        "the median is known to 2%%; a step budget's first rung is timed all through (default: %(default)s)",
    )
    p.add_argument("--max-step-ms", type=float, default=1000.0, help="fail candidates slower than this per step")
    p.add_argument("--baseline", action="append", default=[], metavar="MODEL",
                   help="your own model, measured like a trial and compared with the front; repeatable "
                        "(a .keras file, an export folder, file.py:function or package.module:function)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="also show Optuna's log lines and warnings, which go to RUN/archopt.log in any case")
    p.add_argument("--trials-per-process", type=int, default=20, metavar="N",
                   help="run trials in worker processes of N trials each, so TensorFlow's per-model memory is "
                        "returned to the system; 0 runs every trial in this process (default: %(default)s)")
    p.add_argument(
        "--engine",
        choices=("optuna", "keras-tuner"),
        default="optuna",
        help="who proposes candidates (default: %(default)s)",
    )
    p.add_argument("--tuner", choices=TUNERS, default="bayesian",
                   help="KerasTuner's tuner, with --engine keras-tuner (default: %(default)s)")
    p.add_argument(
        "--kt-lambda",
        type=float,
        default=None,
        help="KerasTuner maximizes accuracy - kt_lambda * step_time_ms (default: 0.001, 1 point of accuracy per 10 ms)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from optimizer.search import run as search_run
    from optimizer.study.progress import console_log

    plan = search_run.plan_from_args(args)
    with console_log(verbose=args.verbose):
        return search_run.leave_as_found_on_failure(plan, lambda: _search(plan, args))


def _search(plan, args: argparse.Namespace) -> int:
    from optimizer.search import run as search_run

    if args.engine == "keras-tuner":
        from optimizer.errors import ArchoptError
        from optimizer.search import kt_engine

        if plan.config.budget.min_steps not in (None, plan.config.budget.train_steps):
            raise ArchoptError(
                "`--min-steps` is for the optuna engine; KerasTuner's hyperband tuner has its own rungs."
            )

        kt_lambda = kt_engine.DEFAULT_KT_LAMBDA if args.kt_lambda is None else args.kt_lambda
        return kt_engine.execute(plan, tuner=args.tuner, kt_lambda=kt_lambda)
    return search_run.execute(plan, progress=not args.no_progress and sys.stderr.isatty(), argv=args.argv)
