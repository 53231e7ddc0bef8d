"""Timing benchmark: do two processes agree on a candidate's step time, and on the order of many candidates?

Draws candidates from the default space (seeded): ``--varied`` of them spread over the range of
costs (MAC quantiles) and ``--random`` plain random ones. Two separate processes each time every
candidate with the trial protocol (``optimizer.measure.timing``, the search's thread settings, batches of
Fashion-MNIST's shape), each candidate built, traced and timed afresh in each. The two processes
take turns, candidate by candidate (A then B, then B then A for the next), so that the machine's
own slow drift (on this shared 2-core VM, whole minutes run 5-10% slower, in wall and CPU time
alike, with one thread or two) hits both alike and the figures measure the protocol; with
``--sequential`` the first process times every candidate before the second starts, which measures
the protocol plus that drift. It prints:

- for the varied candidates, the median ratio of the two processes' timings (target: within 5%
  of 1), and the median and worst per-candidate disagreement |ratio - 1|;
- for the random candidates, the Spearman rank correlation of the two timings (target >= 0.95);
- the protocol's wall time per model (build, tracing, warm-up and timed calls).

The figures are also written to ``--out`` (``results/benchmarks/timing.txt``), stamped with the command, commit
and date. Run it on a quiet machine::

    python -m benchmarks.timing                 # 10 varied + 30 random candidates, 1 s of timing each
    python -m benchmarks.timing --quick         # a smoke run: 4 + 6 candidates, 0.3 s each
    python -m benchmarks.timing --sequential    # the first process times everything, then the second
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.harness import add_out, stamp, write_output

INPUT_SHAPE, NUM_CLASSES = (28, 28, 1), 10
POOL_FACTOR = 3  # candidates drawn per candidate timed, to choose the varied ones from
MAX_MACS = 20_000_000  # keeps the slowest candidates to a few hundred ms per step on a 2-core CPU


def sample_pool(*, seed: int, size: int) -> list[dict]:
    """Feasible candidates of the default space, each as {"params", "macs"}, drawn by Optuna's random sampler."""
    import optuna

    from optimizer.errors import CandidateFailed
    from optimizer.measure.costs import total_macs
    from optimizer.measure.memory import deferred_variables
    from optimizer.space.candidate import build_candidate
    from optimizer.space.hparams import OptunaHyperParameters
    from optimizer.space.load import load_space

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    build = load_space("default", input_shape=INPUT_SHAPE, num_classes=NUM_CLASSES)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    pool = []
    for _ in range(size):
        trial = study.ask()
        try:
            with deferred_variables():  # shapes only: counting MACs needs no weights
                macs = int(total_macs(build_candidate(build, OptunaHyperParameters(trial))))
        except CandidateFailed:
            continue
        if macs <= MAX_MACS:
            pool.append({"params": trial.params, "macs": macs})
    return pool


def choose(pool: list[dict], *, varied: int, random: int, seed: int) -> tuple[list[dict], list[dict]]:
    """``varied`` candidates at evenly spaced MAC quantiles, and ``random`` others drawn at random."""
    by_cost = sorted(pool, key=lambda c: c["macs"])
    picks = sorted({round(q) for q in np.linspace(0, len(by_cost) - 1, varied)})
    chosen = [by_cost[i] for i in picks]
    rest = [c for i, c in enumerate(by_cost) if i not in set(picks)]
    order = np.random.default_rng(seed).permutation(len(rest))[:random]
    return chosen, [rest[i] for i in order]


def time_candidates(candidates: list[dict], *, batch_size: int, timing_s: float) -> list[dict]:
    """The child process: each candidate's step time with the trial protocol, and the protocol's wall time."""
    from optimizer.measure.device import configure_threads
    from optimizer.measure.timing import measure_step_time
    from optimizer.space.candidate import rebuild
    from optimizer.space.load import load_space

    configure_threads()
    build = load_space("default", input_shape=INPUT_SHAPE, num_classes=NUM_CLASSES)
    rng = np.random.default_rng(0)
    x = rng.random((4 * batch_size, *INPUT_SHAPE), dtype=np.float32)  # a step's time depends on shapes, not values
    y = rng.integers(0, NUM_CLASSES, 4 * batch_size)
    rows = []
    for candidate in candidates:
        start = time.perf_counter()
        model = rebuild(build, candidate["params"])
        step = measure_step_time(model, x=x, y=y, batch_size=batch_size, min_time_s=timing_s)
        rows.append(
            {"median_ms": step.median_ms, "cpu_ms": step.cpu_ms, "cv": step.cv, "wall_s": time.perf_counter() - start}
        )
    return rows


class Child:
    """A fresh Python process that times the candidates it is sent, one per line: what a second run would see."""

    def __init__(self, *, batch_size: int, timing_s: float) -> None:
        command = [
            sys.executable,
            "-m",
            "benchmarks.timing",
            "--serve",
            "--batch-size",
            str(batch_size),
            "--timing-s",
            str(timing_s),
        ]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def time(self, candidate: dict) -> dict:
        self.process.stdin.write(json.dumps(candidate) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the timing process ended early (exit code {self.process.wait()})")
        return json.loads(line)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def serve(*, batch_size: int, timing_s: float) -> None:
    """The child's loop: a candidate per line on stdin, its timing per line on stdout (everything else to stderr)."""
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # TensorFlow's and Keras' own prints must not end up in the answers
    for line in sys.stdin:
        answers.write(
            json.dumps(time_candidates([json.loads(line)], batch_size=batch_size, timing_s=timing_s)[0]) + "\n"
        )
        answers.flush()


def time_in_two_processes(
    candidates: list[dict], *, batch_size: int, timing_s: float, sequential: bool
) -> tuple[list, list]:
    """Each candidate's timing in process A and in process B; turns alternate unless ``sequential``."""
    a, b = (Child(batch_size=batch_size, timing_s=timing_s) for _ in range(2))
    try:
        if sequential:
            return [a.time(c) for c in candidates], [b.time(c) for c in candidates]
        first, second = [], []
        for i, candidate in enumerate(candidates):
            order = (a, first), (b, second)
            for child, rows in order if i % 2 == 0 else order[::-1]:
                rows.append(child.time(candidate))
        return first, second
    finally:
        a.close()
        b.close()


def figures(first: list[dict], second: list[dict], *, varied: int) -> dict:
    """Agreement of the two processes: ratios on the varied candidates, rank correlation on the random ones."""
    from scipy.stats import spearmanr

    a, b = (np.array([r["median_ms"] for r in rows]) for rows in (first, second))
    ratio = a[:varied] / b[:varied]
    walls = np.array([r["wall_s"] for r in first + second])
    return {
        "varied_candidates": varied,
        "median_ratio": float(np.median(ratio)),
        "median_disagreement": float(np.median(np.abs(ratio - 1))),
        "worst_disagreement": float(np.max(np.abs(ratio - 1))),
        "random_candidates": len(a) - varied,
        "spearman": float(spearmanr(a[varied:], b[varied:]).statistic) if len(a) - varied > 2 else float("nan"),
        "step_ms_range": [float(a.min()), float(a.max())],
        "wall_s_per_model_median": float(np.median(walls)),
        "wall_s_per_model_max": float(np.max(walls)),
    }


def report(numbers: dict, *, args: argparse.Namespace, elapsed_s: float) -> str:
    from optimizer.measure.device import fingerprint

    return "\n".join([
        f"timing benchmark: {numbers['varied_candidates']} varied + {numbers['random_candidates']} random candidates, "
        f"batch {args.batch_size}, {args.timing_s:g} s of timed steps each, two processes "
        f"{'one after the other' if args.sequential else 'taking turns per candidate'}, seed {args.seed}",
        f"device: {json.dumps(fingerprint())}",
        f"median ratio of the two timings (varied): {numbers['median_ratio']:.3f} (target within 5% of 1)",
        f"per-candidate disagreement |ratio - 1|: median {100 * numbers['median_disagreement']:.1f}%, "
        f"worst {100 * numbers['worst_disagreement']:.1f}%",
        f"Spearman rank correlation (random): {numbers['spearman']:.3f} (target >= 0.95)",
        f"step times from {numbers['step_ms_range'][0]:.2f} to {numbers['step_ms_range'][1]:.1f} ms",
        f"protocol wall time per model: median {numbers['wall_s_per_model_median']:.1f} s, "
        f"max {numbers['wall_s_per_model_max']:.1f} s (build, tracing, warm-up, timed calls)",
        f"benchmark wall time: {elapsed_s:.0f} s",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--varied", type=int, default=10)
    parser.add_argument("--random", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--timing-s", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="4 varied + 6 random candidates, 0.3 s each")
    add_out(parser, default=Path("results/benchmarks/timing.txt"))
    parser.add_argument("--sequential", action="store_true", help="process A times every candidate, then process B")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    if args.serve:
        serve(batch_size=args.batch_size, timing_s=args.timing_s)
        return 0
    if args.quick:
        args.varied, args.random, args.timing_s = 4, 6, 0.3
    from optimizer.measure.device import configure_threads

    configure_threads()  # as in the children, so the printed fingerprint shows the threads they used
    start = time.perf_counter()
    varied, random = choose(
        sample_pool(seed=args.seed, size=POOL_FACTOR * (args.varied + args.random)),
        varied=args.varied,
        random=args.random,
        seed=args.seed,
    )
    candidates = varied + random
    first, second = time_in_two_processes(
        candidates, batch_size=args.batch_size, timing_s=args.timing_s, sequential=args.sequential
    )
    text = report(figures(first, second, varied=len(varied)), args=args, elapsed_s=time.perf_counter() - start)
    print(text)
    write_output(args.out, text, header=stamp(module="benchmarks.timing", argv=argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
