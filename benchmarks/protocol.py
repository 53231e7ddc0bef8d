"""Protocol benchmark: do step times keep their meaning when a search times a candidate on its own training steps?

A search (``Objective.time_training``) times the first steps of each candidate's training budget on its shuffled
training stream, and ``fit`` trains the rest. Before, every candidate was timed on four fixed batches for a fixed
second (``measure_step_time(..., rel_error=None)``), in steps counted in no budget. For ``--random`` random
candidates of the default space (Optuna's random sampler, seeded; at most 20 M MACs, as ``benchmarks.timing``), each
built afresh for each protocol in one process, the two protocols taking turns (old first, then new first for the
next candidate) so the machine's drift hits both, it prints:

- the Spearman rank correlation of the two protocols' step times (target >= 0.95) and their median ratio;
- for ``--fit`` candidates at evenly spaced costs, ``fit``'s real time per step, one epoch of the training subset
  timed from outside (``fit``'s setup included), over each protocol's step time (target: within 10% of 1); with
  ``--fit-repeats N``, the medians over N fresh models (timing, then one epoch) of each.

Real Fashion-MNIST (``--data-dir``), batch 64, ``--train-steps`` the budget timing runs within. Run it alone on the
machine::

    python -m benchmarks.protocol         # 30 random, 5 fit checks (~6 min), --out results/benchmarks/protocol.txt
    python -m benchmarks.protocol --random 6 --fit 2 --out /tmp/protocol.txt   # a smoke run
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.harness import add_out, stamp, write_output
from benchmarks.timing import MAX_MACS, sample_pool


def objective_for(*, train_steps: int, data_dir: str | None):
    from optimizer.study import assemble
    from optimizer.study.run_config import RunConfig
    from optimizer.trial.budget import Budget

    config = RunConfig(dataset="fashion_mnist", space="default", storage="sqlite:///:memory:", study="protocol",
                       data_dir=data_dir, budget=Budget(train_steps=train_steps))
    return assemble.objective_for(config)


def fresh_model(objective, params: dict):
    from optimizer.space.candidate import rebuild

    return rebuild(objective.build, params)


def old_protocol(objective, params: dict) -> float:
    """The step time as timed before: four fixed batches, a fixed 1 s loop, steps outside the budget."""
    from optimizer.measure.timing import measure_step_time

    model = fresh_model(objective, params)
    split, batch = objective.split, objective.budget.batch_size
    x, y = split.x_train[: 4 * batch], split.y_train[: 4 * batch]
    return measure_step_time(model, x=x, y=y, batch_size=batch, min_time_s=1.0, rel_error=None).median_ms


def new_protocol(objective, params: dict, *, fit_epoch: bool = False) -> tuple[float, float | None]:
    """The search's step time (timing within the budget, on the training stream), and optionally fit's real time
    per step over one epoch of the training subset, timed from outside."""
    model = fresh_model(objective, params)
    _, step = objective.time_training(model)
    if not fit_epoch:
        return step.median_ms, None
    from optimizer.data.datasets import to_tf_dataset

    split, batch = objective.split, objective.budget.batch_size
    data = to_tf_dataset(split.x_train, split.y_train, batch_size=batch, shuffle=True)
    start = time.perf_counter()
    model.fit(data, epochs=1, verbose=0)
    per_step = (time.perf_counter() - start) * 1e3 / -(-len(split.x_train) // batch)
    return step.median_ms, per_step


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    import pandas as pd

    return float(pd.Series(a).corr(pd.Series(b), method="spearman"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--random", type=int, default=30)
    parser.add_argument("--fit", type=int, default=5)
    parser.add_argument("--fit-repeats", type=int, default=1, help="fresh models per fit check (medians)")
    parser.add_argument("--train-steps", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None, help="the dataset's folder (default: where archopt finds it)")
    add_out(parser, default=Path("results/benchmarks/protocol.txt"))
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    from optimizer.measure.device import configure_threads

    configure_threads()
    started = time.perf_counter()
    pool = sample_pool(seed=args.seed, size=3 * args.random)[: args.random]
    by_cost = sorted(range(len(pool)), key=lambda i: pool[i]["macs"])
    fit_picks = {by_cost[round(q)] for q in np.linspace(0, len(pool) - 1, args.fit)} if args.fit else set()
    objective = objective_for(train_steps=args.train_steps, data_dir=args.data_dir)
    new_protocol(objective, pool[0]["params"])  # the process's first candidate pays one-off costs
    rows = []
    for i, candidate in enumerate(pool):
        params = candidate["params"]
        if i % 2 == 0:
            old = old_protocol(objective, params)
            new, fit = new_protocol(objective, params, fit_epoch=i in fit_picks)
        else:
            new, fit = new_protocol(objective, params, fit_epoch=i in fit_picks)
            old = old_protocol(objective, params)
        if i in fit_picks and args.fit_repeats > 1:  # medians over fresh models: one timing of a slow one swings
            more = [new_protocol(objective, params, fit_epoch=True) for _ in range(args.fit_repeats - 1)]
            pairs = [(new, fit), *more]
            new, fit = (float(np.median(v)) for v in zip(*pairs))
        rows.append({"macs": candidate["macs"], "old_ms": old, "new_ms": new, "fit_ms": fit})
        print(f"{i:>3} {candidate['macs']:>12,} old {old:8.2f} new {new:8.2f}" + (f" fit {fit:8.2f}" if fit else ""),
              flush=True)
    text = report(rows, args=args, wall_s=time.perf_counter() - started)
    print(text)
    write_output(args.out, text, header=stamp(module="benchmarks.protocol", argv=argv))
    return 0


def report(rows: list[dict], *, args: argparse.Namespace, wall_s: float) -> str:
    old = np.array([r["old_ms"] for r in rows])
    new = np.array([r["new_ms"] for r in rows])
    lines = [
        f"protocol benchmark: {len(rows)} random candidates of the default space (seed {args.seed}, <= "
        f"{MAX_MACS:,} MACs), Fashion-MNIST, batch 64, timing within a {args.train_steps}-step budget; one "
        f"process, protocols taking turns; fit checks: medians over {args.fit_repeats} fresh model(s)",
        f"Spearman rank correlation, old vs new protocol: {spearman(old, new):.3f} (target >= 0.95)",
        f"median ratio new / old: {np.median(new / old):.3f}; step times {new.min():.2f} to {new.max():.2f} ms",
        "fit's real time per step (one epoch of the training subset, timed outside) over the step time:",
        f"{'MACs':>12} {'old ms':>8} {'new ms':>8} {'fit ms':>8} {'fit/new':>8} {'fit/old':>8}",
    ]
    for r in (r for r in rows if r["fit_ms"]):
        lines.append(f"{r['macs']:>12,} {r['old_ms']:>8.2f} {r['new_ms']:>8.2f} {r['fit_ms']:>8.2f} "
                     f"{r['fit_ms'] / r['new_ms']:>8.3f} {r['fit_ms'] / r['old_ms']:>8.3f}")
    lines.append(f"benchmark wall time: {wall_s:.0f} s")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
