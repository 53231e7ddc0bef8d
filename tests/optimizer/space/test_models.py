"""Loading a model from each MODEL spec form, and a one-line ArchoptError for every bad one."""

from pathlib import Path

import keras
import pytest
from keras import layers

from optimizer.errors import ArchoptError
from optimizer.space.models import load_model

BUILDER = """
import keras

def build_model():
    return keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(2, 3, name="conv")])

def not_a_model():
    return 42

def broken():
    raise ValueError("bad width\\nsecond line")
"""


def _tiny_model() -> keras.Model:
    return keras.Sequential([keras.Input((6, 6, 1)), layers.Conv2D(2, 3, name="conv"), layers.Dense(3, name="fc")])


def _one_line_error(spec: str, match: str) -> None:
    with pytest.raises(ArchoptError, match=match) as caught:
        load_model(spec)
    assert "\n" not in str(caught.value)


@pytest.fixture
def builder(tmp_path: Path) -> Path:
    path = tmp_path / "builder.py"
    path.write_text(BUILDER)
    return path


def test_keras_file_round_trips(tmp_path: Path) -> None:
    _tiny_model().save(tmp_path / "tiny.keras")

    model = load_model(str(tmp_path / "tiny.keras"))

    assert [layer.name for layer in model.layers] == ["conv", "fc"]
    assert model.count_params() == _tiny_model().count_params()


def test_export_folder_uses_its_model_keras(tmp_path: Path) -> None:
    (tmp_path / "export").mkdir()
    _tiny_model().save(tmp_path / "export" / "model.keras")

    assert load_model(str(tmp_path / "export")).get_layer("fc").units == 3


def test_bare_saved_model_cannot_give_layer_costs(tmp_path: Path) -> None:
    _tiny_model().export(tmp_path / "saved", verbose=False)

    _one_line_error(str(tmp_path / "saved"), "SavedModel without `model.keras`")


def test_function_in_a_python_file(builder: Path) -> None:
    model = load_model(f"{builder}:build_model")

    assert model.get_layer("conv").filters == 2


def test_function_in_an_importable_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "archopt_test_pkg").mkdir()
    (tmp_path / "archopt_test_pkg" / "__init__.py").write_text("")
    (tmp_path / "archopt_test_pkg" / "nets.py").write_text(BUILDER)
    monkeypatch.syspath_prepend(str(tmp_path))

    assert load_model("archopt_test_pkg.nets:build_model").output_shape == (None, 4, 4, 2)


def test_missing_file(tmp_path: Path) -> None:
    _one_line_error(str(tmp_path / "x.keras"), r"model file `.*x\.keras` does not exist\.")


def test_unreadable_keras_file(tmp_path: Path) -> None:
    (tmp_path / "bad.keras").write_bytes(b"not a zip archive")

    _one_line_error(str(tmp_path / "bad.keras"), r"cannot read model file `.*bad\.keras`: ")


def test_unknown_suffix_and_folder_without_model(tmp_path: Path) -> None:
    (tmp_path / "model.txt").write_text("hello")

    _one_line_error(str(tmp_path / "model.txt"), "must end in .keras")
    _one_line_error(str(tmp_path), "holds no `model.keras`")


def test_python_file_without_function(builder: Path) -> None:
    _one_line_error(str(builder), "needs the function")


def test_import_errors(tmp_path: Path) -> None:
    (tmp_path / "missing_dep.py").write_text("import archopt_no_such_module\n")
    (tmp_path / "syntax.py").write_text("def build(:\n")

    _one_line_error(f"{tmp_path / 'missing_dep.py'}:build", "cannot import .*ModuleNotFoundError")
    _one_line_error(f"{tmp_path / 'syntax.py'}:build", "cannot import .*SyntaxError")
    _one_line_error(f"{tmp_path / 'absent.py'}:build", "does not exist")
    _one_line_error("archopt_no_such_module.nets:build", "cannot import module `archopt_no_such_module.nets`")


def test_function_missing_failing_or_returning_no_model(builder: Path) -> None:
    _one_line_error(f"{builder}:no_such_function", "has no function `no_such_function`")
    _one_line_error(f"{builder}:broken", "failed: ValueError: bad width$")
    _one_line_error(f"{builder}:not_a_model", "returned a value of type `int`, but expected a keras.Model")
