"""try_import: an optional package's absence is one line when its feature is used, never at import."""

import pytest

from optimizer.errors import ArchoptError
from optimizer.optional import try_import


def test_an_installed_package_is_available():
    with try_import(feature="numbers", install="numpy") as imported:
        import numpy  # noqa: F401
    assert imported.available
    imported.check()


def test_a_missing_package_is_one_line_naming_it_when_the_feature_is_used():
    with try_import(feature="the flux capacitor (--flux)", install="'archopt[flux]'") as imported:
        import archopt_no_such_package  # noqa: F401
    assert not imported.available
    with pytest.raises(ArchoptError) as error:
        imported.check()
    message = str(error.value)
    assert message == ("the flux capacitor (--flux) needs archopt_no_such_package, which is not installed: "
                       "pip install 'archopt[flux]'")


def test_other_errors_of_an_import_are_not_hidden(tmp_path, monkeypatch):
    (tmp_path / "archopt_broken_module.py").write_text("raise ValueError('broken on import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ValueError, match="broken on import"):
        with try_import(feature="x", install="x"):
            import archopt_broken_module  # noqa: F401
