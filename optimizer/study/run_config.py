"""What a run folder was started with, saved as run.json so resume, export and retime rebuild the same thing."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from optimizer.defaults import TRAIN_SIZE, VAL_SIZE
from optimizer.errors import ArchoptError
from optimizer.study.storage import masked, unmasked
from optimizer.trial.budget import Budget

FILE = "run.json"
# run.json's word for the folder's own SQLite file, the default storage: relative, so that a folder
# moved or copied (to a laptop, to try a resume on a copy) reads its own study, not the one at the
# path it was started at.
OWN_STORAGE = "study.db"
# A resumed run may change how long it runs, never what a trial measures.
MUST_MATCH = ("dataset", "space", "engine", "val_size", "train_size", "seed", "budget")
# The command-line flag of each recorded setting, for refusals' messages.
FLAGS = {"dataset": "--dataset", "space": "--space", "engine": "--engine", "val_size": "--val-size",
         "train_size": "--train-size", "seed": "--seed", "batch_size": "--batch-size", "train_steps": "--train-steps",
         "epochs": "--epochs", "timing_s": "--timing-s", "max_step_ms": "--max-step-ms", "min_steps": "--min-steps",
         "eta": "--eta"}


@dataclasses.dataclass(frozen=True)
class RunConfig:
    dataset: str
    space: str
    storage: str
    study: str
    data_dir: str | None = None
    seed: int = 0
    val_size: int = VAL_SIZE
    train_size: int | None = TRAIN_SIZE
    budget: Budget = Budget()
    engine: str = "optuna"  # who proposed the candidates: "optuna" or "keras-tuner"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "RunConfig":
        return cls(**{**data, "budget": Budget(**data.get("budget", {}))})


def own_storage(run_dir: Path) -> str:
    """The SQLite URL of ``run_dir``'s own study.db, a run folder's default storage."""
    return f"sqlite:///{Path(run_dir).resolve() / OWN_STORAGE}"


def save(config: RunConfig, run_dir: Path) -> None:
    data = config.to_dict()
    # A password never goes into the folder (people copy and share it): commands take it from
    # --storage or $ARCHOPT_DB.
    data["storage"] = OWN_STORAGE if config.storage == own_storage(run_dir) else masked(config.storage)
    (run_dir / FILE).write_text(json.dumps(data, indent=2) + "\n")


def load(run_dir: Path, *, storage: str | None = None) -> RunConfig:
    """The settings in ``run_dir``'s run.json; a recorded storage's masked password is ``storage``'s (the command's
    --storage) or else the environment's ARCHOPT_DB."""
    config = recorded(run_dir)
    url = unmasked(storage_url(config.storage, run_dir=Path(run_dir)), given=storage)
    return dataclasses.replace(config, storage=url)


def recorded(run_dir: Path) -> RunConfig:
    """The settings in ``run_dir``'s run.json as written, its storage URL too (relative, or its password masked):
    for what needs no study, such as the dataset."""
    path = Path(run_dir) / FILE
    if not path.is_file():
        raise ArchoptError(f"`{run_dir}` is not an archopt run folder: {FILE} is missing.")
    try:
        return RunConfig.from_dict(json.loads(path.read_text()))
    except (ValueError, TypeError) as error:
        raise ArchoptError(f"`{path}` is unreadable: {error}.") from error


def storage_url(recorded: str, *, run_dir: Path) -> str:
    """The storage URL that run.json's ``recorded`` names: the folder's own study.db wherever the folder now is.

    A run.json written before it recorded the own file relatively holds its absolute URL; a folder of the same name
    with a study.db of its own is that folder moved or copied, and reads its own file too.
    """
    if recorded == OWN_STORAGE:
        return own_storage(run_dir)
    if recorded.startswith("sqlite:///"):
        path = Path(recorded.removeprefix("sqlite:///"))
        here = Path(run_dir).resolve()
        if path.name == OWN_STORAGE and path.parent.name == here.name and (here / OWN_STORAGE).is_file():
            return own_storage(run_dir)
    return recorded


def check_resume(*, saved: RunConfig, new: RunConfig) -> None:
    """Refuse to mix trials measured under different settings in one study, naming every flag that differs, so the
    message says what to pass to resume (a changed default shows as the flags the run was started with)."""
    old, now = flat(measured(saved)), flat(measured(new))
    differ = differing(old, now)
    if differ:
        raise ArchoptError(
            f"this run folder was started with {shown(old, differ)}; a resumed run must use the same, but got "
            f"{shown(now, differ)}."
        )


def measured(config: RunConfig) -> dict:
    """The settings that change what a trial measures, as the JSON values a study records."""
    return json.loads(json.dumps({field: config.to_dict()[field] for field in MUST_MATCH}))


def flat(settings: dict) -> dict:
    """``settings`` with the budget's fields one by one; a budget that is not a mapping (a record this archopt cannot
    read) stays one value, so a comparison names it."""
    budget = settings.get("budget")
    if not isinstance(budget, dict):
        return dict(settings)
    return {**{key: value for key, value in settings.items() if key != "budget"}, **budget}


def differing(old: dict, new: dict) -> list[str]:
    """The keys whose values differ, in ``new``'s order (Budget's: --train-steps before --min-steps), then ``old``'s."""
    return [key for key in dict.fromkeys([*new, *old]) if old.get(key) != new.get(key)]


def shown(settings: dict, keys: list[str]) -> str:
    """'--train-steps 300 --min-steps 300': the flags that give ``settings``' values of ``keys``."""
    values = {key: settings.get(key) for key in keys}
    return " ".join(f"{FLAGS.get(k, k)} {'(not set)' if v is None else v}" for k, v in values.items())
