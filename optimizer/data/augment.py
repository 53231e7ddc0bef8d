"""Label-preserving image augmentation for an export's retraining: left-right flips where the classes allow them.

Made in NumPy, so that the exported model is the searched architecture unchanged. Why flips and not shifts, as
measured: docs/outputs.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_CHUNK = 8192  # images shifted at a time: bounds the padded copy's memory on CIFAR-10


@dataclass(frozen=True)
class Augmentation:
    """Shift each image by up to ``shift`` pixels each way (zero fill); mirror half of them left-right if ``flip``."""

    shift: int
    flip: bool

    def describe(self) -> str:
        parts = []
        if self.shift:
            parts.append(f"shifts of up to {self.shift} pixel" + ("s" if self.shift > 1 else ""))
        if self.flip:
            parts.append("left-right flips of half the images")
        return f"random {' and '.join(parts) or 'nothing'}, drawn anew each epoch"


# Digits change meaning when mirrored (2, 5, 7): MNIST is not augmented; clothes and objects are.
AUGMENTATIONS: dict[str, Augmentation | None] = {
    "mnist": None,
    "fashion_mnist": Augmentation(shift=0, flip=True),
    "cifar10": Augmentation(shift=0, flip=True),
}


def for_dataset(name: str) -> Augmentation | None:
    """The augmentation an export of a ``name`` model trains with (None: the images as they are)."""
    if name not in AUGMENTATIONS:
        raise ValueError(f"no augmentation is decided for dataset {name!r}; expected one of {sorted(AUGMENTATIONS)}.")
    return AUGMENTATIONS[name]


def augment(x: np.ndarray, *, augmentation: Augmentation, rng: np.random.Generator) -> np.ndarray:
    """A new array of ``x``'s images (N, H, W, C), each shifted and possibly mirrored at random."""
    out = np.empty_like(x)
    for start in range(0, len(x), _CHUNK):
        chunk = x[start : start + _CHUNK]
        out[start : start + _CHUNK] = _shifted(chunk, augmentation.shift, rng) if augmentation.shift else chunk
    if augmentation.flip:  # after the shift, so both draw from one stream in a fixed order
        mirrored = rng.random(len(x)) < 0.5
        out[mirrored] = out[mirrored, :, ::-1]
    return out


def _shifted(x: np.ndarray, shift: int, rng: np.random.Generator) -> np.ndarray:
    """Each image moved by its own (dy, dx) in [-shift, shift]: a window cut from the zero-padded image."""
    n, height, width = x.shape[:3]
    padded = np.pad(x, ((0, 0), (shift, shift), (shift, shift), (0, 0)))
    dy, dx = rng.integers(0, 2 * shift + 1, size=(2, n))
    rows = dy[:, None, None] + np.arange(height)[None, :, None]
    cols = dx[:, None, None] + np.arange(width)[None, None, :]
    return padded[np.arange(n)[:, None, None], rows, cols]
