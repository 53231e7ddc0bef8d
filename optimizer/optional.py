"""Optional dependencies, as Optuna's ``optuna/_imports.py`` does it: a module imports what a feature needs at its top
inside ``try_import``, and the feature says in one line what to install only when it is used."""

from __future__ import annotations

from types import TracebackType

from optimizer.errors import ArchoptError


class OptionalImport:
    """Context manager that keeps an ImportError for later: ``check()`` raises it as one line naming the package."""

    def __init__(self, *, feature: str, install: str) -> None:
        self.feature, self.install = feature, install
        self.missing: str | None = None

    def __enter__(self) -> OptionalImport:
        return self

    def __exit__(self, kind: type | None, error: BaseException | None, traceback: TracebackType | None) -> bool:
        if not isinstance(error, ImportError):
            return False
        # Optuna re-raises a missing database driver as an ImportError whose cause names the module.
        self.missing = error.name or getattr(error.__cause__, "name", None) or str(error)
        return True

    @property
    def available(self) -> bool:
        return self.missing is None

    def check(self) -> None:
        """Raise ArchoptError naming the feature, the missing package and what to install, if the import failed."""
        if self.missing is not None:
            raise ArchoptError(
                f"{self.feature} needs {self.missing}, which is not installed: pip install {self.install}"
            )


def try_import(*, feature: str, install: str) -> OptionalImport:
    """``with try_import(feature="--tuner bayesian", install="'archopt[bayesian]'") as bayesian: import sklearn``,
    then ``bayesian.check()`` where the feature starts."""
    return OptionalImport(feature=feature, install=install)
