"""`--space` accepts the ways users write KerasTuner spaces; a space's own compile settings are kept."""

import textwrap

import keras
import pytest

from optimizer.errors import ArchoptError
from optimizer.space.candidate import rebuild
from optimizer.space.load import load_space

SPACES = textwrap.dedent('''
    import keras
    import keras_tuner as kt

    class Sized(kt.HyperModel):
        def __init__(self, input_shape, num_classes):
            super().__init__()
            self.input_shape, self.num_classes = input_shape, num_classes

        def build(self, hp):
            inputs = keras.Input(self.input_shape)
            x = keras.layers.Dense(hp.Int("units", 4, 8))(keras.layers.Flatten()(inputs))
            return keras.Model(inputs, keras.layers.Dense(self.num_classes)(x))

    def plain(hp):
        inputs = keras.Input((6, 6, 1))
        return keras.Model(inputs, keras.layers.Dense(hp.Choice("classes", [3]))(keras.layers.Flatten()(inputs)))

    def self_compiled(hp):
        model = plain(hp)
        model.compile(optimizer=keras.optimizers.SGD(hp.Float("learning_rate", 1e-3, 1e-1, sampling="log")), loss="mse")
        return model

    instance = Sized((6, 6, 1), 4)
    not_a_space = 42
''')


@pytest.fixture
def spaces(tmp_path):
    path = tmp_path / "my_spaces.py"
    path.write_text(SPACES)
    return path


def build(spec: str, params: dict) -> keras.Model:
    fn = load_space(spec, input_shape=(6, 6, 1), num_classes=5)
    return rebuild(fn, params)


def test_a_hypermodel_class_gets_the_datas_shape(spaces):
    model = build(f"{spaces}:Sized", {"units": 6})
    assert model.input_shape == (None, 6, 6, 1) and model.output_shape == (None, 5)


def test_a_hypermodel_instance_and_a_build_function_load(spaces):
    assert build(f"{spaces}:instance", {"units": 4}).output_shape == (None, 4)
    assert build(f"{spaces}:plain", {"classes": 3}).output_shape == (None, 3)


def test_a_model_the_space_compiles_keeps_its_optimizer_loss_and_learning_rate(spaces):
    model = build(f"{spaces}:self_compiled", {"classes": 3, "learning_rate": 0.05})
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.05)
    assert model.loss == "mse"


def test_an_uncompiled_model_gets_the_default_compile(spaces):
    assert isinstance(build(f"{spaces}:Sized", {"units": 5}).optimizer, keras.optimizers.Adam)


def test_the_builtin_and_example_spaces_load():
    assert callable(load_space("default", input_shape=(28, 28, 1), num_classes=10))
    assert callable(load_space("search_spaces.examples:TinyCNN", input_shape=(28, 28, 1), num_classes=10))
    assert callable(load_space("search_spaces.examples:compiled_mlp", input_shape=(28, 28, 1), num_classes=10))


def test_something_else_is_refused_with_its_type(spaces):
    with pytest.raises(ArchoptError, match="not_a_space.*int.*HyperModel"):
        load_space(f"{spaces}:not_a_space", input_shape=(6, 6, 1), num_classes=5)
