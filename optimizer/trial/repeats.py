"""Candidates the study has already judged: answered from the earlier trial instead of trained again.

Two trials repeat each other when, on the same device class, they sampled the same knobs or built the same network
(``architecture_key``: layers, wiring and compile settings, which sees through knobs that change nothing). A network
with a custom layer is matched on its knobs alone. Why and how: docs/how-a-trial-is-measured.md.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

REPEAT_OF = "repeat_of"
ARCHITECTURE = "architecture"

# Keras layers whose config holds Python code or closures rather than a description: never matched
# on their config.
_OPAQUE = ("Lambda", "TFSMLayer")


def architecture_key(model: Any) -> str | None:
    """A digest of ``model``'s layers, wiring, optimizer and loss; None when its config may not describe it fully."""
    import keras  # here, not at the top: the supervisor and the CLI read ``is_repeat`` without loading TensorFlow

    if not _described_by_config(model):
        return None
    loss = model.loss
    if not (loss is None or isinstance(loss, str)):
        if not getattr(loss, "__module__", type(loss).__module__).startswith("keras."):
            return None  # a loss of the space's own, say a lambda: its serialization may not tell two apart
        loss = keras.losses.serialize(loss)
    optimizer = model.optimizer.get_config() if getattr(model, "optimizer", None) is not None else None
    try:
        text = json.dumps({"model": model.get_config(), "optimizer": optimizer, "loss": loss}, sort_keys=True)
    except (TypeError, ValueError):  # something in the config that JSON cannot hold: no key rather than a guess
        return None
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _described_by_config(layer: Any) -> bool:
    """Whether ``layer`` and every layer inside it are Keras' own classes, whose configs hold all their settings."""
    cls = type(layer)
    if not cls.__module__.startswith("keras.") or cls.__name__ in _OPAQUE:
        return False
    return all(_described_by_config(inner) for inner in getattr(layer, "layers", []))


def earlier_trial(trial: Any, *, architecture: str | None, device: Any) -> FrozenTrial | None:
    """The first judged trial, not itself a repeat, that ``trial`` repeats on the same device class; else None.

    A trial without a study (a FixedTrial: a baseline, an export, a KerasTuner trial) repeats nothing.
    """
    study = getattr(trial, "study", None)
    if study is None:
        return None
    judged = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
    return _first_match(judged, params=trial.params, architecture=architecture, device=device)


def seen_trial(study: optuna.Study, *, params: dict, architecture: str | None, device: Any,
               exclude: int) -> FrozenTrial | None:
    """The first trial of any state but WAITING (judged, running or failed) that a proposal of ``params`` building
    ``architecture`` would repeat; trial ``exclude`` (the one proposing) is left out."""
    trials = [t for t in study.get_trials(deepcopy=False) if t.number != exclude and t.state != TrialState.WAITING]
    return _first_match(trials, params=params, architecture=architecture, device=device)


def _first_match(trials: list[FrozenTrial], *, params: dict, architecture: str | None,
                 device: Any) -> FrozenTrial | None:
    for earlier in trials:
        attrs = earlier.user_attrs
        if REPEAT_OF in attrs or str(attrs.get("device", "")) != str(device or ""):
            continue
        if earlier.params == params or (architecture is not None and attrs.get(ARCHITECTURE) == architecture):
            return earlier
    return None


def answered(earlier: FrozenTrial) -> optuna.TrialPruned:
    """The stop of a repeat: nothing trained, the earlier trial's result stands."""
    return optuna.TrialPruned(f"repeats trial {earlier.number}'s architecture: its result stands, nothing trained.")


def is_repeat(trial: FrozenTrial) -> bool:
    return REPEAT_OF in trial.user_attrs
