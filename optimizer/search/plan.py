"""A search run's checked settings, as both engines (Optuna's, KerasTuner's) receive them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from optimizer.defaults import EXPORT_EPOCHS
from optimizer.study.run_config import RunConfig


@dataclasses.dataclass(frozen=True)
class Plan:
    run_dir: Path
    config: RunConfig
    sampler: str
    n_trials: int
    timeout: float | None
    baselines: tuple[str, ...] = ()  # MODEL specs measured with the trial protocol once the search ends
    trials_per_process: int = 0  # 0: every trial in this process; N: workers of N trials (see supervisor)
    finalists: int = 0  # front members trained with the export recipe once the search ends (results.finalists)
    finalist_epochs: int = EXPORT_EPOCHS
    reserve_s: float = 0.0  # seconds at the end of --timeout kept for the finalists (set by execute)

