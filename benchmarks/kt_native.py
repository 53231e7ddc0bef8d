"""KerasTuner's own per-trial overhead: plain ``kt.BayesianOptimization`` on the engine benchmark's space and budget.

``benchmarks/engines.py`` runs KerasTuner's oracle inside archopt (``--engine keras-tuner``), with archopt's
bookkeeping around it. This script measures what a KerasTuner user pays around each trial without archopt:
the tuner's own ``search`` on ``search_spaces.examples:TinyCNN``, Fashion-MNIST, 1000 training images (two epochs
of batch 32: 62 steps, as the engine benchmark's 60), 500 validation images. Per trial, overhead is the time from
one trial's start (``on_trial_begin``) to the next one's, minus the trial's build (KerasTuner's ``_try_build``:
Keras reset, build, compile) and its ``fit`` (training, validation, and KerasTuner's checkpoint callback, which
therefore counts as work here, in KerasTuner's favour). Usage, from the repository root::

    python -m benchmarks.kt_native --trials 30
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.harness import add_out, stamp, write_output

EPOCHS, BATCH_SIZE = 2, 32


def make_tuner(*, directory: Path, trials: int, seed: int):
    """A Bayesian tuner that records when each trial starts and how long its build and fit take."""
    import keras_tuner as kt

    from optimizer.space.candidate import compile_default
    from search_spaces.examples import TinyCNN

    clocks: dict[str, list[float]] = {"start": [], "build": [], "fit": []}

    class Timed(TinyCNN):
        def build(self, hp):
            model = super().build(hp)
            compile_default(model)  # as archopt compiles an uncompiled candidate, inside its build phase
            return model

        def fit(self, hp, model, *args, **kwargs):
            start = time.perf_counter()
            try:
                return super().fit(hp, model, *args, **kwargs)
            finally:
                clocks["fit"].append(time.perf_counter() - start)

    class Tuner(kt.BayesianOptimization):
        def on_trial_begin(self, trial):
            clocks["start"].append(time.perf_counter())
            super().on_trial_begin(trial)

        def _configure_tensorboard_dir(self, callbacks, trial, execution=0):
            """No TensorBoard callback is passed; KerasTuner would still import tensorboard, gone since TF 2.21."""

        def _try_build(self, hp):
            start = time.perf_counter()
            try:
                return super()._try_build(hp)
            finally:
                clocks["build"].append(time.perf_counter() - start)

    tuner = Tuner(Timed(), objective="val_accuracy", max_trials=trials, seed=seed, directory=str(directory),
                  project_name="kt_native", overwrite=True)
    return tuner, clocks


def overheads(clocks: dict[str, list[float]]) -> np.ndarray:
    """Seconds per trial outside build and fit, for every trial followed by another (a failed build has no fit)."""
    n = min(len(clocks["start"]) - 1, len(clocks["build"]), len(clocks["fit"]))
    starts = np.asarray(clocks["start"])
    return starts[1 : n + 1] - starts[:n] - np.asarray(clocks["build"][:n]) - np.asarray(clocks["fit"][:n])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    add_out(parser, default=Path("results/benchmarks/kt_native.txt"))
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    from optimizer.data.datasets import load_dataset, split_validation
    from optimizer.measure.device import configure_threads

    configure_threads()
    split = split_validation(load_dataset("fashion_mnist"), val_size=500, train_size=1000, seed=args.seed)
    with tempfile.TemporaryDirectory() as folder:
        tuner, clocks = make_tuner(directory=Path(folder), trials=args.trials, seed=args.seed)
        start = time.perf_counter()
        tuner.search(split.x_train, split.y_train, validation_data=(split.x_val, split.y_val), epochs=EPOCHS,
                     batch_size=BATCH_SIZE, verbose=0)
        elapsed = time.perf_counter() - start
    gaps = overheads(clocks)
    outside_fit = gaps + np.asarray(clocks["build"][: len(gaps)])
    text = (
        f"KerasTuner {__import__('keras_tuner').__version__} BayesianOptimization, TinyCNN, "
        f"{len(clocks['start'])} trials "
        f"in {elapsed:.0f} s: overhead per trial (start to next start - build - fit) median {np.median(gaps):.3f} s, "
        f"mean {np.mean(gaps):.3f} s; outside fit (with build) median {np.median(outside_fit):.3f} s; "
        f"median build {np.median(clocks['build']):.2f} s, fit {np.median(clocks['fit']):.2f} s"
    )
    print(text)
    write_output(args.out, text, header=stamp(module="benchmarks.kt_native", argv=argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
