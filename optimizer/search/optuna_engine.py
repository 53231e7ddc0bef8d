"""The Optuna engine of `archopt search`: a checked plan run to written results, through Ctrl-C, SIGTERM and crashes."""

from __future__ import annotations

import dataclasses
import signal
import time

from optuna.trial import TrialState

from optimizer.errors import CandidateFailed
from optimizer.interrupts import raise_interrupt
from optimizer.results import baselines, finalists, html_report, report
from optimizer.results.summary import print_summary
from optimizer.search import supervisor
from optimizer.search.finish import finish
from optimizer.search.plan import Plan
from optimizer.search.run_dir import prepare_run_dir
from optimizer.study import study as studies
from optimizer.study.fleet import TrialGate, shares_study
from optimizer.study.progress import ProgressBar, quiet_candidate_tracebacks
from optimizer.study.storage import fail_stale, retry


def execute(plan: Plan, *, progress: bool = True, argv: list[str] | None = None) -> int:
    """Run the search until --trials complete trials, --timeout, Ctrl-C or SIGTERM; results survive all four.

    With ``plan.trials_per_process`` (and the command line in ``argv``), this process only supervises workers that
    run the trials; each worker comes back here.
    """
    plan = prepare_run_dir(plan)
    if plan.trials_per_process and argv is not None and not supervisor.is_worker():
        return supervisor.supervise(argv, timeout=plan.timeout)
    # The reserve from the whole --timeout (a worker's plan.timeout is still the flag's), before it
    # becomes what's left.
    reserve = finalists.reserve_s(plan.timeout, k=plan.finalists)
    plan = dataclasses.replace(plan, timeout=supervisor.remaining_timeout(plan.timeout), reserve_s=reserve)
    # Keras and TensorFlow, imported here and not above: the supervisor runs this module too and
    # must not load them.
    from optimizer.measure.device import configure_threads
    from optimizer.study import assemble

    # The storage first: an unreachable URL is reported before minutes of data loading.
    shared = shares_study(plan.config, run_dir=plan.run_dir)  # other workers' samplers propose other candidates
    study = assemble.study_for(plan.config, sampler=plan.sampler, shared=shared)
    configure_threads()  # before loading any model runs a TensorFlow op
    # A bad --baseline fails now, not after the search; before the objective seeds Keras, so trials
    # draw the same weights.
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
    # fail_stale first: a dead worker's trial is failed (with its reason) and queued before the next
    # trial starts. The gate last: a worker whose next trial would take the fleet past --trials
    # waits for the running ones.
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
