"""Repeats benchmark: how much of a search goes to candidates that repeat an earlier one, and what is left for new ones.

For each run folder (default space, 28x28 grey images, 10 classes), from its trials.csv alone: judged trials (COMPLETE
or PRUNED), the repeats among them and the seconds they took, the distinct networks judged, and the hypervolume of
the front (``benchmarks.hypervolume``). A repeat is a judged trial whose network, rebuilt from its knobs, has the
``architecture_key`` of an earlier judged trial of the same device class: runs from before archopt answered repeats
(no ``repeat_of`` column) are read the same way as runs after it. The searches themselves are plain ``archopt
search`` runs, old and new code taking turns, alone on the machine::

    python -m benchmarks.repeats RUN_DIR [RUN_DIR ...]     # --out results/benchmarks/repeats/repeats.txt
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from benchmarks.fidelity_noise import check_same, knobs
from benchmarks.harness import add_out, log_line, stamp, write_output
from benchmarks.hypervolume import hypervolume
from optimizer.study.study import JUDGED


def architectures(trials: pd.DataFrame) -> pd.Series:
    """Each judged trial's architecture key, rebuilt from its knobs (one build per distinct set of knobs)."""
    from optimizer.space.candidate import rebuild
    from optimizer.trial.repeats import architecture_key
    from search_spaces.default_cnn import DefaultCNN

    build, keys, by_knobs = DefaultCNN(input_shape=(28, 28, 1), num_classes=10).build, {}, {}
    for trial in trials["trial"]:
        params = knobs(trials, trial)
        spelled = tuple(sorted(params.items()))
        if spelled not in by_knobs:
            model = rebuild(build, params)
            check_same(model, trials, trial)
            by_knobs[spelled] = architecture_key(model)
        keys[trial] = by_knobs[spelled]
    return pd.Series(keys, name="architecture")


def counts(trials: pd.DataFrame) -> dict:
    """Trials, judged, repeats and their seconds, distinct networks, and the repeats a run answered itself."""
    judged = trials[trials["state"].isin([state.name for state in JUDGED])].sort_values("trial")
    keys = architectures(judged).reindex(judged["trial"]).to_numpy()
    device = judged["device"].astype(str).to_numpy() if "device" in judged else [""] * len(judged)
    repeat = pd.Series(list(zip(device, keys))).duplicated().to_numpy()
    return {
        "trials": len(trials), "judged": len(judged), "repeats": int(repeat.sum()),
        "repeat_s": round(float(judged["duration_s"][repeat].sum())), "all_s": round(float(trials["duration_s"].sum())),
        "distinct": int((~repeat).sum()), "answered": int(judged.get("repeat_of", pd.Series()).notna().sum()),
    }


def figures(run: Path) -> dict:
    """One run's line: its counts, and its front's hypervolume and best accuracy."""
    trials = pd.read_csv(run / "trials.csv")
    complete = trials[trials["state"] == "COMPLETE"]
    return {
        "run": run.name, **counts(trials),
        "hypervolume": round(hypervolume(complete["accuracy"], complete["step_time_ms"]), 4),
        "best_accuracy": round(float(complete["accuracy"].max()), 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+")
    add_out(parser, default=Path("results/benchmarks/repeats/repeats.txt"))
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    write_output(args.out, "", header=stamp(module="benchmarks.repeats", argv=argv))
    for run in args.runs:
        log_line(figures(run), out=args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
