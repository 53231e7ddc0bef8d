"""`archopt search`: run (or resume) a multi-objective architecture search into a run folder."""

from __future__ import annotations

import argparse
import sys

from optimizer.defaults import (
    BATCH_SIZE,
    DATASETS,
    DEFAULT_SAMPLER,
    ETA,
    EXPORT_EPOCHS,
    FINALISTS,
    MAX_STEP_MS,
    SAMPLERS,
    SEARCH_SHARE,
    TIMING_S,
    TRAIN_SIZE,
    TRAIN_STEPS,
    TRIALS,
    TRIALS_PER_PROCESS,
    TUNERS,
    VAL_SIZE,
)

EXAMPLE = """examples:
  archopt search --trials 20 --train-steps 100 --out results/quick   # a short first try
  archopt search --timeout 8h        # overnight, into results/fashion_mnist-default
  archopt search --timeout 8h        # the same command again resumes that run

Each trial is scored on validation images; the test set is for `archopt export` only."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "search", help="search architectures for the accuracy / step-time front", epilog=EXAMPLE,
        description="Search architectures for the front of validation accuracy against training step time, into a "
        "run folder; run the same command again to resume it.",
    )
    budget = p.add_mutually_exclusive_group()  # a trial trains for steps or for epochs
    p.add_argument("--dataset", default="fashion_mnist", choices=DATASETS, help="the images to classify")
    p.add_argument("--data-dir", help="folder holding the dataset's original files")
    p.add_argument("--space", default="default", help="'default', path/to/file.py:Name or package.module:Name")
    p.add_argument("--sampler", default=None, choices=SAMPLERS, help=f"Optuna's sampler (default: {DEFAULT_SAMPLER})")
    p.add_argument("--trials", type=int, default=None,
                   help="stop once the study holds this many complete trials, those stopped at a rung and "
                        f"repeats included (default: {TRIALS} without --timeout, no limit with one)")
    p.add_argument("--timeout", help="stop starting trials after this long: 90, 30m, 8h, 1h30m")
    p.add_argument("--out", metavar="RUN", help="run folder (default: results/<dataset>-<space>)")
    p.add_argument("--storage", metavar="URL", help="Optuna storage URL; run.json keeps it with its password masked "
                   "(default: sqlite:///RUN/study.db; a resume without it reads the password from $ARCHOPT_DB)")
    p.add_argument("--study", help="study name (default: the run folder's name)")
    p.add_argument("--seed", type=int, default=0, help="seeds the split, the sampler and training; the same seed "
                   "repeats a run")
    p.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="images per training step")
    budget.add_argument(
        "--train-steps", type=int, default=None, help=f"optimizer steps of training per trial (default: {TRAIN_STEPS})"
    )
    p.add_argument("--min-steps", type=int, default=None,
                   help="successive halving: the first rung's training steps; rungs grow by --eta up to --train-steps "
                        "(default: --train-steps, a single rung)")
    p.add_argument("--eta", type=int, default=ETA,
                   help="each rung keeps the top 1/eta of its trials (default: %(default)s)")
    budget.add_argument("--epochs", type=int, default=None,
                        help="train for whole epochs of the training subset instead of --train-steps")
    p.add_argument("--train-size", type=int, default=TRAIN_SIZE, help="training images per trial")
    p.add_argument(
        "--val-size", type=int, default=VAL_SIZE, help="validation images held out of training (default: %(default)s)"
    )
    p.add_argument(
        "--timing-s",
        type=float,
        default=TIMING_S,
        help="most seconds of timed steps on fixed batches (epoch budgets, first rungs under 20 steps), fewer once "
        "the median is known to 2%%; a step budget's first rung is timed all through (default: %(default)s)",
    )
    p.add_argument("--max-step-ms", type=float, default=MAX_STEP_MS, help="fail candidates slower than this per step")
    p.add_argument("--baseline", action="append", default=[], metavar="MODEL",
                   help="your own model, measured like a trial and compared with the front; repeatable "
                        "(a .keras file, an export folder, file.py:function or package.module:function)")
    p.add_argument("--around", metavar="MODEL",
                   help="search edits of your own Sequential or functional CNN instead of --space (as --baseline "
                        "takes it); it is also a baseline")
    p.add_argument("--finalists", type=int, default=FINALISTS, metavar="K",
                   help="before the search ends, train K distinct front members with the export recipe (less the "
                        "validation images) and score them on validation; with --timeout, the search stops "
                        f"proposing at {SEARCH_SHARE * 100:.0f}%% of it to leave them time; 0: none "
                        "(default: %(default)s)")
    p.add_argument("--finalist-epochs", type=int, default=EXPORT_EPOCHS,
                   help="epochs each finalist trains, as `archopt export --epochs` (default: %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="also show Optuna's log lines and warnings, which go to RUN/archopt.log in any case")
    p.add_argument("--trials-per-process", type=int, default=None, metavar="N",
                   help="run trials in worker processes of N trials each, so TensorFlow's per-model memory is "
                        "returned to the system; 0 runs every trial in this process (default: "
                        f"{TRIALS_PER_PROCESS}; 0 with --engine keras-tuner, which takes no other)")
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
    from optimizer.search.run_dir import leave_as_found_on_failure
    from optimizer.study.progress import console_log

    plan = search_run.plan_from_args(args)
    with console_log(verbose=args.verbose):
        return leave_as_found_on_failure(plan, lambda: _search(plan, args))


def _search(plan, args: argparse.Namespace) -> int:
    from optimizer.search import run as search_run

    if args.engine == "keras-tuner":
        from optimizer.search import kt_engine

        kt_lambda = kt_engine.DEFAULT_KT_LAMBDA if args.kt_lambda is None else args.kt_lambda
        return kt_engine.execute(plan, tuner=args.tuner, kt_lambda=kt_lambda)
    return search_run.execute(plan, progress=not args.no_progress and sys.stderr.isatty(), argv=args.argv)
