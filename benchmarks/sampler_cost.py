"""What a proposal costs as a study grows: ask + suggest + tell with archopt's TPE on SQLite, plain and bounded.

A night of short successive-halving candidates passes 5,000 trials, and TPE reads every finished trial for every
group of knobs of every proposal. This script fills a SQLite study with synthetic complete trials of the default
space's knobs (``study.add_trials``; the values are random, which is what TPE's cost depends on: their number), then
times ``--repeats`` real proposals (ask, the knobs a real trial suggests, tell) at each size, with archopt's TPE
settings as they were (every trial read) and as ``make_sampler("tpe")`` now makes them (the last
``HISTORY_LIMIT`` finished trials). Usage::

    python -m benchmarks.sampler_cost                       # 100, 1000 and 5000 trials, 5 proposals each
    python -m benchmarks.sampler_cost --sizes 100 300 --repeats 3
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from sqlalchemy import event
from sqlalchemy.engine import Engine

from benchmarks.harness import add_out, stamp, write_output
from optimizer.study.sampler_views import HISTORY_LIMIT, RecentTrialsSampler
from optimizer.study.samplers import make_sampler
from optimizer.study.storage import make_storage
from optimizer.study.study import DIRECTIONS

# The default space's knobs (search_spaces/default_cnn.py): filters_b exists for b <= num_blocks.
KNOBS = {
    "first_stride": CategoricalDistribution([1, 2]), "first_kernel": CategoricalDistribution([3, 5, 7]),
    "num_blocks": IntDistribution(1, 5),
    **{f"filters_{b}": CategoricalDistribution([8, 16, 32, 64]) for b in range(1, 6)},
    "kernel_size": CategoricalDistribution([3, 5]),
    "factorization": CategoricalDistribution(["none", "kx1_1xk", "separable"]),
    "batch_norm": CategoricalDistribution([False, True]), "convs_per_block": IntDistribution(1, 2),
    "downsample": CategoricalDistribution(["max", "avg", "strided", "none"]),
    "head": CategoricalDistribution(["gap", "flatten"]), "dense_units": CategoricalDistribution([0, 32, 64, 128, 256]),
    "dropout": FloatDistribution(0.0, 0.5, step=0.25),
}


def _knobs(num_blocks: int) -> dict:
    return {k: d for k, d in KNOBS.items() if not (k.startswith("filters_") and int(k[-1]) > num_blocks)}


def synthetic_trials(n: int, *, rng: np.random.Generator) -> list[optuna.trial.FrozenTrial]:
    """``n`` complete trials with random knobs of the default space and random (accuracy, step time) values."""
    trials = []
    for _ in range(n):
        num_blocks = int(rng.integers(1, 6))
        knobs = _knobs(num_blocks)
        params = {k: d.choices[rng.integers(len(d.choices))] if isinstance(d, CategoricalDistribution) else None
                  for k, d in knobs.items()}
        params |= {"num_blocks": num_blocks, "convs_per_block": int(rng.integers(1, 3)),
                   "dropout": float(rng.choice([0.0, 0.25, 0.5]))}
        values = [float(rng.random()), float(1 + 100 * rng.random())]
        trials.append(optuna.trial.create_trial(params=params, distributions=knobs, values=values))
    return trials


def proposal_seconds(study: optuna.Study, *, rng: np.random.Generator) -> float:
    """One proposal as a trial makes it: ask, relative sampling, the knobs in the space's order, tell."""
    start = time.perf_counter()
    trial = study.ask()
    _ = trial.relative_params
    num_blocks = trial.suggest_int("num_blocks", 1, 5)
    for name, distribution in _knobs(num_blocks).items():
        if name != "num_blocks":
            trial._suggest(name, distribution)
    study.tell(trial, [float(rng.random()), float(1 + 100 * rng.random())])
    return time.perf_counter() - start


def tpe_pair(*, seed: int) -> tuple[optuna.samplers.BaseSampler, optuna.samplers.BaseSampler]:
    """archopt's TPE reading every finished trial, and reading the last ``HISTORY_LIMIT`` (``make_sampler``'s, less
    its views of unseen candidates and of halving's rungs)."""
    bounded = make_sampler("tpe", seed=seed).wrapped._sampler
    assert isinstance(bounded, RecentTrialsSampler), bounded  # the wrappers' order moved: look again
    return make_sampler("tpe", seed=seed).wrapped._sampler._sampler, bounded


def _fast_sqlite(dbapi_connection, _record) -> None:
    dbapi_connection.execute("PRAGMA synchronous=OFF")  # filling only: thousands of commits, none worth an fsync


def measure(sizes: list[int], *, repeats: int, seed: int, folder: Path) -> list[tuple[int, float, float]]:
    """(trials, plain TPE ms, bounded TPE ms): the median proposal at each size, both on the same stored trials."""
    rng = np.random.default_rng(seed)
    url = f"sqlite:///{folder / 'sampler.db'}"
    rows, have = [], 0
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for size in sorted(sizes):
        event.listen(Engine, "connect", _fast_sqlite)
        try:
            filler = optuna.load_study(study_name="cost", storage=url) if have else optuna.create_study(
                study_name="cost", storage=url, directions=list(DIRECTIONS))
            filler.add_trials(synthetic_trials(size - have, rng=rng))
        finally:
            event.remove(Engine, "connect", _fast_sqlite)
        medians = []
        for sampler in tpe_pair(seed=seed):
            study = optuna.load_study(study_name="cost", storage=make_storage(url), sampler=sampler)
            medians.append(1e3 * float(np.median([proposal_seconds(study, rng=rng) for _ in range(repeats)])))
        have = size + 2 * repeats
        rows.append((size, *medians))
    return rows


def report(rows: list[tuple[int, float, float]]) -> str:
    lines = [f"{'trials':>7}  {'TPE, all trials':>16}  {f'TPE, last {HISTORY_LIMIT}':>16}"]
    lines += [f"{n:>7,}  {plain:>13.0f} ms  {bounded:>13.0f} ms" for n, plain, bounded in rows]
    note = "median of the proposals (ask + suggest + tell) at each size, archopt's TPE settings, SQLite"
    return "\n".join([*lines, note])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    add_out(parser, default=Path("results/benchmarks/sampler_cost.txt"))
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        text = report(measure(args.sizes, repeats=args.repeats, seed=args.seed, folder=Path(folder)))
    print(text)
    write_output(args.out, text, header=stamp(module="benchmarks.sampler_cost", argv=argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
