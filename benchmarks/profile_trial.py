"""Where a trial's seconds go, per part, for a small, a medium and a large candidate of the default space.

Each candidate runs as one trial of the search (``optimizer.trial.profile``: the real ``Objective.evaluate``), in this
process, after a warm-up candidate that pays the process's one-off costs. Usage::

    python -m benchmarks.profile_trial --train-steps 100
"""

from __future__ import annotations

import argparse
import sys

_BASE = dict(first_kernel=3, kernel_size=3, factorization="none", batch_norm=False, head="gap", dense_units=0,
             dropout=0.0)
CANDIDATES = {
    "small": _BASE | dict(first_stride=2, num_blocks=1, filters_1=8, convs_per_block=1, downsample="max"),
    "medium": _BASE | dict(first_stride=1, num_blocks=2, filters_1=16, filters_2=32, convs_per_block=1,
                           downsample="max", dense_units=64),
    "large": _BASE | dict(first_stride=1, num_blocks=3, filters_1=32, filters_2=64, filters_3=64, convs_per_block=2,
                          downsample="max", batch_norm=True, head="flatten", dense_units=128, dropout=0.25),
}


def profile_table(*, train_steps: int, data_dir: str | None = None, candidates: dict = CANDIDATES) -> str:
    """The per-part table of ``candidates`` on Fashion-MNIST at ``train_steps`` (the first one also warms up)."""
    from optimizer.measure.device import configure_threads

    configure_threads()  # before any TensorFlow op, as a search does
    from optimizer.study import assemble
    from optimizer.study.run_config import RunConfig
    from optimizer.trial.budget import Budget
    from optimizer.trial.profile import format_profile, profile_candidate

    config = RunConfig(dataset="fashion_mnist", space="default", storage="sqlite:///:memory:", study="profile",
                       data_dir=data_dir, budget=Budget(train_steps=train_steps))
    objective = assemble.objective_for(config)
    profile_candidate(objective, next(iter(candidates.values())))  # the process's first trial pays one-off costs
    return format_profile({name: profile_candidate(objective, params) for name, params in candidates.items()})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-steps", type=int, default=100)
    parser.add_argument("--data-dir", default=None, help="the dataset's folder (default: where archopt finds it)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    print(profile_table(train_steps=args.train_steps, data_dir=args.data_dir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
