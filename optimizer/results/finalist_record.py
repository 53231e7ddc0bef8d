"""What a finalist stores on its trial (``results.finalists`` trains it), and whether an export may reuse it."""

from __future__ import annotations

from pathlib import Path

from optuna.trial import FrozenTrial

from optimizer.errors import ArchoptError

ACCURACY = "final_accuracy"  # validation accuracy after the export recipe
EPOCHS = "final_epochs"
RECIPE = "final_recipe"  # schedule, augmentation, epochs, batch size, training images, seed
WEIGHTS = "final_weights"  # the saved model, relative to the run folder


def is_scored(attrs: dict, *, epochs: int) -> bool:
    """Whether a trial already has a final accuracy at ``epochs`` epochs (never trained twice)."""
    return ACCURACY in attrs and attrs.get(EPOCHS) == epochs


def reusable_weights(trial: FrozenTrial, *, run_dir: Path, epochs: int, augmentation: str) -> Path:
    """The finalist's saved weights if they were trained with this export's recipe; else a one-line ArchoptError."""
    attrs = trial.user_attrs
    if ACCURACY not in attrs or WEIGHTS not in attrs:
        raise ArchoptError(f"trial {trial.number} is not a finalist (it has no final_accuracy); export it without "
                           "--reuse-finalist.")
    recipe = attrs.get(RECIPE, {})
    if attrs.get(EPOCHS) != epochs or recipe.get("augmentation") != augmentation:
        raise ArchoptError(
            f"finalist trial {trial.number} trained {attrs.get(EPOCHS)} epochs with augmentation "
            f"{recipe.get('augmentation')!r}, but this export asks for {epochs} with {augmentation!r}; "
            "match them or export without --reuse-finalist."
        )
    path = Path(run_dir) / attrs[WEIGHTS]
    if not path.is_file():
        raise ArchoptError(f"finalist trial {trial.number}'s weights `{path}` are missing; export it without "
                           "--reuse-finalist.")
    return path
