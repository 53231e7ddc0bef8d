"""What a search shows while it runs: a progress bar, and failed candidates without tracebacks."""

from __future__ import annotations

import logging
import time

import optuna
from optuna.trial import TrialState

from optimizer.defaults import NO_TRIAL_LIMIT
from optimizer.errors import CandidateFailed
from optimizer.trial.halving import rung_counts
from optimizer.trial.repeats import is_repeat


class ProgressBar:
    """Complete trials against the target, failures, and time left of --timeout."""

    def __init__(self, study: optuna.Study, *, target: int, timeout: float | None, enabled: bool = True) -> None:
        from tqdm.auto import tqdm

        self.start, self.timeout = time.monotonic(), timeout
        done = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))
        total = None if target >= NO_TRIAL_LIMIT else target  # no limit: a count, no percentage
        self.bar = tqdm(total=total, initial=min(done, target), unit="trial", disable=not enabled, dynamic_ncols=True)

    def update(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        trials = study.get_trials(deepcopy=False)
        states = [t.state for t in trials]
        judged = states.count(TrialState.COMPLETE) + states.count(TrialState.PRUNED)
        self.bar.n = judged if self.bar.total is None else min(judged, self.bar.total)
        postfix = {"failed": states.count(TrialState.FAIL)}
        repeats = sum(map(is_repeat, trials))
        if repeats:
            postfix["repeats"] = repeats
        if states.count(TrialState.PRUNED) > repeats:  # halving: candidates per rung
            postfix["rungs"] = rung_counts(trials)
        if self.timeout:
            postfix["time_left"] = f"{max(0.0, self.timeout - (time.monotonic() - self.start)) / 60:.0f}m"
        self.bar.set_postfix(postfix, refresh=True)

    def close(self) -> None:
        self.bar.close()


class _NoCandidateTraceback(logging.Filter):
    """A candidate that fails is expected: log its one-line reason, not a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], CandidateFailed):
            record.exc_info = None
        return True


def quiet_candidate_tracebacks() -> None:
    # Optuna logs from child loggers to the handler of "optuna": a handler filter sees them all.
    for handler in logging.getLogger("optuna").handlers:
        if not any(isinstance(f, _NoCandidateTraceback) for f in handler.filters):
            handler.addFilter(_NoCandidateTraceback())
