"""`archopt search --around MODEL`: a search space of edits to the user's own Sequential or functional CNN.

Each knob is named after the layer it changes (``conv2d.stride``, ``conv2d_1.factorization``,
``conv2d_1.width``, ``max_pooling2d.pool``, ``flatten.to_gap``), so trials.csv reads as a list of edits.
Every knob's first value is the model as written; all of them together (``identity``) rebuild it exactly.
A variant is the user's graph re-created from each layer's config (fresh weights), edited layers swapped.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import keras
import keras_tuner as kt
from keras import layers

from optimizer.defaults import AROUND_WIDTHS
from optimizer.errors import ArchoptError
from optimizer.space.candidate import reset_keras
from optimizer.space.models import load_model

PREFIX = "around"  # a run's recorded space: "around:MODEL" (one global width) or "around/stage:MODEL"
WIDTHS = (1.0, 0.25, 0.5, 0.75, 1.5)  # multipliers of convolutions' filters and hidden dense layers' units
# "stage" (the default): a multiplier per convolution stage (the convolutions at one resolution)
# and per hidden dense layer; "global": one for all, as the first --around runs ("around:MODEL").
WIDTH_SCOPES = AROUND_WIDTHS
FACTORIZATIONS = ("none", "kx1_1xk", "separable")
STACK = "3x3_stack"  # a 5x5 or 7x7 as two or three 3x3s (VGG)
POOLS = {layers.MaxPooling2D: "max", layers.AveragePooling2D: "avg"}
# Layers a pooling layer may follow and still be "right after" the first convolution.
ELEMENTWISE = (layers.Activation, layers.ReLU, layers.LeakyReLU, layers.ELU, layers.PReLU, layers.Softmax,
               layers.BatchNormalization, layers.Dropout, layers.SpatialDropout2D)
SCALED = (layers.Conv2D, layers.SeparableConv2D, layers.Dense)  # widened or narrowed by a width knob
MERGES = (layers.Add, layers.Subtract, layers.Multiply, layers.Average, layers.Maximum, layers.Minimum)


@dataclasses.dataclass(frozen=True)
class Knob:
    """One edit: a name for trials.csv, its values (the model as written first) and, maybe, a condition."""

    name: str
    values: tuple
    layer: str
    condition: tuple[str, tuple] | None = None  # (knob, values): the knob exists only when that one takes them

    @property
    def identity(self) -> Any:
        return self.values[0]


class AroundSpace(kt.HyperModel):
    """The variants of one functional model; ``build(hp)`` re-creates it with the knobs ``hp`` chose."""

    def __init__(self, model: keras.Model, *, spec: str, widths: str = AROUND_WIDTHS[0]) -> None:
        super().__init__(name="around")
        self.model, self.spec, self.widths = model, spec, widths
        self.roles = _roles(model, widths=widths)
        self.knobs = _knobs(model, roles=self.roles)
        if not self.knobs:
            raise ArchoptError(
                f"MODEL `{spec}` has nothing --around can change (no Conv2D, pooling, Flatten or hidden Dense layer)."
            )

    @property
    def identity(self) -> dict[str, Any]:
        """The knobs that rebuild the model as written: the search's trial 0."""
        return {knob.name: knob.identity for knob in self.knobs}

    @property
    def kept(self) -> str:
        """One line naming the layers archopt does not know and keeps as written; empty when there are none."""
        kept = [f"{layer.name} ({_kind(layer)})" for layer in self.model.layers if _kind(layer)]
        return f"kept as written: {', '.join(kept)}" if kept else ""

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        return variant(self.model, self.choices(hp), roles=self.roles)

    def choices(self, hp: kt.HyperParameters) -> dict[str, Any]:
        """Each active knob's value; a knob whose condition does not hold is left out."""
        chosen = {}
        for knob in self.knobs:
            if knob.condition is None:
                chosen[knob.name] = _ask(hp, knob)
                continue
            parent, values = knob.condition
            with hp.conditional_scope(parent, list(values)):
                value = _ask(hp, knob)
            if chosen.get(parent) in values:
                chosen[knob.name] = value
        return chosen


def recorded(spec: str, *, widths: str) -> str:
    """The space a run records for ``--around spec --around-widths widths``."""
    if widths not in WIDTH_SCOPES:
        raise ArchoptError(f"--around-widths {widths!r}: expected one of {', '.join(WIDTH_SCOPES)}.")
    return f"{PREFIX}:{spec}" if widths == "global" else f"{PREFIX}/{widths}:{spec}"


def parse(space: str) -> tuple[str, str] | None:
    """(MODEL spec, width scope) of a recorded ``--around`` space; None for any other space."""
    for widths in WIDTH_SCOPES:
        head = f"{PREFIX}:" if widths == "global" else f"{PREFIX}/{widths}:"
        if space.startswith(head):
            return space.removeprefix(head), widths
    return None


def space_for(spec: str, *, widths: str = AROUND_WIDTHS[0], input_shape: tuple[int, ...],
              num_classes: int) -> AroundSpace:
    """The space around MODEL ``spec`` (a `.keras` file, an export folder, `file.py:function`, `module:function`).

    Keras' layer names are reset first: knobs are named after layers, so every process that loads the
    space (workers, export, retime) must see the same names.
    """
    reset_keras()
    model = functional(load_model(spec), spec=spec, input_shape=input_shape, num_classes=num_classes)
    return AroundSpace(model, spec=spec, widths=widths)


def space_of(build: Any) -> AroundSpace | None:
    """The AroundSpace whose ``build`` this is, if any (the search enqueues its identity as trial 0)."""
    owner = getattr(build, "__self__", None)
    return owner if isinstance(owner, AroundSpace) else None


def functional(model: keras.Model, *, spec: str, input_shape: tuple[int, ...], num_classes: int) -> keras.Model:
    """``model`` as a functional model over one input, checked against the dataset; refused in one line otherwise."""
    from keras.src.models.functional import Functional  # Keras exports no public name for a functional model

    if isinstance(model, keras.Sequential):
        model = _from_sequential(model, input_shape=input_shape)
    elif not isinstance(model, Functional):
        raise ArchoptError(
            f"MODEL `{spec}` is a subclassed keras.Model ({type(model).__name__}); --around needs a Sequential or "
            "functional model, whose layers it can rebuild."
        )
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ArchoptError(f"MODEL `{spec}` has {len(model.inputs)} inputs and {len(model.outputs)} outputs; "
                           "--around needs one image input and one class output.")
    shape, classes = tuple(model.inputs[0].shape[1:]), model.outputs[0].shape[-1]
    fits = len(shape) == len(input_shape) and all(s in (None, d) for s, d in zip(shape, input_shape))
    if not fits or classes != num_classes:
        raise ArchoptError(
            f"MODEL `{spec}` takes inputs of shape {shape} and gives {classes} classes, but the dataset has images "
            f"of shape {tuple(input_shape)} and {num_classes} classes."
        )
    return model


def _from_sequential(model: keras.Sequential, *, input_shape: tuple[int, ...]) -> keras.Model:
    """The same layers called on a ``keras.Input``: a functional model whose graph can be walked."""
    try:
        shape = tuple(model.inputs[0].shape[1:])
    except (AttributeError, ValueError, IndexError):  # a Sequential without an Input is not built yet
        shape = tuple(input_shape)
    inputs = x = keras.Input(shape, name=f"{model.name}_input")
    for layer in model.layers:
        x = layer(x)
    functional_model = keras.Model(inputs, x, name=model.name)
    _keep_compile(functional_model, original=model)
    return functional_model


def _keep_compile(model: keras.Model, *, original: keras.Model) -> None:
    """Compile ``model`` as ``original`` was (a fresh optimizer of the same config, the same loss), if it was."""
    if getattr(original, "compiled", False):
        optimizer = type(original.optimizer).from_config(original.optimizer.get_config())
        model.compile(optimizer=optimizer, loss=original.loss, metrics=["accuracy"])


def _kind(layer: keras.layers.Layer) -> str:
    """'custom layer' or 'nested model' for what --around keeps as written without a word; '' for Keras' layers."""
    if isinstance(layer, keras.Model):
        return "nested model"
    return "" if type(layer).__module__.startswith("keras.") else "custom layer"


@dataclasses.dataclass(frozen=True)
class Roles:
    """What each layer is to the search: the first convolution, the pooling right after it, the width knob of
    each widened layer (layer name -> knob name, in the model's order)."""

    stem: str | None
    stem_pool: str | None
    widths: dict[str, str]


def _roles(model: keras.Model, *, widths: str) -> Roles:
    after = _consumers(model)
    convs = [layer for layer in model.layers if type(layer) is layers.Conv2D]
    stem = convs[0] if convs and tuple(convs[0].strides) == (1, 1) else None
    pool = None
    if stem is not None:
        nxt = after.get(stem.name, [])
        while len(nxt) == 1 and isinstance(nxt[0], ELEMENTWISE):
            nxt = after.get(nxt[0].name, [])
        pool = nxt[0].name if len(nxt) == 1 and type(nxt[0]) in POOLS else None
    weighted = [layer for layer in model.layers if type(layer) in SCALED]
    # The last gives the classes (or feeds their softmax): its width is the dataset's, not a knob.
    knobs = _width_knobs(model, weighted[:-1], widths=widths)
    return Roles(stem=stem.name if stem is not None else None, stem_pool=pool, widths=knobs)


def _width_knobs(model: keras.Model, scaled: list, *, widths: str) -> dict[str, str]:
    """Each widened layer's knob: ``width`` for all, or one per convolution stage and per hidden dense layer.

    A stage is the convolutions whose outputs have one resolution, named after its first; convolutions
    whose outputs meet in an add (or another element-wise merge) share a knob, so the merge still fits.
    """
    if widths == "global":
        return {layer.name: "width" for layer in scaled}
    convs = [layer for layer in scaled if not isinstance(layer, layers.Dense)]
    resolutions = list(dict.fromkeys(_resolution(layer) for layer in convs))
    stage = {layer.name: resolutions.index(_resolution(layer)) for layer in convs}
    producers = _producers(model)
    for merge in (layer for layer in model.layers if isinstance(layer, MERGES)):
        met = {stage[name] for name in _channel_sources(merge, producers=producers, scaled=stage)}
        if len(met) > 1:
            stage = {name: (min(met) if key in met else key) for name, key in stage.items()}
    first: dict = {}
    for layer in convs:
        first.setdefault(stage[layer.name], layer.name)
    return {layer.name: f"{first[stage[layer.name]] if layer.name in stage else layer.name}.width"
            for layer in scaled}


def _resolution(layer: keras.layers.Layer) -> tuple:
    shape = layer.output.shape
    return tuple(shape[2:4]) if layer.get_config().get("data_format") == "channels_first" else tuple(shape[1:3])


def _channel_sources(layer: keras.layers.Layer, *, producers: dict, scaled: dict) -> set[str]:
    """The widened convolutions whose filters set the channels of ``layer``'s inputs (through pooling,
    batch norm, activations, merges: layers that keep the channel count)."""
    found: set[str] = set()
    for parent in producers.get(layer.name, []):
        if parent.name in scaled:
            found.add(parent.name)
        elif not isinstance(parent, (*SCALED, layers.Conv2DTranspose, layers.Concatenate, layers.Flatten,
                                     layers.Reshape, layers.InputLayer)):
            found |= _channel_sources(parent, producers=producers, scaled=scaled)
    return found


def _producers(model: keras.Model) -> dict[str, list[keras.layers.Layer]]:
    """For each layer's name, the layers whose outputs it takes within ``model``."""
    found: dict[str, list] = {}
    for parent, child in _edges(model):
        found.setdefault(child.name, []).append(parent)
    return found


def _consumers(model: keras.Model) -> dict[str, list[keras.layers.Layer]]:
    """For each layer's name, the layers its output feeds within ``model``."""
    found: dict[str, list] = {}
    for parent, child in _edges(model):
        found.setdefault(parent.name, []).append(child)
    return found


def _edges(model: keras.Model):
    """(parent, child) for each layer output another layer takes within ``model``."""
    for nodes in model._nodes_by_depth.values():  # Keras' own graph walk; no public API lists a tensor's users
        for node in nodes:
            for parent in node.parent_nodes:
                yield parent.operation, node.operation


def _knobs(model: keras.Model, *, roles: Roles) -> list[Knob]:
    knobs = []
    if roles.stem is not None:
        knobs.append(Knob(f"{roles.stem}.stride", (1, 2), layer=roles.stem))
    if "width" in roles.widths.values():
        knobs.append(Knob("width", WIDTHS, layer="*"))
    for layer in model.layers:
        if roles.widths.get(layer.name) == f"{layer.name}.width":
            knobs.append(Knob(f"{layer.name}.width", WIDTHS, layer=layer.name))
        knobs += _layer_knobs(layer, roles=roles)
    return knobs


def _layer_knobs(layer: keras.layers.Layer, *, roles: Roles) -> list[Knob]:
    kind, name = type(layer), layer.name
    if kind is layers.Conv2D and _factorizable(layer):
        stack = (STACK,) if layer.kernel_size[0] in (5, 7) and _stackable(layer) else ()
        return [Knob(f"{name}.factorization", FACTORIZATIONS + stack, layer=name)]
    if kind in POOLS and tuple(layer.pool_size) == tuple(layer.strides):
        others = tuple(how for how in ("max", "avg", "conv") if how != POOLS[kind])
        condition = (f"{roles.stem}.stride", (1,)) if name == roles.stem_pool else None
        return [Knob(f"{name}.pool", (POOLS[kind], *others), layer=name, condition=condition)]
    if kind is layers.Flatten and len(layer.input.shape) == 4 and _area(layer.input.shape, layer.data_format) > 1:
        return [Knob(f"{name}.to_gap", (False, True), layer=name)]
    return []


def _factorizable(conv: layers.Conv2D) -> bool:
    """A square k x k kernel, k >= 3, undilated and ungrouped."""
    k = conv.kernel_size
    return k[0] == k[1] >= 3 and tuple(conv.dilation_rate) == (1, 1) and conv.groups == 1


def _stackable(conv: layers.Conv2D) -> bool:
    # "valid" padding with a stride would give a stack of 3x3s another output size than the k x k.
    return conv.padding == "same" or tuple(conv.strides) == (1, 1)


def _area(shape: tuple, data_format: str | None) -> int:
    h, w = (shape[2], shape[3]) if data_format == "channels_first" else (shape[1], shape[2])
    return (h or 0) * (w or 0)


def _ask(hp: kt.HyperParameters, knob: Knob) -> Any:
    if knob.values == (False, True):
        return hp.Boolean(knob.name, default=False)
    return hp.Choice(knob.name, list(knob.values), default=knob.identity)


def variant(model: keras.Model, chosen: dict[str, Any], *, roles: Roles) -> keras.Model:
    """``model`` re-created with fresh weights and the edits ``chosen`` names; compiled as ``model`` was, if it was."""
    strided = roles.stem is not None and chosen.get(f"{roles.stem}.stride", 1) == 2

    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        config = layer.get_config()
        if layer.name in roles.widths:
            key = "units" if "units" in config else "filters"
            config[key] = max(1, round(config[key] * chosen.get(roles.widths[layer.name], 1.0)))
        if strided and layer.name == roles.stem:
            config["strides"] = (2, 2)
        try:
            return type(layer).from_config(config)
        except Exception:  # a custom layer that cannot be re-created from its config is kept as it is
            return layer

    def call(layer: keras.layers.Layer, *args, **kwargs):
        if strided and layer.name == roles.stem_pool:
            return args[0]  # the stride-2 first convolution does this pooling's down-sampling
        swap = _swap(layer, chosen)
        if swap is None:
            return layer(*args, **kwargs)
        x = args[0]
        for new in swap(x):
            x = new(x)
        return x

    rebuilt = keras.models.clone_model(model, clone_function=clone, call_function=call)
    _keep_compile(rebuilt, original=model)
    return rebuilt


def _swap(layer: keras.layers.Layer, chosen: dict[str, Any]):
    """The layers that replace ``layer`` (a function of the input tensor), or None to keep it."""
    name, config = layer.name, layer.get_config()
    how = chosen.get(f"{name}.factorization", "none")
    if how != "none":
        return lambda x: _factorized(config, how=how)
    pool = chosen.get(f"{name}.pool")
    if pool is not None and pool != POOLS.get(type(layer)):
        return lambda x: [_pooling(config, how=pool, channels=_channels(x, config.get("data_format")))]
    if chosen.get(f"{name}.to_gap"):
        gap = layers.GlobalAveragePooling2D(data_format=config.get("data_format"), name=f"{name}_gap")
        return lambda x: [gap]
    return None


def _factorized(config: dict, *, how: str) -> list[keras.layers.Layer]:
    """A k x k convolution's replacement: k x 1 then 1 x k, depthwise-separable, or a stack of 3 x 3s."""
    name, k, (sh, sw) = config["name"], config["kernel_size"][0], config["strides"]
    if how == "kx1_1xk":  # no activation between: together they are a rank-limited k x k
        first = {**config, "name": f"{name}_kx1", "kernel_size": (k, 1), "strides": (sh, 1), "activation": None}
        return [layers.Conv2D.from_config(first),
                layers.Conv2D.from_config({**config, "name": f"{name}_1xk", "kernel_size": (1, k), "strides": (1, sw)})]
    if how == "separable":
        keep = ("filters", "kernel_size", "strides", "padding", "data_format", "activation", "use_bias", "name")
        return [layers.SeparableConv2D(**{key: config[key] for key in keep})]
    # VGG: each 3 x 3 with the activation, the stride on the first.
    return [layers.Conv2D.from_config({**config, "name": f"{name}_3x3_{i + 1}", "kernel_size": (3, 3),
                                       "strides": (sh, sw) if i == 0 else (1, 1)}) for i in range((k - 1) // 2)]


def _pooling(config: dict, *, how: str, channels: int) -> keras.layers.Layer:
    shared = {key: config[key] for key in ("strides", "padding", "data_format", "name")}
    if how == "max":
        return layers.MaxPooling2D(pool_size=config["pool_size"], **shared)
    if how == "avg":
        return layers.AveragePooling2D(pool_size=config["pool_size"], **shared)
    return layers.Conv2D(channels, config["pool_size"], activation="relu", **shared)  # as the default space's


def _channels(x: Any, data_format: str | None) -> int:
    return x.shape[1] if data_format == "channels_first" else x.shape[-1]
