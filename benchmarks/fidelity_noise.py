"""How much of the fidelity benchmark's part-2 verdict is one retraining's luck?

Part 2 re-evaluates each run's front by retraining every member once from scratch to the top rung (initial weights
seeded by the benchmark's ``--seed``). One 900-step accuracy moves by about a point from one initialisation to the
next, the size of the gaps between methods' hypervolumes. This script retrains the same members again with other
seeds (each its own ``reevaluated-retrain<seed>.csv`` beside the run's ``reevaluated.csv``; resumable) and recomputes
every run's hypervolume with each retraining and with the members' mean accuracy over all of them, the step times
being the runs' common re-timing as before. It needs no study database: the knobs come from the run's trials.csv.

    python -m benchmarks.fidelity_noise --runs results/benchmarks/fidelity-1800s-v2/runs --top-steps 900 \\
        --retrain-seeds 1 2

Run it alone on the machine (it trains; its figures are accuracies, its step times are the committed ones).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.fidelity import Setting, add_setting_arguments, setting_from, top_rung_accuracy
from benchmarks.harness import Ledger, stamp, write_output
from benchmarks.hypervolume import hypervolume


def knobs(trials: pd.DataFrame, trial: int) -> dict:
    """Trial ``trial``'s knobs from trials.csv (the columns between the leading ones and the measurements)."""
    from optimizer.results.front import LEADING, METRICS

    columns = trials.columns[len(LEADING): list(trials.columns).index(METRICS[0])]
    row = trials.loc[trials["trial"] == trial, columns].iloc[0].dropna()
    # Keras takes Python numbers only; a column with gaps reads as floats: 32.0 filters become 32.
    values = {k: v.item() if hasattr(v, "item") else v for k, v in row.items()}
    return {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in values.items()}


def retrain(setting: Setting, folder: Path, *, seed: int) -> pd.DataFrame:
    """The run's re-evaluated members retrained from scratch to the top rung with initial weights seeded by ``seed``."""
    import keras

    from optimizer.space.candidate import rebuild
    from optimizer.study.assemble import build_fn_for, load_split

    ledger = Ledger(folder / f"reevaluated-retrain{seed}.csv", key="trial", columns=["accuracy_top"])
    todo = ledger.pending(pd.read_csv(folder / "reevaluated.csv"))
    if len(todo):
        trials, config = pd.read_csv(folder / "trials.csv"), setting.config()
        dataset, split = load_split(config)
        build = build_fn_for(config, dataset)
        for trial in todo["trial"]:
            keras.utils.set_random_seed(seed)
            model = rebuild(build, knobs(trials, trial))
            check_same(model, trials, trial)
            score = top_rung_accuracy(setting, model, split=split)
            ledger.add({"trial": trial, "accuracy_top": score})
            print(f"{time.strftime('%H:%M:%S')} {folder.name} trial {trial} seed {seed}: {score}")
    return ledger.frame.astype({"trial": int})


def check_same(model, trials: pd.DataFrame, trial: int) -> None:
    """The rebuilt network must be the trial's: same parameter count as trials.csv recorded."""
    recorded = int(trials.loc[trials["trial"] == trial, "params"].iloc[0])
    if model.count_params() != recorded:
        raise SystemExit(f"trial {trial} rebuilt with {model.count_params()} parameters, expected {recorded}.")


def table(runs: Path, accuracies: dict[str, dict[str, pd.Series]]) -> pd.DataFrame:
    """Each run's hypervolume with each retraining's accuracies and with their mean, on the common step times."""
    times = pd.concat([pd.read_csv(p) for p in sorted(runs.glob("common_step_times*.csv"))])
    rows = []
    for name, by_seed in accuracies.items():
        method, _, seed = name.rpartition("-seed")
        ms = times[times["run"] == name].set_index("trial")["step_ms_common"]
        frame = pd.DataFrame(by_seed).join(ms, how="inner")
        row = {"method": method, "seed": int(seed), "front": len(frame)}
        for key in by_seed:
            row[f"hv_{key}"] = hypervolume(frame[key].to_numpy(), frame["step_ms_common"].to_numpy())
        mean = frame[list(by_seed)].mean(axis=1)
        row["hv_mean"] = hypervolume(mean.to_numpy(), frame["step_ms_common"].to_numpy())
        row["sd_accuracy"] = float(frame[list(by_seed)].std(axis=1).mean())  # between retrainings, mean over members
        rows.append(row)
    return pd.DataFrame(rows)


def verdicts(frame: pd.DataFrame) -> list[str]:
    """Per hypervolume column: in how many seeds halving is above both single-fidelity runs."""
    lines = []
    for column in [c for c in frame.columns if c.startswith("hv_")]:
        wide = frame.pivot(index="seed", columns="method", values=column)
        others = [c for c in wide.columns if c != "halving"]
        beats = (wide["halving"].to_numpy()[:, None] > wide[others].to_numpy()).all(axis=1)
        lines.append(f"{column}: halving above {', '.join(others)} in {int(np.sum(beats))} of {len(wide)} seeds")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, required=True, help="part 2's run folders and common_step_times CSVs")
    parser.add_argument("--retrain-seeds", type=int, nargs="+", default=[1, 2])
    add_setting_arguments(parser, top_steps=900)  # part 2's setting: the fidelity benchmark's own flags
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    setting = setting_from(args)
    from optimizer.measure.device import configure_threads

    configure_threads()
    folders = sorted(p for p in args.runs.iterdir() if (p / "reevaluated.csv").exists())
    for seed in args.retrain_seeds:  # seed-major: an interrupted run still has whole retrainings
        for folder in folders:
            retrain(setting, folder, seed=seed)
    accuracies = {}
    for folder in folders:
        first = pd.read_csv(folder / "reevaluated.csv").set_index("trial")["accuracy_top"]
        again = {f"retrain{s}": retrain(setting, folder, seed=s).set_index("trial")["accuracy_top"]
                 for s in args.retrain_seeds}
        accuracies[folder.name] = {f"retrain{args.seed}": first, **again}
    frame = table(args.runs, accuracies)
    text = "\n".join([frame.to_string(index=False, float_format=lambda v: f"{v:.4f}"), *verdicts(frame)]) + "\n"
    header = stamp(module="benchmarks.fidelity_noise", argv=argv)
    write_output(args.runs.parent / "fidelity_noise.txt", text, header=header)
    frame.to_csv(args.runs.parent / "fidelity_noise.csv", index=False)
    print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
