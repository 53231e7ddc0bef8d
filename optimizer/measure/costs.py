"""Exact per-layer costs of a Keras model: parameters and multiply-accumulates (MACs).

Parameter count is a poor guide to training cost: a 3x3 convolution with few
weights can dominate the step time because it runs at every pixel. Keras'
``model.summary()`` counts parameters only, so this module counts the MACs of
every kernel for ONE input example, from the shapes the model actually has.
Bias, activations, normalization and pooling count 0 MACs.
"""

from __future__ import annotations

import dataclasses
import math

import keras

from optimizer.errors import ArchoptError

_CONVS = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)
_TRANSPOSED = (keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose, keras.layers.Conv3DTranspose)
_DEPTHWISE = (keras.layers.DepthwiseConv1D, keras.layers.DepthwiseConv2D)
_SEPARABLE = (keras.layers.SeparableConv1D, keras.layers.SeparableConv2D)


@dataclasses.dataclass(frozen=True)
class LayerCost:
    """What one leaf layer costs; ``output_shape`` has no batch dimension."""

    name: str
    type: str
    output_shape: tuple[int, ...]
    params: int
    macs: int


def layer_costs(model: keras.Model) -> list[LayerCost]:
    """Cost of every leaf layer of ``model``, in order; nested models give names like ``block1/conv``."""
    if not model.built:
        raise ArchoptError(
            f"model `{model.name}` is not built, so its shapes are unknown; give it a `keras.Input`."
        )
    return list(_walk(model, prefix=""))


def total_macs(model: keras.Model) -> int:
    """MACs of one forward pass of one example through ``model``."""
    return sum(cost.macs for cost in layer_costs(model))


def _walk(model: keras.Model, *, prefix: str):
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.Model):
            yield from _walk(layer, prefix=f"{prefix}{layer.name}/")
        else:
            yield _leaf_cost(layer, name=f"{prefix}{layer.name}")


def _leaf_cost(layer: keras.layers.Layer, *, name: str) -> LayerCost:
    output_shape = _shape(layer, "output", name=name)
    return LayerCost(
        name=name,
        type=type(layer).__name__,
        output_shape=output_shape,
        params=int(layer.count_params()),
        macs=_macs(layer, output_shape=output_shape, name=name),
    )


def _shape(layer: keras.layers.Layer, which: str, *, name: str) -> tuple[int, ...]:
    """The shape (without batch) of the layer's first call; shared layers are counted once."""
    try:
        tensor = keras.tree.flatten(getattr(layer, which))[0]
    except (AttributeError, ValueError):
        raise ArchoptError(
            f"layer `{name}` was never called on a symbolic input, so its {which} shape is unknown; "
            "build the model from a `keras.Input`."
        ) from None
    shape = tuple(tensor.shape[1:])
    if None in shape:
        raise ArchoptError(f"layer `{name}` has {which} shape {shape}; MACs need a fixed input shape.")
    return tuple(int(size) for size in shape)


def _macs(layer: keras.layers.Layer, *, output_shape: tuple[int, ...], name: str) -> int:
    outputs = math.prod(output_shape)
    # Each case: (number of outputs) x (MACs per output), read off the kernel's own shape so
    # that groups, strides, dilation, padding and channels_first need no formula of their own.
    if isinstance(layer, _CONVS):  # kernel: (*kernel_size, in_channels / groups, filters)
        return outputs * math.prod(layer.kernel.shape[:-1])
    if isinstance(layer, _TRANSPOSED):  # kernel (*size, filters, in): scatters each input
        return math.prod(_shape(layer, "input", name=name)) * math.prod(layer.kernel.shape[:-1])
    if isinstance(layer, _DEPTHWISE):  # kernel: (*kernel_size, in_channels, depth_multiplier)
        return outputs * math.prod(layer.kernel.shape[:-2])
    if isinstance(layer, _SEPARABLE):  # depthwise at the output resolution, then a 1x1 pointwise
        *window, channels, multiplier = layer.depthwise_kernel.shape
        positions = outputs // layer.filters
        return positions * channels * multiplier * (math.prod(window) + layer.filters)
    if isinstance(layer, keras.layers.Dense):  # kernel: (in, units), applied over all leading dims
        return outputs * layer.kernel.shape[0]
    return 0


def format_table(costs: list[LayerCost]) -> str:
    """A readable table: name, type, output shape, params, MACs, share of total MACs, then totals."""
    params, macs = sum(cost.params for cost in costs), sum(cost.macs for cost in costs)
    rows = [("name", "type", "output shape", "params", "MACs", "% MACs")]
    rows += [
        (cost.name, cost.type, str(cost.output_shape), f"{cost.params:,}", f"{cost.macs:,}",
         f"{100 * cost.macs / macs:.1f}" if macs else "-")
        for cost in costs
    ]
    header, *body = _aligned(rows, text_columns=3)
    rule = "-" * len(header)
    total = f"Total: {params:,} params, {macs:,} MACs per example ({len(costs)} layers)"
    return "\n".join([header, rule, *body, rule, total])


def _aligned(rows: list[tuple[str, ...]], *, text_columns: int) -> list[str]:
    """Rows as padded lines: text left-aligned, numbers right-aligned so their digits line up."""
    widths = [max(len(cell) for cell in column) for column in zip(*rows)]
    return [
        "  ".join(
            cell.ljust(width) if index < text_columns else cell.rjust(width)
            for index, (cell, width) in enumerate(zip(row, widths))
        ).rstrip()
        for row in rows
    ]


def costs_to_json(costs: list[LayerCost]) -> dict:
    """The costs as a JSON-ready dict: ``layers``, ``total_params``, ``total_macs``."""
    layers = [dict(dataclasses.asdict(cost), output_shape=list(cost.output_shape)) for cost in costs]
    return {
        "layers": layers,
        "total_params": sum(cost.params for cost in costs),
        "total_macs": sum(cost.macs for cost in costs),
    }
