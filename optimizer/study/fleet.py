"""Workers that start together on one study: every one gets in, and one with other measuring settings is refused.

``retry_concurrent`` retries a step that lost the race to create Optuna's tables or the study; the study records
what a trial measures as user attributes, and a later worker with other settings stops before its first trial.
See docs/fleets.md.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

import optuna
from optuna.trial import TrialState

from optimizer.errors import ArchoptError
from optimizer.optuna_private import insert_study_user_attrs
from optimizer.study import run_config
from optimizer.study.concurrent_retry import retry_concurrent
from optimizer.study.run_config import RunConfig
from optimizer.study.storage import fail_stale, is_shared, make_storage
from optimizer.study.study import JUDGED, open_study
from optimizer.trial.budget import Budget


def shares_study(config: RunConfig, *, run_dir: Path) -> bool:
    """Whether other workers may run this study: a server database, or a SQLite file other than the run folder's own
    (several run folders given one ``--storage sqlite:///...``). Their samplers are then seeded per worker."""

    return is_shared(config.storage) or config.storage != run_config.own_storage(run_dir)


def join_study(config: RunConfig) -> None:
    """Open (creating it if need be) the study, record its settings if it has none, and refuse other settings.

    Called before a worker writes anything, so a refused worker leaves the study (and its own run.json) untouched.
    """

    storage = make_storage(config.storage)
    try:
        study = open_study(storage=storage, name=config.study, sampler=optuna.samplers.RandomSampler())
        check_settings(study, config)
    finally:
        storage.engine.dispose()  # no idle connections held on the server


def check_settings(study: optuna.Study, config: RunConfig) -> None:
    """Record ``config``'s settings on a study that has none; raise ArchoptError naming the first that differs.

    The first worker to record wins, atomically, even against workers started at the same moment; a study made by
    an archopt that did not record settings adopts the first joining worker's (said on stderr if it has trials).
    """

    own = run_config.measured(config)
    missing = {key: value for key, value in own.items() if key not in study.user_attrs}
    if missing:
        retry_concurrent(lambda: insert_study_user_attrs(study, missing))
    recorded = {**study.user_attrs, "budget": _resolved(study.user_attrs["budget"])}
    if missing and all(recorded[key] == own[key] for key in missing) and study.get_trials(deepcopy=False):
        print(f"archopt: study {study.study_name!r} had no recorded {', '.join(missing)}; it now keeps this "
              f"worker's, and its earlier trials are assumed to be measured with them.", file=sys.stderr)
    _refuse_other(run_config.flat({key: recorded[key] for key in own}), run_config.flat(own), study=study.study_name)


def _refuse_other(recorded: dict, own: dict, *, study: str) -> None:
    first = run_config.differing(recorded, own)[:1]  # one: --train-steps moves the rungs too
    if first:
        raise ArchoptError(
            f"study {study!r} measures trials with {run_config.shown(recorded, first)}, but this worker was started "
            f"with {run_config.shown(own, first)}; start it with the study's settings, or give it another --study."
        )


def _resolved(budget: object) -> object:
    """A recorded budget as a Budget resolves it (an older archopt recorded single fidelity as no first rung, None);
    left as recorded when it is not one this archopt can read, so the comparison names what differs."""
    try:
        return json.loads(json.dumps(dataclasses.asdict(Budget(**budget))))
    except (TypeError, ArchoptError):
        return budget


class TrialGate:
    """Start a trial only while the study needs more than its complete trials and the trials running now.

    Without it, every worker that finishes a trial before the fleet reaches ``--trials`` starts another, and each
    one still running when the target is reached completes too: up to one extra trial per worker. With it, a worker
    whose next trial would be surplus waits instead: if the running trials complete, the study is done with exactly
    the target; if one fails, its place is free again. Dead workers' trials are failed meanwhile (heartbeats), so a
    wait ends; ``timeout`` (seconds, from now) bounds it too. Two workers that check at the same instant may still
    both start, one trial over.
    """

    def __init__(self, *, target: int, timeout: float | None = None, poll_s: float = 1.0) -> None:
        self.target, self.poll_s = target, poll_s
        self.deadline = None if timeout is None else time.monotonic() + timeout

    def open(self, study: optuna.Study) -> bool:
        """Whether to start another trial, after waiting while the running trials would reach the target."""

        while True:
            trials = study.get_trials(deepcopy=False, states=(*JUDGED, TrialState.RUNNING))
            complete = sum(t.state in JUDGED for t in trials)  # complete, or stopped by halving
            if complete >= self.target or (self.deadline is not None and time.monotonic() >= self.deadline):
                return False
            if len(trials) < self.target:
                return True
            time.sleep(self.poll_s)
            fail_stale(study)

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if not self.open(study):
            study.stop()
