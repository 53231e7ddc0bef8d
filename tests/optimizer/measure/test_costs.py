"""Per-layer params and MACs against numbers computed by hand (the comments show the arithmetic)."""

import json

import keras
import pytest
from keras import layers

from optimizer.errors import ArchoptError
from optimizer.measure.costs import LayerCost, costs_to_json, format_table, layer_costs, total_macs


def model_costs(input_shape, *stack) -> dict[str, LayerCost]:
    model = keras.Sequential([keras.Input(input_shape), *stack])
    return {cost.name: cost for cost in layer_costs(model)}


def _mnist_cnn() -> keras.Model:
    """Keras' classic MNIST example CNN."""
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu", name="conv1"),
            layers.Conv2D(64, 3, activation="relu", name="conv2"),
            layers.MaxPooling2D(name="pool"),
            layers.Flatten(name="flatten"),
            layers.Dense(128, activation="relu", name="fc"),
            layers.Dense(10, activation="softmax", name="head"),
        ]
    )


def test_classic_mnist_cnn_second_conv_costs_exactly_its_pixels_times_its_kernel() -> None:
    costs = {cost.name: cost for cost in layer_costs(_mnist_cnn())}

    assert costs["conv1"].macs == 26 * 26 * 32 * 3 * 3 * 1
    assert costs["conv2"] == LayerCost("conv2", "Conv2D", (24, 24, 64), 3 * 3 * 32 * 64 + 64, 10_616_832)
    assert costs["pool"].macs == 0
    # The product's point: the dense layer has 64x the params of conv2 but a tenth of its MACs.
    assert costs["fc"].params == 9216 * 128 + 128
    assert costs["fc"].macs == 9216 * 128
    assert total_macs(_mnist_cnn()) == 194_688 + 10_616_832 + 1_179_648 + 1_280


@pytest.mark.parametrize(
    ("padding", "side"),
    [("same", 5), ("valid", 4)],  # same: ceil(9 / 2); valid: floor((9 - 3) / 2) + 1
)
def test_conv2d_stride_2(padding: str, side: int) -> None:
    cost = model_costs((9, 9, 3), layers.Conv2D(8, 3, strides=2, padding=padding, name="conv"))["conv"]

    assert cost.output_shape == (side, side, 8)
    assert cost.params == 3 * 3 * 3 * 8 + 8
    assert cost.macs == side * side * 8 * (3 * 3 * 3)


def test_non_square_kernels_3x1_then_1x3() -> None:
    costs = model_costs(
        (10, 10, 4),
        layers.Conv2D(6, (3, 1), name="tall"),
        layers.Conv2D(5, (1, 3), name="wide"),
    )

    assert costs["tall"] == LayerCost("tall", "Conv2D", (8, 10, 6), 3 * 1 * 4 * 6 + 6, 8 * 10 * 6 * (3 * 1 * 4))
    assert costs["wide"] == LayerCost("wide", "Conv2D", (8, 8, 5), 1 * 3 * 6 * 5 + 5, 8 * 8 * 5 * (1 * 3 * 6))


def test_dilation_shrinks_the_output_but_not_the_kernel() -> None:
    # A 3x3 kernel at dilation 2 spans 5x5: 12 - 5 + 1 = 8, yet each output takes 3 * 3 * 2 MACs.
    cost = model_costs((12, 12, 2), layers.Conv2D(4, 3, dilation_rate=2, name="conv"))["conv"]

    assert cost.output_shape == (8, 8, 4)
    assert cost.params == 3 * 3 * 2 * 4 + 4
    assert cost.macs == 8 * 8 * 4 * (3 * 3 * 2)


def test_grouped_conv_sees_only_its_group_of_channels() -> None:
    cost = model_costs((6, 6, 4), layers.Conv2D(8, 3, groups=2, name="conv"))["conv"]

    assert cost.params == 3 * 3 * 2 * 8 + 8
    assert cost.macs == 4 * 4 * 8 * (3 * 3 * 2)


def test_conv1d() -> None:
    cost = model_costs((10, 3), layers.Conv1D(4, 3, name="conv"))["conv"]

    assert (cost.output_shape, cost.macs) == ((8, 4), 8 * 4 * (3 * 3))


def test_depthwise_conv_with_depth_multiplier_2() -> None:
    cost = model_costs((8, 8, 3), layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same", name="dw"))["dw"]

    assert cost.output_shape == (8, 8, 6)
    assert cost.params == 3 * 3 * 3 * 2 + 6
    assert cost.macs == 8 * 8 * 6 * (3 * 3)


@pytest.mark.parametrize(
    ("strides", "padding", "side"),
    [(1, "valid", 6), (2, "same", 4)],
)
def test_separable_conv_is_depthwise_plus_pointwise(strides: int, padding: str, side: int) -> None:
    cost = model_costs((8, 8, 4), layers.SeparableConv2D(5, 3, strides=strides, padding=padding, name="sep"))["sep"]

    assert cost.output_shape == (side, side, 5)
    assert cost.params == 3 * 3 * 4 + 4 * 5 + 5
    assert cost.macs == side * side * 4 * (3 * 3) + side * side * 5 * 4


def test_conv2d_transpose_scatters_each_input_pixel() -> None:
    cost = model_costs((5, 5, 2), layers.Conv2DTranspose(4, 3, strides=2, padding="same", name="up"))["up"]

    assert cost.output_shape == (10, 10, 4)
    assert cost.params == 3 * 3 * 4 * 2 + 4
    assert cost.macs == 5 * 5 * 2 * (3 * 3 * 4)


def test_dense_on_flattened_input_and_over_leading_dims() -> None:
    flat = model_costs((4, 4, 2), layers.Flatten(name="flat"), layers.Dense(10, name="fc"))
    sequence = model_costs((5, 7), layers.Dense(3, name="fc"))

    assert flat["flat"].output_shape == (32,)
    assert (flat["fc"].params, flat["fc"].macs) == (32 * 10 + 10, 32 * 10)
    assert (sequence["fc"].output_shape, sequence["fc"].macs) == ((5, 3), 5 * 7 * 3)


def test_dense_head_after_global_average_pooling() -> None:
    costs = model_costs(
        (6, 6, 8),
        layers.BatchNormalization(name="bn"),
        layers.GlobalAveragePooling2D(name="gap"),
        layers.Dense(3, name="head"),
    )

    assert (costs["bn"].params, costs["bn"].macs) == (4 * 8, 0)
    assert (costs["gap"].output_shape, costs["gap"].macs) == ((8,), 0)
    assert (costs["head"].params, costs["head"].macs) == (8 * 3 + 3, 8 * 3)


def test_nested_sequential_inside_functional_lists_leaves_with_nested_names() -> None:
    block = keras.Sequential([layers.Conv2D(8, 3, name="conv"), layers.ReLU(name="act")], name="block1")
    inputs = keras.Input((10, 10, 3))
    outputs = layers.Dense(4, name="head")(layers.GlobalAveragePooling2D(name="gap")(block(inputs)))
    model = keras.Model(inputs, outputs)

    costs = layer_costs(model)

    assert [cost.name for cost in costs] == ["block1/conv", "block1/act", "gap", "head"]
    assert costs[0].macs == 8 * 8 * 8 * (3 * 3 * 3)
    assert sum(cost.params for cost in costs) == model.count_params()


def test_a_model_without_input_shape_is_a_one_line_error() -> None:
    with pytest.raises(ArchoptError, match="not built"):
        layer_costs(keras.Sequential([layers.Dense(3)]))


def test_a_variable_input_size_is_a_one_line_error() -> None:
    model = keras.Sequential([keras.Input((None, None, 3)), layers.Conv2D(4, 3, name="conv")])

    with pytest.raises(ArchoptError, match=r"`conv` has output shape \(None, None, 4\)"):
        layer_costs(model)


def test_format_table_has_every_layer_readable_numbers_and_shares() -> None:
    lines = format_table(layer_costs(_mnist_cnn())).splitlines()

    conv2 = next(line for line in lines if line.startswith("conv2 "))
    assert conv2.split() == ["conv2", "Conv2D", "(24,", "24,", "64)", "18,496", "10,616,832", "88.5"]
    assert lines[-1] == "Total: 1,199,882 params, 11,992,448 MACs per example (6 layers)"


def test_costs_to_json_shape_survives_a_json_round_trip() -> None:
    report = json.loads(json.dumps(costs_to_json(layer_costs(_mnist_cnn()))))

    assert set(report) == {"layers", "total_params", "total_macs"}
    assert report["layers"][1] == {
        "name": "conv2",
        "type": "Conv2D",
        "output_shape": [24, 24, 64],
        "params": 18_496,
        "macs": 10_616_832,
    }
    assert report["total_params"] == _mnist_cnn().count_params()
    assert report["total_macs"] == 11_992_448
