"""Import a user's object from `path/to/file.py:name` or `package.module:name`: the one loader of user code."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from optimizer.errors import ArchoptError, first_line


def load_object(spec: str, *, what: str) -> Any:
    """The object named by ``spec``; ``what`` names it in errors ("search space", "function")."""
    module_part, sep, name = spec.rpartition(":")
    if not sep or not module_part or not name:
        raise ArchoptError(f"{what} {spec!r} must look like path/to/file.py:name or package.module:name.")
    module = import_file(Path(module_part)) if module_part.endswith(".py") else import_module(module_part)
    if not hasattr(module, name):
        raise ArchoptError(f"`{module_part}` has no {what} `{name}`.")
    return getattr(module, name)


def import_file(path: Path) -> ModuleType:
    """Run a Python file as a module registered in ``sys.modules`` (dataclasses, pickling and Keras look it up)."""
    if not path.is_file():
        raise ArchoptError(f"file `{path}` does not exist.")
    module_name = f"archopt_user_{path.stem}_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # the user's code may raise anything while importing
        del sys.modules[module_name]
        raise ArchoptError(f"cannot import `{path}`: {one_line(error)}") from None
    return module


def import_module(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except Exception as error:  # the user's code may raise anything while importing
        raise ArchoptError(f"cannot import module `{name}`: {one_line(error)}") from None


def one_line(error: Exception) -> str:
    """The error's type and first line: Keras messages run to many lines, ours must be one."""
    return f"{type(error).__name__}: {first_line(error)}" if str(error).strip() else type(error).__name__
