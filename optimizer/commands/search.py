"""`archopt search`: run (or resume) a multi-objective architecture search into a run folder."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from optimizer.defaults import (
    AROUND_WIDTHS,
    BATCH_SIZE,
    DATASETS,
    DEFAULT_SAMPLER,
    ETA,
    EXPORT_EPOCHS,
    FINALISTS,
    MAX_STEP_MS,
    NO_TRIAL_LIMIT,
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
from optimizer.errors import ArchoptError, check_positive_int

if TYPE_CHECKING:
    from optimizer.search.plan import Plan
    from optimizer.trial.budget import Budget

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
    p.add_argument("--around-widths", choices=AROUND_WIDTHS,
                   help="with --around: a width multiplier per convolution stage and per hidden dense layer, or "
                        f"one for all of them (default: {AROUND_WIDTHS[0]})")
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
    from optimizer.search.run_dir import leave_as_found_on_failure
    from optimizer.study.progress import console_log

    plan = plan_from_args(args)
    with console_log(verbose=args.verbose):
        return leave_as_found_on_failure(plan, lambda: _search(plan, args))


def plan_from_args(args: argparse.Namespace) -> Plan:
    """The typed plan of `archopt search`'s flags, each checked before anything slow happens (no files, no
    TensorFlow): the search package never sees argv."""
    from optimizer.search.plan import Plan
    from optimizer.study import run_config
    from optimizer.study.run_config import RunConfig

    if args.dataset not in DATASETS:
        raise ArchoptError(f"unknown dataset {args.dataset!r}; expected one of: {', '.join(DATASETS)}.")
    engine = getattr(args, "engine", "optuna")
    if engine == "keras-tuner" and args.sampler is not None:
        raise ArchoptError(f"`--sampler` chooses Optuna's sampler, but got --sampler {args.sampler!r} with "
                           "`--engine keras-tuner`; use `--tuner`.")
    sampler = args.sampler or DEFAULT_SAMPLER
    if sampler not in SAMPLERS:
        raise ArchoptError(f"unknown sampler {sampler!r}; expected one of: {', '.join(SAMPLERS)}.")
    space, around = _space(args, engine=engine)
    run_dir = Path(args.out or Path("results") / f"{args.dataset}-{_slug(space)}")
    budget = _budget(args)
    if engine == "keras-tuner" and budget.min_steps not in (None, budget.train_steps):
        raise ArchoptError("`--min-steps` is for the optuna engine; KerasTuner's hyperband tuner has its own rungs.")
    config = RunConfig(
        dataset=args.dataset,
        space=space,
        data_dir=args.data_dir,
        seed=args.seed,
        storage=args.storage or run_config.own_storage(run_dir),
        study=args.study or run_dir.resolve().name,
        val_size=_positive("--val-size", args.val_size),
        train_size=_positive("--train-size", args.train_size),
        budget=budget,
        engine=engine,
    )
    return Plan(
        run_dir=run_dir,
        config=config,
        sampler=sampler,
        n_trials=_n_trials(args),
        timeout=_timeout(args.timeout),
        baselines=tuple(getattr(args, "baseline", None) or ()) + around,
        trials_per_process=_per_process(args, engine=engine),
        finalists=_finalists(args),
        finalist_epochs=_positive("--finalist-epochs", getattr(args, "finalist_epochs", EXPORT_EPOCHS)),
    )


def _space(args: argparse.Namespace, *, engine: str) -> tuple[str, tuple[str, ...]]:
    """The recorded space and the extra baseline: ``--space``, or ``around:MODEL`` with MODEL resolved and measured.

    MODEL's file is recorded absolute, so workers, resume, export and retime find it from any folder.
    """
    model, widths = getattr(args, "around", None), getattr(args, "around_widths", None)
    if model is None:
        if widths is not None:
            raise ArchoptError(f"`--around-widths {widths}` sets the widths of an --around search; add --around MODEL.")
        return args.space, ()
    if args.space != "default":
        raise ArchoptError(f"`--around {model}` derives the search space from your model; drop `--space {args.space}`.")
    if engine != "optuna":
        raise ArchoptError("`--around` needs `--engine optuna`: its first trial is your model as written.")
    target, sep, function = model.rpartition(":")
    if sep and target.endswith(".py"):
        model = f"{Path(target).resolve()}:{function}"
    elif not (sep and function.isidentifier() and all(p.isidentifier() for p in target.split("."))):
        model = str(Path(model).resolve())  # a .keras file or an export folder; `pkg.module:function` stays as is
    from optimizer.space.around import recorded

    return recorded(model, widths=widths or AROUND_WIDTHS[0]), (model,)


def _n_trials(args: argparse.Namespace) -> int:
    """``--trials``; without it, ``TRIALS`` when no ``--timeout`` bounds the run, else ``NO_TRIAL_LIMIT``.

    With ``--timeout 8h`` a user means a night: a default trial count would end it after an hour once trials are fast.
    """
    if args.trials is not None:
        return _positive("--trials", args.trials)
    return TRIALS if args.timeout is None else NO_TRIAL_LIMIT


def _per_process(args: argparse.Namespace, *, engine: str) -> int:
    """``--trials-per-process``; without it, ``TRIALS_PER_PROCESS`` for Optuna, 0 for KerasTuner (one oracle, one
    process), which refuses the flag."""
    value = getattr(args, "trials_per_process", None)
    if engine == "keras-tuner" and value:
        raise ArchoptError(f"`--trials-per-process {value}` needs `--engine optuna`: KerasTuner's oracle lives in one "
                           "process; drop the flag or give 0.")
    if value is None:
        return 0 if engine == "keras-tuner" else TRIALS_PER_PROCESS
    return _zero_or_positive("--trials-per-process", value, zero="all in one process")


def _finalists(args: argparse.Namespace) -> int:
    return _zero_or_positive("--finalists", getattr(args, "finalists", 0), zero="none")


def _zero_or_positive(flag: str, value: int, *, zero: str) -> int:
    if value < 0:
        raise ArchoptError(f"`{flag}` must be 0 ({zero}) or positive, but got {value!r}.")
    return value


def _budget(args: argparse.Namespace) -> Budget:
    from optimizer.trial.budget import Budget

    steps = None if args.epochs is not None else (TRAIN_STEPS if args.train_steps is None else args.train_steps)
    return Budget(batch_size=args.batch_size, train_steps=steps, epochs=args.epochs, timing_s=args.timing_s,
                  max_step_ms=args.max_step_ms, min_steps=getattr(args, "min_steps", None),
                  eta=getattr(args, "eta", ETA))


def _positive(flag: str, value: object) -> int:
    check_positive_int(**{flag: value})
    return value


def _timeout(text: str | None) -> float | None:
    from optimizer.search.durations import parse_duration

    try:
        return None if text is None else parse_duration(text)
    except ValueError as error:
        raise ArchoptError(str(error)) from None


def _slug(space: str) -> str:
    name = space.rpartition(":")[2] if ":" in space else space
    if re.match(r"around(/\w+)?:", space):  # results/<dataset>-around_<model file or module>
        base = Path(space.partition(":")[2].partition(":")[0]).name
        name = "around_" + (Path(base).stem if base.endswith((".py", ".keras", ".h5")) else base.rpartition(".")[2])
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_").lower() or "space"


def _search(plan: Plan, args: argparse.Namespace) -> int:
    from optimizer.search.optuna_engine import execute

    if args.engine == "keras-tuner":
        from optimizer.search import kt_engine

        kt_lambda = kt_engine.DEFAULT_KT_LAMBDA if args.kt_lambda is None else args.kt_lambda
        return kt_engine.execute(plan, tuner=args.tuner, kt_lambda=kt_lambda)
    return execute(plan, progress=not args.no_progress and sys.stderr.isatty(), argv=args.argv)
