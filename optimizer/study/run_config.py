"""What a run folder was started with, saved as run.json so resume, export and retime rebuild the same thing."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from optimizer.errors import ArchoptError
from optimizer.trial.budget import Budget

FILE = "run.json"
# A resumed run may change how long it runs, never what a trial measures.
MUST_MATCH = ("dataset", "space", "engine", "val_size", "train_size", "seed", "budget")


@dataclasses.dataclass(frozen=True)
class RunConfig:
    dataset: str
    space: str
    storage: str
    study: str
    data_dir: str | None = None
    seed: int = 0
    val_size: int = 5000
    train_size: int | None = 20000
    budget: Budget = Budget()
    engine: str = "optuna"  # who proposed the candidates: "optuna" or "keras-tuner"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "RunConfig":
        return cls(**{**data, "budget": Budget(**data.get("budget", {}))})


def save(config: RunConfig, run_dir: Path) -> None:
    (run_dir / FILE).write_text(json.dumps(config.to_dict(), indent=2) + "\n")


def load(run_dir: Path) -> RunConfig:
    path = Path(run_dir) / FILE
    if not path.is_file():
        raise ArchoptError(f"`{run_dir}` is not an archopt run folder: {FILE} is missing.")
    try:
        return RunConfig.from_dict(json.loads(path.read_text()))
    except (ValueError, TypeError) as error:
        raise ArchoptError(f"`{path}` is unreadable: {error}.") from error


def check_resume(*, saved: RunConfig, new: RunConfig) -> None:
    """Refuse to mix trials measured under different settings in one study."""
    for field in MUST_MATCH:
        old, now = getattr(saved, field), getattr(new, field)
        if old != now:
            raise ArchoptError(
                f"this run folder was started with {field}={old!r}; a resumed run must use the same, but got {now!r}."
            )
