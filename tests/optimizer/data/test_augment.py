"""Augmentation for exports: every image moved by at most the shift, mirrored only where the dataset allows it."""

import numpy as np
import pytest

from optimizer.data.augment import Augmentation, augment, for_dataset


def dots(n: int, size: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """Images of one lit pixel each, at a random place away from the border; and those places."""
    rng = np.random.default_rng(0)
    places = rng.integers(2, size - 2, size=(n, 2))
    x = np.zeros((n, size, size, 1), dtype=np.float32)
    x[np.arange(n), places[:, 0], places[:, 1], 0] = 1.0
    return x, places


def lit(x: np.ndarray) -> np.ndarray:
    """Where each image's single lit pixel is: (row, column) per image."""
    _, rows, cols, _ = np.nonzero(x)
    return np.stack([rows, cols], axis=1)


def test_each_image_moves_by_at_most_the_shift_and_keeps_its_pixel(seed: int) -> None:
    x, places = dots(400)
    out = augment(x, augmentation=Augmentation(shift=2, flip=False), rng=np.random.default_rng(seed))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert np.all(out.sum(axis=(1, 2, 3)) == 1.0)  # nothing lost: the dots lie 2 pixels inside the border
    moved = lit(out) - places
    assert np.abs(moved).max() == 2
    assert len({tuple(m) for m in moved}) == 25  # every (dy, dx) in [-2, 2]^2 drawn among 400 images


def test_flips_mirror_about_half_the_images_and_only_when_asked(seed: int) -> None:
    x, places = dots(400)
    out = augment(x, augmentation=Augmentation(shift=0, flip=True), rng=np.random.default_rng(seed))
    mirrored = lit(out)[:, 1] != places[:, 1]
    assert np.array_equal(lit(out)[mirrored, 1], 8 - places[mirrored, 1])
    assert 150 < mirrored.sum() < 250
    assert np.array_equal(augment(x, augmentation=Augmentation(shift=0, flip=False), rng=np.random.default_rng()), x)


def test_new_draws_each_call_and_the_input_is_left_alone(seed: int) -> None:
    x, _ = dots(50)
    x.flags.writeable = False  # as the cached datasets are
    rng = np.random.default_rng(seed)
    first, second = (augment(x, augmentation=Augmentation(2, True), rng=rng) for _ in range(2))
    assert not np.array_equal(first, second)
    again = augment(x, augmentation=Augmentation(2, True), rng=np.random.default_rng(seed))
    assert np.array_equal(first, again)


def test_digits_are_never_mirrored_clothes_and_cifar_are() -> None:
    assert for_dataset("mnist") is None
    assert for_dataset("fashion_mnist").flip and for_dataset("cifar10").flip
    flips = "random left-right flips of half the images, drawn anew each epoch"
    assert for_dataset("fashion_mnist").describe() == flips
    with pytest.raises(ValueError, match="'svhn'"):
        for_dataset("svhn")


def test_every_dataset_archopt_reads_has_an_augmentation() -> None:
    from optimizer.data.augment import AUGMENTATIONS
    from optimizer.data.datasets import SPECS

    assert set(AUGMENTATIONS) == set(SPECS)


def test_flips_alone_leave_every_image_whole(seed: int) -> None:
    x, _ = dots(100)
    out = augment(x, augmentation=Augmentation(shift=0, flip=True), rng=np.random.default_rng(seed))
    same = (out == x).all(axis=(1, 2, 3))
    assert np.array_equal(out[~same], x[~same][:, :, ::-1])
