"""`--around`: the identity variant is the user's model exactly; each edit costs what its arithmetic says."""

from pathlib import Path

import keras
import numpy as np
import pytest
from keras import layers

from optimizer.errors import ArchoptError
from optimizer.measure.costs import layer_costs, total_macs
from optimizer.space.around import AroundSpace, functional, parse, recorded
from optimizer.space.candidate import rebuild
from optimizer.space.load import load_space

SHAPE = (12, 12, 1)


def plain(*, pool: bool = False, kernel: int = 3) -> keras.Model:
    """Sequential: two convolutions of 8 filters (C -> C for the second), optional pooling, Flatten, a hidden Dense."""
    return keras.Sequential(
        [keras.Input(SHAPE), layers.Conv2D(8, 3, padding="same", activation="relu", name="stem")]
        + ([layers.MaxPooling2D(2, name="pool")] if pool else [])
        + [layers.Conv2D(8, kernel, padding="same", activation="relu", name="conv"), layers.Flatten(name="flatten"),
           layers.Dense(16, activation="relu", name="hidden"), layers.Dense(3, activation="softmax", name="out")]
    )


def residual() -> keras.Model:
    """Functional, with batch norm, a residual add and logits (no softmax), compiled by its author."""
    inputs = keras.Input(SHAPE)
    x = layers.Conv2D(8, 3, padding="same", use_bias=False, name="stem")(inputs)
    x = layers.ReLU(name="stem_relu")(layers.BatchNormalization(name="stem_bn")(x))
    y = layers.BatchNormalization(name="res_bn")(layers.Conv2D(8, 5, padding="same", name="res_conv")(x))
    x = layers.ReLU(name="res_relu")(layers.Add(name="add")([x, y]))
    x = layers.AveragePooling2D(2, name="pool")(x)
    outputs = layers.Dense(3, name="logits")(layers.Flatten(name="flatten")(x))
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.SGD(0.05), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def staged() -> keras.Model:
    """Functional: a convolution at 12x12, pooling, a convolution at 6x6 added to the pooled one, GAP, logits."""
    inputs = keras.Input(SHAPE)
    x = layers.MaxPooling2D(2, name="pool")(layers.Conv2D(8, 3, padding="same", name="stem")(inputs))
    y = layers.Conv2D(8, 3, padding="same", name="conv")(x)
    x = layers.Add(name="add")([x, layers.ReLU(name="relu")(y)])
    x = layers.Conv2D(4, 1, name="after")(x)
    outputs = layers.Dense(3, name="logits")(layers.GlobalAveragePooling2D(name="gap")(x))
    return keras.Model(inputs, outputs)


def space(model: keras.Model, *, widths: str = "stage") -> AroundSpace:
    return AroundSpace(functional(model, spec="m", input_shape=SHAPE, num_classes=3), spec="m", widths=widths)


def variant(space_: AroundSpace, **edits) -> keras.Model:
    return rebuild(space_.build, {**space_.identity, **{k.replace("__", "."): v for k, v in edits.items()}})


def macs(model: keras.Model, *names: str) -> int:
    return sum(c.macs for c in layer_costs(model) if c.name in names)


@pytest.mark.parametrize("widths", ["stage", "global"])
@pytest.mark.parametrize("build", [plain, lambda: plain(pool=True, kernel=5), residual, staged])
def test_the_identity_is_the_model_as_written(build, widths, seed) -> None:
    original = build()
    around = space(original, widths=widths)
    same = variant(around)
    assert same.count_params() == original.count_params() and total_macs(same) == total_macs(original)
    same.set_weights(original.get_weights())
    x = np.random.default_rng(0).random((5, *SHAPE), dtype=np.float32)
    np.testing.assert_allclose(same.predict(x, verbose=0), original.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_knobs_are_named_after_the_layers_they_change() -> None:
    assert space(plain(pool=True, kernel=5)).identity == {
        "stem.stride": 1, "stem.width": 1.0, "stem.factorization": "none", "pool.pool": "max",
        "conv.width": 1.0, "conv.factorization": "none", "flatten.to_gap": False, "hidden.width": 1.0,
    }
    assert space(plain(pool=True, kernel=5), widths="global").identity == {
        "stem.stride": 1, "width": 1.0, "stem.factorization": "none", "pool.pool": "max",
        "conv.factorization": "none", "flatten.to_gap": False,
    }
    knobs = {k.name: k.values for k in space(residual()).knobs}
    assert knobs["res_conv.factorization"][-1] == "3x3_stack" and "3x3_stack" not in knobs["stem.factorization"]
    assert knobs["pool.pool"] == ("avg", "max", "conv")
    assert "stem.width" in knobs and "res_conv.width" not in knobs  # one stage: widened together, the add fits


def test_convolutions_that_meet_in_an_add_share_a_width_across_resolutions() -> None:
    around = space(staged())  # `conv` (6x6) is added to `stem`'s pooled output (12x12): one stage of all three
    assert [k.name for k in around.knobs if k.name.endswith(".width")] == ["stem.width"]
    assert around.roles.widths == {"stem": "stem.width", "conv": "stem.width", "after": "stem.width"}
    half = variant(around, stem__width=0.5)
    assert half.get_layer("conv").filters == half.get_layer("stem").filters == 4
    assert macs(half, "conv") * 4 == macs(variant(around), "conv")


def test_a_stage_width_scales_its_convolutions_and_what_reads_them_only() -> None:
    around = space(plain(pool=True))  # stem 12x12, conv 6x6, hidden reads conv's output
    half = variant(around, conv__width=0.5)
    assert macs(half, "stem") == macs(variant(around), "stem")
    assert macs(half, "conv") * 2 == macs(variant(around), "conv")  # C -> C/2
    assert macs(half, "hidden") * 2 == macs(variant(around), "hidden")
    wide = variant(around, hidden__width=1.5)
    assert wide.get_layer("hidden").units == 24 and wide.get_layer("out").units == 3


def test_a_recorded_around_space_names_its_model_and_widths() -> None:
    for widths in ("stage", "global"):
        assert parse(recorded("pkg.nets:build", widths=widths)) == ("pkg.nets:build", widths)
    assert recorded("m.py:build", widths="global") == "around:m.py:build"  # as the first --around runs recorded
    assert parse("default") is None and parse("search_spaces.examples:TinyCNN") is None
    with pytest.raises(ArchoptError, match="--around-widths 'layer': expected one of stage, global"):
        recorded("m.py:build", widths="layer")


def test_a_stride_2_stem_divides_the_next_layers_macs_by_4() -> None:
    around = space(plain())
    original, strided = variant(around), variant(around, stem__stride=2)
    assert macs(original, "conv") == 4 * macs(strided, "conv")
    assert macs(original, "hidden") == 4 * macs(strided, "hidden")


def test_a_stride_2_stem_drops_the_pooling_right_after_it() -> None:
    around = space(plain(pool=True))
    chosen = dict(around.identity, **{"stem.stride": 2})
    del chosen["pool.pool"]  # the pooling's knob is inactive: there is no pooling left
    model = rebuild(around.build, chosen)
    assert "pool" not in [layer.name for layer in model.layers]
    assert macs(model, "conv") == macs(variant(around), "conv")  # same feature map size as before
    assert macs(model, "stem") * 4 == macs(variant(around), "stem")


@pytest.mark.parametrize("kernel", [3, 5])
def test_kx1_then_1xk_costs_2_over_k_of_a_kxk(kernel) -> None:
    around = space(plain(kernel=kernel))
    split = variant(around, conv__factorization="kx1_1xk")
    assert macs(split, "conv_kx1", "conv_1xk") * kernel == 2 * macs(variant(around), "conv")


def test_separable_and_stacked_convolutions_cost_what_they_should() -> None:
    around, hw, c = space(plain(kernel=5)), 12 * 12, 8
    assert macs(variant(around, conv__factorization="separable"), "conv") == hw * (25 * c + c * c)
    assert macs(variant(around, conv__factorization="3x3_stack"), "conv_3x3_1", "conv_3x3_2") == 2 * hw * 9 * c * c


def test_flatten_to_gap_removes_the_dense_layers_factor_hxw() -> None:
    around = space(plain())
    assert macs(variant(around), "hidden") == 12 * 12 * macs(variant(around, flatten__to_gap=True), "hidden")


def test_a_global_width_scales_convolutions_and_hidden_layers_but_not_the_classes() -> None:
    around = space(residual(), widths="global")
    half = variant(around, width=0.5)
    assert macs(half, "res_conv") * 4 == macs(variant(around), "res_conv")
    assert half.output_shape == (None, 3)


def test_a_pooling_layer_becomes_a_strided_convolution() -> None:
    around = space(residual())
    model = variant(around, pool__pool="conv")
    assert isinstance(model.get_layer("pool"), layers.Conv2D) and macs(model, "pool") == 6 * 6 * 4 * 8 * 8
    assert isinstance(variant(around, pool__pool="max").get_layer("pool"), layers.MaxPooling2D)


def test_the_authors_loss_and_optimizer_are_kept() -> None:
    model = variant(space(residual()), stem__width=0.5)
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.05)
    assert model.loss.get_config()["from_logits"] is True


class Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = layers.Dense(3)

    def call(self, x):
        return self.dense(x)


@pytest.mark.parametrize(
    ("model", "match"),
    [
        (Subclassed(), "is a subclassed keras.Model"),
        (keras.Sequential([keras.Input(SHAPE), layers.GlobalAveragePooling2D(), layers.Dense(3)]), "nothing"),
        (keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(3, 3), layers.GlobalAveragePooling2D()]),
         r"takes inputs of shape \(28, 28, 1\) and gives 3 classes, but the dataset has images of shape \(12, 12, 1\)"),
    ],
)
def test_what_around_cannot_search_is_refused_in_one_line(model, match) -> None:
    with pytest.raises(ArchoptError, match=match) as caught:
        space(model)
    assert "\n" not in str(caught.value)


CUSTOM = """
import keras
from keras import layers


@keras.saving.register_keras_serializable("test_around")
class Scale(layers.Layer):
    def call(self, x):
        return 2.0 * x


def build():
    inputs = keras.Input((12, 12, 1))
    x = Scale(name="scale")(layers.Conv2D(4, 3, name="stem")(inputs))
    return keras.Model(inputs, layers.Dense(3, name="out")(layers.Flatten(name="flatten")(x)))
"""


def test_a_spec_loads_the_model_and_names_the_custom_layers_it_keeps(tmp_path: Path) -> None:
    path = tmp_path / "mine.py"
    path.write_text(CUSTOM)
    build = load_space(f"around:{path}:build", input_shape=SHAPE, num_classes=3)
    around = build.__self__
    assert around.kept == "kept as written: scale (custom layer)"
    assert set(around.identity) == {"stem.stride", "width", "stem.factorization", "flatten.to_gap"}
    model = rebuild(build, dict(around.identity, **{"flatten.to_gap": True}))
    assert model.get_layer("scale") is not None and model.output_shape == (None, 3)
    assert path.read_text() == CUSTOM  # the user's file is only read


def test_the_tutorial_convnet_gets_the_knobs_docs_around_lists() -> None:
    shape = {"input_shape": (28, 28, 1), "num_classes": 10}
    around = load_space("around/stage:search_spaces.tutorial:build", **shape).__self__
    assert list(around.identity) == ["conv1.stride", "conv1.width", "conv1.factorization", "pool1.pool",
                                     "conv2.width", "conv2.factorization", "pool2.pool", "flatten.to_gap",
                                     "dense.width"]
    once = load_space("around:search_spaces.tutorial:build", **shape).__self__  # one global width
    assert list(once.identity) == ["conv1.stride", "width", "conv1.factorization", "pool1.pool",
                                   "conv2.factorization", "pool2.pool", "flatten.to_gap"]
    convs, dense = (25 * 1 * 32 + 32) + (25 * 32 * 64 + 64), (7 * 7 * 64 * 1024 + 1024) + (1024 * 10 + 10)
    assert around.model.count_params() == convs + dense
