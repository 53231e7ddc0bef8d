"""Export-augmentation benchmark: does training on shifted and mirrored images help an exported front member?

Each trial's architecture (knobs from a run's trials.csv, parameter count checked) is retrained as ``archopt export
--epochs N`` does, once per variant: no augmentation, left-right flips, shifts of up to 2 pixels, both, and shifts
of up to 1 pixel with flips. The variants are compared on a held-out part of the training split (``--holdout``
images, the rest trains): the recipe is chosen there, never on the test set. ``--test`` then trains on the whole
training split and scores the test set, as an export does, for reporting the chosen recipe. Same seed and data order
per variant; variants take turns trial by trial. Run it alone on the machine::

    python -m benchmarks.export_augment --trials-csv results/default-run-2h/trials.csv --trials 924 1036
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import pandas as pd

from benchmarks.fidelity_noise import check_same, knobs
from benchmarks.harness import add_out, log_line, stamp, write_output
from optimizer.data.augment import Augmentation

VARIANTS: dict[str, Augmentation | None] = {
    "none": None,
    "flip": Augmentation(shift=0, flip=True),
    "shift": Augmentation(shift=2, flip=False),
    "shift+flip": Augmentation(shift=2, flip=True),
    "shift1+flip": Augmentation(shift=1, flip=True),
}


def retrained(
    trials: pd.DataFrame, *, trial: int, variant: str, epochs: int, holdout: int, test: bool, seed: int = 0
) -> dict:
    """Accuracy of ``trial`` retrained with ``variant``: on the held-out images, or (``test``) on the test set.

    ``seed`` seeds the initial weights, the data order and the augmentation draws; the held-out images stay the same.
    """
    import keras

    from optimizer.data.datasets import load_dataset, split_validation
    from optimizer.results.export import retrain
    from optimizer.space.candidate import rebuild
    from optimizer.space.load import load_space
    from optimizer.trial.evaluation import accuracy

    data = load_dataset("fashion_mnist")
    split = split_validation(data, val_size=holdout, seed=0)
    x, y, x_score, y_score = (
        (data.x_train, data.y_train, data.x_test, data.y_test) if test
        else (split.x_train, split.y_train, split.x_val, split.y_val)
    )
    keras.utils.set_random_seed(seed)
    model = rebuild(load_space("default", input_shape=data.input_shape, num_classes=10), knobs(trials, trial))
    check_same(model, trials, trial)
    start = time.perf_counter()
    retrain(model, x, y, batch_size=64, epochs=epochs, augmentation=VARIANTS[variant], seed=seed, verbose=0)
    scored_on = "test" if test else f"holdout{holdout}"
    return {"trial": trial, "variant": variant, "seed": seed, scored_on: round(accuracy(model, x_score, y_score), 4),
            "seconds": round(time.perf_counter() - start)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials-csv", type=Path, required=True)
    parser.add_argument("--trials", type=int, nargs="+", required=True)
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--holdout", type=int, default=10000)
    parser.add_argument("--test", action="store_true", help="train on the whole training split, score the test set")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="one retraining per seed and variant")
    add_out(parser, default=Path("results/benchmarks/export_augment.txt"))
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    trials = pd.read_csv(args.trials_csv)
    # Each sitting's lines follow the earlier ones', under its own stamp.
    write_output(args.out, "", header=stamp(module="benchmarks.export_augment", argv=argv), append=True)
    for trial, seed, variant in itertools.product(args.trials, args.seeds, args.variants):
        row = retrained(trials, trial=trial, variant=variant, epochs=args.epochs, holdout=args.holdout,
                        test=args.test, seed=seed)
        log_line(row, out=args.out, prefix=f"{args.trials_csv.parent.name} ")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
