"""What a search shows while it runs: a progress bar, failed candidates without tracebacks, and Optuna's log lines
and Python's warnings kept in the run folder's log file instead of the console."""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import time
from pathlib import Path
from typing import Iterator

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


LOG_FILE = "archopt.log"  # in the run folder: Optuna's log lines (one per trial) and Python's warnings
_LOGGERS = ("optuna", "py.warnings")  # py.warnings: where logging.captureWarnings sends warnings


class _RunLog(logging.handlers.MemoryHandler):
    """Holds the records until the run folder exists (``log_to``), then writes them and every later one to its file."""

    def __init__(self) -> None:
        super().__init__(capacity=0)

    def shouldFlush(self, record: logging.LogRecord) -> bool:
        return self.target is not None


@contextlib.contextmanager
def console_log(*, verbose: bool = False) -> Iterator[None]:
    """While a search runs, Optuna's log lines and Python's warnings go to the run folder's log file only (see
    ``log_to``), so the console shows archopt's own progress and summary; ``verbose`` shows them on the console too."""
    buffer, console = _RunLog(), logging.StreamHandler()
    loggers = [logging.getLogger(name) for name in _LOGGERS]
    propagate = [logger.propagate for logger in loggers]
    logging.captureWarnings(True)
    if not verbose:
        optuna.logging.disable_default_handler()
    for logger in loggers:
        logger.propagate = False  # not to a root handler someone else set up (pytest, absl)
        logger.addHandler(buffer)
    if verbose:
        loggers[1].addHandler(console)  # Optuna's own handler shows its lines
    try:
        yield
    finally:
        for logger, before in zip(loggers, propagate):
            logger.removeHandler(buffer)
            logger.removeHandler(console)
            logger.propagate = before
        _close(buffer)
        logging.captureWarnings(False)
        if not verbose:
            optuna.logging.enable_default_handler()


def log_to(path: Path | None) -> None:
    """Write the held and later records of ``console_log`` to ``path`` (appending); None: stop writing to a file."""
    for handler in logging.getLogger(_LOGGERS[0]).handlers:
        if isinstance(handler, _RunLog):
            if handler.target is not None:
                handler.target.close()
            target = None
            if path is not None:
                target = logging.FileHandler(path, encoding="utf-8")
                target.setFormatter(logging.Formatter("[%(levelname)1.1s %(asctime)s %(name)s] %(message)s"))
            handler.setTarget(target)
            handler.flush()


def _close(buffer: _RunLog) -> None:
    buffer.flush()
    if buffer.target is not None:
        buffer.target.close()
    buffer.close()
