"""How much work one trial may do: a plain value, importable without TensorFlow (the supervisor reads it)."""

from __future__ import annotations

import dataclasses

from optimizer.defaults import BATCH_SIZE, ETA, MAX_STEP_MS, TIMING_S, TRAIN_STEPS
from optimizer.errors import ArchoptError, check_positive, check_positive_int
from optimizer.trial.rungs import make_rungs


@dataclasses.dataclass(frozen=True)
class Budget:
    """How much work one trial may do. The default suits hundreds of trials overnight on a laptop CPU."""

    batch_size: int = BATCH_SIZE
    train_steps: int | None = TRAIN_STEPS
    epochs: int | None = None
    timing_s: float = TIMING_S
    max_step_ms: float = MAX_STEP_MS
    # The first rung of successive halving (see optimizer.trial.rungs); None: ``train_steps``,
    # single fidelity. Stored resolved, so run.json and a fleet's study say what was measured, and a
    # later change of the command line's default cannot reinterpret an old run's None.
    min_steps: int | None = None
    eta: int = ETA  # each rung keeps the top 1/eta of the trials that reached it

    @property
    def rungs(self) -> tuple[int | None, ...]:
        """Training steps at which a trial is scored; the last is the full budget (None: ``epochs`` whole epochs)."""
        if self.train_steps is None:
            return (None,)
        return make_rungs(min_steps=self.min_steps, max_steps=self.train_steps, eta=self.eta)

    def __post_init__(self) -> None:
        check_positive_int(batch_size=self.batch_size)
        check_positive(timing_s=self.timing_s, max_step_ms=self.max_step_ms)
        if (self.train_steps is None) == (self.epochs is None):
            raise ArchoptError(
                f"give exactly one of a step or an epoch budget, but got ({self.train_steps=}, {self.epochs=})."
            )
        check_positive_int(
            **{k: v for k, v in (("train_steps", self.train_steps), ("epochs", self.epochs)) if v is not None}
        )
        if self.min_steps is not None and self.epochs is not None:
            raise ArchoptError(
                f"`--min-steps` needs --train-steps, not epochs, but got ({self.min_steps=}, {self.epochs=})."
            )
        if self.min_steps is None and self.train_steps is not None:
            object.__setattr__(self, "min_steps", self.train_steps)  # frozen: resolved once, here
        _ = self.rungs  # checks min_steps and eta: one line naming the bad value

