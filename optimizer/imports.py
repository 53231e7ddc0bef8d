"""Import a user's object from `path/to/file.py:name` or `package.module:name`."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from optimizer.errors import ArchoptError


def load_object(spec: str, *, what: str) -> Any:
    """The object named by ``spec``; ``what`` names it in errors ("search space", "model")."""
    module_part, sep, name = spec.rpartition(":")
    if not sep or not module_part or not name:
        raise ArchoptError(f"{what} {spec!r} must look like path/to/file.py:name or package.module:name.")
    module = _import_file(module_part, what=what) if module_part.endswith(".py") else _import_module(module_part, what=what)
    try:
        return getattr(module, name)
    except AttributeError:
        raise ArchoptError(f"{what} {spec!r}: {module_part} has no attribute {name!r}.") from None


def _import_file(path_text: str, *, what: str) -> Any:
    path = Path(path_text)
    if not path.is_file():
        raise ArchoptError(f"{what} file `{path}` does not exist.")
    module_name = f"archopt_user_{path.stem}_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look modules up here.
    return _exec(lambda: spec.loader.exec_module(module), module, source=str(path), what=what)


def _import_module(name: str, *, what: str) -> Any:
    return _exec(lambda: importlib.import_module(name), None, source=name, what=what)


def _exec(load: Any, module: Any, *, source: str, what: str) -> Any:
    try:
        return load() or module
    except Exception as error:  # the user's code: any error is reported in one line.
        raise ArchoptError(f"cannot import {what} from {source}: {type(error).__name__}: {error}".splitlines()[0]) from error
