"""A trial's fixed cost: its wall time outside the steps it exists to run.

A trial runs optimizer steps twice, timed (the step-time objective) and in ``fit`` (the accuracy objective); all
else, from Keras' reset and tracing to evaluation and the bookkeeping between trials (Optuna's tell and ask, the
CSVs, the progress bar), is overhead that caps how many candidates a search can look at. ``TrialClock`` measures
it as ``fixed_s``.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import keras


@dataclasses.dataclass
class TrialClock:
    """Wall-clock seconds of one trial, of its steps, and of the bookkeeping since the process's previous trial.

    ``previous_end`` is when the previous trial of this process ended (``time.perf_counter``), None for its first.
    """

    previous_end: float | None = None
    start: float = dataclasses.field(default_factory=time.perf_counter)
    timed_s: float = 0.0  # the timed loop's calls
    steps_s: float = 0.0  # training's train calls (train_on's or fit's)
    steps: int = 0  # training's optimizer steps (train calls times steps_per_execution)

    def count_steps(self, model: keras.Model) -> None:
        """Add the time of every later call of ``model``'s train function (training's steps) to ``steps_s``.

        ``train_on`` and ``fit`` reuse the train function that timing traced (``make_train_function`` keeps an
        existing one), so wrapping it counts exactly the steps: each call's dispatch and step, not fit's setup or its
        callbacks.
        """
        inner = model.train_function

        def counted(iterator: Any) -> Any:
            start = time.perf_counter()
            try:
                return inner(iterator)
            finally:
                self.steps_s += time.perf_counter() - start
                self.steps += model.steps_per_execution

        model.train_function = counted

    def attrs(self, *, now: float | None = None) -> dict[str, float]:
        """``fixed_s`` (wall time outside timed and training steps, bookkeeping included), ``bookkeeping_s``, and
        ``fit_step_ms``: fit's own wall time per step, a check on the measured step time of every trial."""
        now = time.perf_counter() if now is None else now
        bookkeeping = None if self.previous_end is None else self.start - self.previous_end
        fixed = now - self.start - self.timed_s - self.steps_s + (bookkeeping or 0.0)
        attrs = {"fixed_s": round(fixed, 4)}
        if bookkeeping is not None:
            attrs["bookkeeping_s"] = round(bookkeeping, 4)
        if self.steps:
            attrs["fit_step_ms"] = round(1e3 * self.steps_s / self.steps, 4)
        return attrs
