"""How much work one trial may do: a plain value, importable without TensorFlow (the supervisor reads it)."""

from __future__ import annotations

import dataclasses

from optimizer.defaults import TRAIN_STEPS
from optimizer.errors import ArchoptError, check_positive


@dataclasses.dataclass(frozen=True)
class Budget:
    """How much work one trial may do. The default suits hundreds of trials overnight on a laptop CPU."""

    batch_size: int = 64
    train_steps: int | None = TRAIN_STEPS
    epochs: int | None = None
    timing_s: float = 1.0
    max_step_ms: float = 1000.0

    def __post_init__(self) -> None:
        check_positive(batch_size=self.batch_size, timing_s=self.timing_s, max_step_ms=self.max_step_ms)
        if (self.train_steps is None) == (self.epochs is None):
            raise ArchoptError(f"give exactly one of a step or an epoch budget, but got ({self.train_steps=}, {self.epochs=}).")
        check_positive(**{k: v for k, v in (("train_steps", self.train_steps), ("epochs", self.epochs)) if v is not None})
