"""report.html after a large study: its size and how long writing it takes.

Builds a SQLite study of ``--trials`` synthetic complete trials over the default space's knobs (values drawn by
Optuna's random sampler, accuracy and step time from a fixed formula, a few failed trials), then writes the run's
outputs the way a search does (trials.csv, pareto.csv, pareto.png, report.html) and times report.html alone, first
write (imports included) and a second one::

    python -m benchmarks.report_size --trials 500
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import optuna

from benchmarks.harness import add_out, stamp, write_output
from optimizer.results import html_report
from optimizer.results.report import write_outputs
from optimizer.study.storage import make_storage
from optimizer.study.study import open_study

KNOBS = {
    "first_stride": optuna.distributions.CategoricalDistribution([1, 2]),
    "num_blocks": optuna.distributions.IntDistribution(1, 5),
    "filters_1": optuna.distributions.CategoricalDistribution([8, 16, 32, 64]),
    "kernel_size": optuna.distributions.CategoricalDistribution([3, 5]),
    "factorization": optuna.distributions.CategoricalDistribution(["none", "kx1_1xk", "separable"]),
    "head": optuna.distributions.CategoricalDistribution(["gap", "flatten"]),
    "dense_units": optuna.distributions.CategoricalDistribution([0, 32, 64, 128, 256]),
    "batch_norm": optuna.distributions.CategoricalDistribution([False, True]),
}


def synthetic_study(run_dir: Path, *, trials: int) -> optuna.Study:
    study = open_study(storage=make_storage(f"sqlite:///{run_dir / 'study.db'}"), name="synthetic",
                       sampler=optuna.samplers.RandomSampler(seed=0))
    for n in range(trials):
        trial = study.ask(KNOBS)
        p = trial.params
        cost = p["filters_1"] * p["num_blocks"] * p["kernel_size"] ** 2 / (4 * p["first_stride"] ** 2)
        if n % 25 == 7:
            trial.set_user_attr("fail_reason", "synthetic: feature map below 1x1")
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            continue
        trial.set_user_attr("device", "cpu:synthetic x2")
        accuracy = 0.55 + 0.3 * (1 - math.exp(-cost / 150)) + 0.02 * p["batch_norm"] + 0.01 * math.sin(n)
        study.tell(trial, [min(accuracy, 0.95), 2.0 + cost / 10])
    return study


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=500)
    add_out(parser, default=Path("results/benchmarks/report_size.txt"))
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        run_dir = Path(folder)
        study = synthetic_study(run_dir, trials=args.trials)
        start = time.perf_counter()
        frame = write_outputs(study, run_dir)  # the CSVs, the plot and the first report.html (imports included)
        first = time.perf_counter() - start
        times = []
        for _ in range(2):
            start = time.perf_counter()
            html_report.write_report(study, run_dir, frame=frame)
            times.append(time.perf_counter() - start)
        size = (run_dir / html_report.FILE).stat().st_size
    text = (f"report.html after {args.trials} trials: {size / 1e6:.2f} MB; all outputs with the first report "
            f"{first:.2f} s (imports included); report.html alone {times[0]:.2f} s, again {times[1]:.2f} s")
    print(text)
    write_output(args.out, text, header=stamp(module="benchmarks.report_size", argv=argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
