"""Load the Keras model a user names on the command line (``archopt explain MODEL``, ``--baseline``, ``--around``):
a ``.keras`` (or legacy ``.h5``) file, a folder written by ``archopt export`` (its ``model.keras``), or
``path/to/file.py:function`` / ``package.module:function`` returning a ``keras.Model``. Every failure is an
``ArchoptError`` with one line that names the spec.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import keras

from optimizer.errors import ArchoptError
from optimizer.space.imports import load_object, one_line

_MODEL_SUFFIXES = (".keras", ".h5")


def load_model(spec: str) -> keras.Model:
    """The Keras model that ``spec`` names (see the module docstring for the forms)."""
    target, _, function = spec.rpartition(":")
    # Only `x.py:f` and `pkg.mod:f` are function specs; anything else is a path.
    if target and function.isidentifier() and (target.endswith(".py") or _is_module_name(target)):
        return _call(_find_function(target, function), spec=spec)
    return _load_file(Path(spec))


def _is_module_name(text: str) -> bool:
    return all(part.isidentifier() for part in text.split("."))


def _load_file(path: Path) -> keras.Model:
    if path.is_dir():
        return _load_file(_model_in_folder(path))
    if not path.exists():
        raise ArchoptError(f"model file `{path}` does not exist.")
    if path.suffix == ".py":
        raise ArchoptError(f"`{path}` needs the function that builds the model, e.g. `{path}:build_model`.")
    if path.suffix not in _MODEL_SUFFIXES:
        raise ArchoptError(f"model file `{path}` must end in .keras or .h5, or be `file.py:function`.")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as error:  # Keras raises many kinds for a bad or foreign file.
        raise ArchoptError(f"cannot read model file `{path}`: {one_line(error)}") from None


def _model_in_folder(folder: Path) -> Path:
    if (folder / "model.keras").is_file():
        return folder / "model.keras"
    if (folder / "saved_model.pb").is_file():
        raise ArchoptError(
            f"`{folder}` is a SavedModel without `model.keras`, which has lost the Keras layers "
            "needed for per-layer costs; pass the `.keras` file instead."
        )
    raise ArchoptError(f"folder `{folder}` holds no `model.keras`; expected a folder written by `archopt export`.")


def _find_function(target: str, name: str) -> Callable[[], object]:
    function = load_object(f"{target}:{name}", what="function")
    if not callable(function):
        raise ArchoptError(f"`{target}` has no function `{name}`.")
    return function


def _call(function: Callable[[], object], *, spec: str) -> keras.Model:
    try:
        model = function()
    except Exception as error:
        raise ArchoptError(f"`{spec}` failed: {one_line(error)}") from None
    if not isinstance(model, keras.Model):
        raise ArchoptError(f"`{spec}` returned a value of type `{type(model).__name__}`, but expected a keras.Model.")
    return model
