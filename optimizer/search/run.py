"""A search run from validated settings to written results: the side-effecting edge of `archopt search`."""

from __future__ import annotations

import argparse
import dataclasses
import re
import signal
import time
from pathlib import Path

from optuna.trial import TrialState

from optimizer.defaults import (
    DATASETS,
    ETA,
    EXPORT_EPOCHS,
    NO_TRIAL_LIMIT,
    SEARCH_SHARE,
    TRAIN_STEPS,
    TRIALS,
    TRIALS_PER_PROCESS,
)
from optimizer.errors import ArchoptError, CandidateFailed, check_positive_int
from optimizer.interrupts import raise_interrupt
from optimizer.results import baselines, finalists, html_report, report
from optimizer.results.summary import print_summary
from optimizer.search import supervisor
from optimizer.search.durations import parse_duration
from optimizer.search.finish import finish
from optimizer.search.plan import Plan
from optimizer.search.run_dir import prepare_run_dir
from optimizer.study import run_config
from optimizer.study import study as studies
from optimizer.study.fleet import TrialGate, shares_study
from optimizer.study.progress import ProgressBar, quiet_candidate_tracebacks
from optimizer.study.run_config import RunConfig
from optimizer.study.samplers import DEFAULT_SAMPLER, SAMPLERS
from optimizer.study.storage import fail_stale, retry
from optimizer.trial.budget import Budget


def plan_from_args(args: argparse.Namespace) -> Plan:
    """Check every flag before anything slow happens (pure: no files, no TensorFlow)."""
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
    model = getattr(args, "around", None)
    if model is None:
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
    return f"around:{model}", (model,)


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
    steps = None if args.epochs is not None else (TRAIN_STEPS if args.train_steps is None else args.train_steps)
    return Budget(batch_size=args.batch_size, train_steps=steps, epochs=args.epochs, timing_s=args.timing_s,
                  max_step_ms=args.max_step_ms, min_steps=getattr(args, "min_steps", None),
                  eta=getattr(args, "eta", ETA))


def _positive(flag: str, value: object) -> int:
    check_positive_int(**{flag: value})
    return value


def _timeout(text: str | None) -> float | None:
    try:
        return None if text is None else parse_duration(text)
    except ValueError as error:
        raise ArchoptError(str(error)) from None


def _slug(space: str) -> str:
    name = space.rpartition(":")[2] if ":" in space else space
    if space.startswith("around:"):  # results/<dataset>-around_<model file or module>
        base = Path(space.removeprefix("around:").partition(":")[0]).name
        name = "around_" + (Path(base).stem if base.endswith((".py", ".keras", ".h5")) else base.rpartition(".")[2])
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_").lower() or "space"


def execute(plan: Plan, *, progress: bool = True, argv: list[str] | None = None) -> int:
    """Run the search until --trials complete trials, --timeout, Ctrl-C or SIGTERM; results survive all four.

    With ``plan.trials_per_process`` (and the command line in ``argv``), this process only supervises workers that
    run the trials; each worker comes back here.
    """
    plan = prepare_run_dir(plan)
    if plan.trials_per_process and argv is not None and not supervisor.is_worker():
        return supervisor.supervise(argv, timeout=plan.timeout)
    # The reserve from the whole --timeout (a worker's plan.timeout is still the flag's), before it becomes what's left.
    reserve = finalists.reserve_s(plan.timeout, k=plan.finalists, share=1 - SEARCH_SHARE)
    plan = dataclasses.replace(plan, timeout=supervisor.remaining_timeout(plan.timeout), reserve_s=reserve)
    # Keras and TensorFlow, imported here and not above: the supervisor runs this module too and must not load them.
    from optimizer.measure.device import configure_threads
    from optimizer.study import assemble

    # The storage first: an unreachable URL is reported before minutes of data loading.
    shared = shares_study(plan.config, run_dir=plan.run_dir)  # other workers' samplers propose other candidates
    study = assemble.study_for(plan.config, sampler=plan.sampler, shared=shared)
    configure_threads()  # before loading any model runs a TensorFlow op
    # A bad --baseline fails now, not after the search; before the objective seeds Keras, so trials draw the same
    # weights.
    baselines.check_specs(plan.baselines)
    objective = assemble.objective_for(plan.config)
    assemble.connect(study, objective)
    _start_around(study, objective)
    html_report.record_fingerprint(study)  # the report's settings name the hardware of every device class
    return _optimize(study, objective, plan=plan, progress=progress)


def _start_around(study, objective) -> None:
    """With ``--around``, a new study's first trial is the user's model as written, announced with what is kept."""
    from optimizer.space.around import space_of

    space = space_of(objective.build)
    if space is None or study.trials:
        return
    if space.kept:
        print(space.kept)
    study.enqueue_trial(space.identity, skip_if_exists=True)


def _optimize(study, objective, *, plan: Plan, progress: bool) -> int:
    quiet_candidate_tracebacks()
    deadline = None if plan.timeout is None else time.monotonic() + plan.timeout  # the finalists' too
    plan = dataclasses.replace(plan, timeout=None if plan.timeout is None else max(0.0, plan.timeout - plan.reserve_s))
    bar = ProgressBar(study, target=plan.n_trials, timeout=plan.timeout, enabled=progress)
    # fail_stale first: a dead worker's trial is failed (with its reason) and queued before the next trial starts.
    # The gate last: a worker whose next trial would take the fleet past --trials waits for the running ones.
    gate = TrialGate(target=plan.n_trials, timeout=plan.timeout)
    callbacks = [
        lambda s, t: fail_stale(s), lambda s, t: report.write_outputs(s, plan.run_dir, throttle=True),
        studies.stop_at(plan.n_trials), studies.stop_when_hopeless, studies.stop_when_exhausted, bar.update, gate,
    ]
    previous = signal.signal(signal.SIGTERM, raise_interrupt)
    try:
        if gate.open(study):
            quota = plan.trials_per_process if supervisor.is_worker() else None
            study.optimize(
                objective,
                n_trials=quota,
                timeout=plan.timeout,
                catch=(CandidateFailed,),
                callbacks=callbacks,
                gc_after_trial=False,
            )
    finally:
        signal.signal(signal.SIGTERM, previous)
        bar.close()
        if getattr(objective, "interrupted", None) is not None:
            retry(study, objective.interrupted)  # the interrupted trial's parameters run first on resume
        frame = report.write_outputs(study, plan.run_dir)
    if supervisor.is_worker() and _search_goes_on(study, plan=plan):
        return supervisor.EXIT_MORE
    finished = finish(study, objective, plan=plan, deadline=deadline)
    frame = frame if finished is None else finished
    if studies.exhausted(study):
        print(f"The search stopped early: its last {studies.EXHAUSTED_AFTER_REPEATS} candidates all repeated earlier "
              "ones, so the sampler finds nothing new in this space; widen the space to search on.")
    print_summary(frame, run_dir=plan.run_dir)
    return 0


def _search_goes_on(study, *, plan: Plan) -> bool:
    """Whether this worker stopped only at its quota: trials to go, time left, not every candidate failing, and not
    only repeats proposed."""
    complete, failed = studies.count(study, TrialState.COMPLETE), studies.count(study, TrialState.FAIL)
    hopeless = complete == 0 and failed >= studies.GIVE_UP_AFTER_FAILURES
    complete = studies.count(study, *studies.JUDGED)
    left = supervisor.remaining_timeout(None)  # None: no --timeout
    left = None if left is None else left - plan.reserve_s  # the finalists' share is not the search's
    return complete < plan.n_trials and (left is None or left > 1.0) and not hopeless and not studies.exhausted(study)
