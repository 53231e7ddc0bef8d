"""Search spaces: a built-in name, or a KerasTuner HyperModel / `build(hp)` function the user wrote."""

from __future__ import annotations

import inspect
from typing import Any

import keras_tuner as kt

from optimizer.errors import ArchoptError
from optimizer.space import around
from optimizer.space.candidate import BuildFn
from optimizer.space.imports import load_object

BUILTIN = {"default": "search_spaces.default_cnn:DefaultCNN"}


def load_space(spec: str, *, input_shape: tuple[int, ...], num_classes: int) -> BuildFn:
    """A `build(hp) -> keras.Model` for ``spec``; the data's shape is passed to spaces that ask for it."""
    parsed = around.parse(spec)
    if parsed is not None:  # `archopt search --around MODEL`: edits of the user's own model
        model, widths = parsed
        return around.space_for(model, widths=widths, input_shape=input_shape, num_classes=num_classes).build
    obj = load_object(BUILTIN.get(spec, spec), what="search space")
    shape = {"input_shape": tuple(input_shape), "num_classes": num_classes}
    if isinstance(obj, type) and issubclass(obj, kt.HyperModel):
        obj = obj(**_accepted(obj.__init__, shape))
    if isinstance(obj, kt.HyperModel):
        return obj.build
    if callable(obj):
        extra = _accepted(obj, shape)
        return (lambda hp: obj(hp, **extra)) if extra else obj
    raise ArchoptError(
        f"search space {spec!r} is a {type(obj).__name__}; expected a keras_tuner.HyperModel or a build(hp) function."
    )


def _accepted(function: Any, candidates: dict) -> dict:
    """The keyword arguments among ``candidates`` that ``function`` declares."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return {}
    return {k: v for k, v in candidates.items() if k in parameters}
