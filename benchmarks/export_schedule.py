"""Export-schedule benchmark: what a cosine decay of the learning rate buys when `archopt export` retrains a trial.

For each trial given, the architecture is rebuilt and retrained from scratch on the whole training split, as
``archopt export --epochs N --no-augment`` does, once with the model's own constant learning rate (export before
this benchmark) and once with it decayed to 0 along a cosine (``optimizer.results.export.retrain`` without
augmentation); optionally also with a cosine from ``--peak`` instead of the model's own rate. Same seed, same data
order; the variants take turns trial by trial. Prints the test accuracy of each (the test set is touched here only
because these are the models a user would export: nothing is selected on it). Run it alone on the machine::

    python -m benchmarks.export_schedule RUN_DIR --trials 143 180 --peak 3e-3   # --out export_schedule.txt
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from benchmarks.harness import add_out, log_line, stamp, write_output


def retrained(run_dir: Path, *, trial: int, epochs: int, variant: str) -> dict:
    """Test accuracy of ``trial`` retrained for ``epochs`` with ``variant``: "constant", "cosine" or "cosine@RATE"."""
    import keras

    from optimizer.results.export import retrain
    from optimizer.results.rebuild import complete_trial, open_run, rebuild_model
    from optimizer.study.assemble import load_split
    from optimizer.trial.evaluation import accuracy, compile_for_outputs, recompute_batch_norm

    config, study = open_run(run_dir)
    params = complete_trial(study, number=trial).params
    data, _ = load_split(config)
    keras.utils.set_random_seed(config.seed)
    model = rebuild_model(config, params, input_shape=data.input_shape, num_classes=data.num_classes)
    batch, start = config.budget.batch_size, time.perf_counter()
    if variant == "constant":
        compile_for_outputs(model, data.x_train)
        model.fit(data.x_train, data.y_train, batch_size=batch, epochs=epochs, shuffle=True, verbose=0)
        recompute_batch_norm(model, data.x_train, batch_size=batch)
    else:
        if "@" in variant:  # the same optimizer at another starting rate, then the same cosine
            model.optimizer.learning_rate = float(variant.split("@")[1])
        retrain(model, data.x_train, data.y_train, batch_size=batch, epochs=epochs, verbose=0)
    test = accuracy(model, data.x_test, data.y_test)
    seconds = round(time.perf_counter() - start)
    return {"trial": trial, "variant": variant, "test_accuracy": round(test, 4), "seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--trials", type=int, nargs="+", required=True)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--peak", type=float, default=None, help="also a cosine from this learning rate")
    add_out(parser, default=Path("results/benchmarks/export_schedule.txt"))
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    variants = ["constant", "cosine"] + ([f"cosine@{args.peak:g}"] if args.peak else [])
    write_output(args.out, f"run {args.run_dir}, {args.epochs} epochs on the whole training split",
                 header=stamp(module="benchmarks.export_schedule", argv=argv))
    for trial in args.trials:
        for variant in variants:
            log_line(retrained(args.run_dir, trial=trial, epochs=args.epochs, variant=variant), out=args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
