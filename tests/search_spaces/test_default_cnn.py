"""Each knob of the default space changes the built model as intended."""

import keras
import keras_tuner as kt
import optuna
import pytest
from keras import layers

from optimizer.space.hparams import OptunaHyperParameters
from search_spaces.default_cnn import DefaultCNN, check_feasible

BASE = {
    "first_stride": 1, "first_kernel": 3, "num_blocks": 2, "filters_1": 8, "filters_2": 16,
    "kernel_size": 3, "factorization": "none", "batch_norm": False, "convs_per_block": 1,
    "downsample": "max", "head": "gap", "dense_units": 0, "dropout": 0.0,
}


def build(input_shape=(28, 28, 1), **knobs) -> keras.Model:
    hp = OptunaHyperParameters(optuna.trial.FixedTrial({**BASE, **knobs}))
    return DefaultCNN(input_shape=input_shape).build(hp)


def kinds(model: keras.Model) -> list[str]:
    return [type(layer).__name__ for layer in model.layers]


def test_stride_two_halves_the_first_feature_map() -> None:
    assert build(first_stride=1).get_layer("stem").output.shape[1:3] == (28, 28)
    assert build(first_stride=2).get_layer("stem").output.shape[1:3] == (14, 14)


def test_first_kernel_and_filters_reach_the_stem() -> None:
    stem = build(first_kernel=7, filters_1=32).get_layer("stem")
    assert stem.kernel_size == (7, 7) and stem.filters == 32


@pytest.mark.parametrize("kernel", [3, 5])
def test_factorization_splits_a_kxk_kernel_into_kx1_then_1xk(kernel: int) -> None:
    model = build(factorization="kx1_1xk", kernel_size=kernel)
    assert model.get_layer("block1_conv1_kx1").kernel_size == (kernel, 1)
    assert model.get_layer("block1_conv1_1xk").kernel_size == (1, kernel)
    plain = build(factorization="none", kernel_size=kernel).get_layer("block1_conv1")
    assert plain.kernel_size == (kernel, kernel)


def test_separable_factorization_uses_depthwise_separable_convolutions() -> None:
    model = build(factorization="separable")
    assert isinstance(model.get_layer("block1_conv1"), layers.SeparableConv2D)
    assert build(factorization="separable").count_params() < build(factorization="none").count_params()


def test_global_pooling_versus_flatten_changes_the_head() -> None:
    gap, flat = build(head="gap"), build(head="flatten")
    assert "GlobalAveragePooling2D" in kinds(gap) and "Flatten" not in kinds(gap)
    assert "Flatten" in kinds(flat)
    # Flatten keeps every position: the classifier sees 14*14*16 features instead of 16.
    assert flat.get_layer("classifier").kernel.shape == (14 * 14 * 16, 10)
    assert gap.get_layer("classifier").kernel.shape == (16, 10)


@pytest.mark.parametrize(("how", "kind"), [("max", "MaxPooling2D"), ("avg", "AveragePooling2D"), ("strided", "Conv2D")])
def test_downsampling_between_blocks(how: str, kind: str) -> None:
    model = build(downsample=how)
    assert type(model.get_layer("block1_down")).__name__ == kind
    assert model.get_layer("block1_down").output.shape[1:3] == (14, 14)


def test_no_downsampling_keeps_the_resolution() -> None:
    model = build(downsample="none")
    assert model.get_layer("block2_conv1").output.shape[1:3] == (28, 28)


def test_blocks_stacks_filters_batch_norm_dense_and_dropout() -> None:
    model = build(num_blocks=3, filters_3=64, convs_per_block=2, batch_norm=True, dense_units=32, dropout=0.25)
    assert model.get_layer("block3_conv2").filters == 64
    assert kinds(model).count("BatchNormalization") == 6
    assert model.get_layer("hidden").units == 32 and model.get_layer("dropout").rate == 0.25
    bare = build(dense_units=0, dropout=0.0)
    assert "Dense" in kinds(bare) and kinds(bare).count("Dense") == 1 and "Dropout" not in kinds(bare)


def test_filters_of_blocks_a_candidate_lacks_are_never_asked(seed: int) -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    for _ in range(15):
        trial = study.ask()
        try:
            DefaultCNN().build(OptunaHyperParameters(trial))
        except kt.errors.FailedTrialError:
            pass
        blocks = trial.params["num_blocks"]
        assert {k for k in trial.params if k.startswith("filters_")} == {f"filters_{b}" for b in range(1, blocks + 1)}
        study.tell(trial, 0.0)


def test_a_feature_map_shrinking_below_one_pixel_is_rejected_with_its_reason() -> None:
    with pytest.raises(kt.errors.FailedTrialError, match=r"shrinks below 1x1.*sizes \[14, 7, 3, 1, 0\]"):
        build(first_stride=2, num_blocks=5, downsample="max", filters_3=8, filters_4=8, filters_5=8)
    check_feasible(input_shape=(28, 28, 1), first_stride=2, num_blocks=5, downsample="none")  # no shrink: fine
    check_feasible(input_shape=(28, 28, 1), first_stride=1, num_blocks=5, downsample="max")  # 28..1: fine
