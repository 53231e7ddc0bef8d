"""The hand-designed reference networks: each builds for grey and colour images with its expected size, and loads as
``--baseline`` loads a MODEL function."""

import pytest

from search_spaces.references import REFERENCES

# Parameters on 28x28x1 images, 10 classes: the ballpark each design is known by.
EXPECTED_PARAMS = {
    "tutorial_cnn": (3.0e6, 3.5e6),  # dominated by Dense 1024 on 7x7x64
    "vgg_style": (4.0e5, 5.5e5),  # Dense 128 on 7x7x64
    "mobilenet_style": (5.0e4, 9.0e4),
    "small_bn": (9.0e4, 9.8e4),  # "about 94k"
}


@pytest.mark.parametrize("name", list(REFERENCES))
@pytest.mark.parametrize("input_shape", [(28, 28, 1), (32, 32, 3)])
def test_each_reference_builds_for_grey_and_colour_images(name, input_shape) -> None:
    model = REFERENCES[name](input_shape=input_shape, num_classes=10)
    assert model.output_shape == (None, 10)
    assert model.input_shape == (None, *input_shape)
    low, high = EXPECTED_PARAMS[name]
    grey = REFERENCES[name]().count_params()
    assert low <= grey <= high, f"{name}: {grey} parameters"
    if input_shape[-1] == 3:  # more input channels add weights to the first convolution
        assert model.count_params() > grey


def test_references_load_as_baselines_with_their_compile() -> None:
    from optimizer.results.baselines import fresh_model

    assert fresh_model("search_spaces.references:tutorial_cnn").compiled  # the tutorial's own compile
    vgg = fresh_model("search_spaces.references:vgg_style")
    assert not vgg.compiled and vgg.layers[-1].activation.__name__ == "softmax"  # archopt compiles it
    assert set(REFERENCES) == {"tutorial_cnn", "vgg_style", "mobilenet_style", "small_bn"}
