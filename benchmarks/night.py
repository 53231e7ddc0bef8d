"""Night benchmark (issue 27): what a default overnight search takes home, against networks people design by hand.

Parts, each resumable (what a part finished is kept under ``--out`` and not done again):

- ``search``: ``archopt search --timeout T --seed S --out OUT/runs/seedS`` for each seed, alone on the machine (a
  finished run leaves ``done`` in its folder; an interrupted one starts again);
- ``finalists``: each run's finalists, the trials its search trained as finalists (a ``final_accuracy``
  column), else its K most accurate structurally distinct front members (``finalists.csv``);
- ``export``: every finalist and every reference network (``search_spaces.references``) trained with the export
  recipe (``optimizer.results.export.retrain``: 5 epochs, cosine decay, flips, precise batch norm) and scored on the
  test set, once per export seed: a finalist with ``archopt export`` for its run's seed, in this process for the
  others (``exports.csv``, one row per network and seed);
- ``time``: every finalist and reference timed in one sitting, interleaved (``times.csv``; redone whole, never in
  parts, since the figures compare only within one sitting);
- ``report``: the issue's target figures (``night.txt``), stamped with the command, commit and date.

Run it alone on the machine (about 5-6 hours: two 2-hour searches, then ~24 trainings of 5 epochs at 1-4 minutes
each, then the timing)::

    python -m benchmarks.night --out results/benchmarks/night
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.harness import Ledger, finished_runs, log_line, run_search, stamp
from optimizer.study import run_config
from optimizer.study.study import JUDGED as JUDGED_STATES
from search_spaces.references import REFERENCES

JUDGED = [state.name for state in JUDGED_STATES]  # as trials.csv spells them

PARTS = ("search", "finalists", "export", "time", "report")
NOISY_POINTS = 0.2  # two export seeds further apart than this: their mean is flagged as noisy (issue 27)
TUTORIAL = "tutorial_cnn"
TUTORIAL_SPEEDUP = 5.0


# ---- pure figures over frames (tested without training) ----

def repeated(trials: pd.DataFrame) -> pd.Series:
    """Per trial of a run's trials.csv, whether it repeats the network of an earlier judged trial.

    A repeat is a trial the search answered from an earlier one (``repeat_of``), or a judged trial whose
    ``architecture`` key (same device class) an earlier judged trial already has; a trial without a key matches
    nothing by it.
    """
    ordered = trials.sort_values("trial")
    judged = ordered["state"].isin(JUDGED)
    key = ordered["architecture"] if "architecture" in ordered else pd.Series(np.nan, index=ordered.index)
    key = key.where(key.notna(), "trial " + ordered["trial"].astype(str))
    device = ordered["device"].astype(str) if "device" in ordered else pd.Series("", index=ordered.index)
    seen = pd.Series(list(zip(device, key)), index=ordered.index)[judged].duplicated()
    mask = seen.reindex(ordered.index, fill_value=False).astype(bool)
    if "repeat_of" in ordered:
        mask |= ordered["repeat_of"].notna()
    return mask.reindex(trials.index)


def run_counts(trials: pd.DataFrame) -> dict:
    """A run's trials, repeats (count and share of all trials), distinct networks judged, and failed trials."""
    repeats = repeated(trials)
    judged = trials["state"].isin(JUDGED)
    return {
        "trials": len(trials), "repeats": int(repeats.sum()),
        "repeat_share": round(float(repeats.mean()), 4) if len(trials) else float("nan"),
        "distinct": int((judged & ~repeats).sum()), "failed": int((trials["state"] == "FAIL").sum()),
    }


def spearman(a: pd.Series, b: pd.Series) -> float:
    """Spearman's rank correlation of two aligned series (ties share their mean rank); NaN for under 3 pairs."""
    pairs = pd.DataFrame({"a": a.to_numpy(), "b": b.to_numpy()}).dropna()
    return float(pairs["a"].rank().corr(pairs["b"].rank())) if len(pairs) >= 3 else float("nan")


def pick_finalists(trials: pd.DataFrame, *, k: int) -> pd.DataFrame:
    """A run's finalists with their validation ``score`` and where it comes from (``score_source``).

    The search's own finalists (trials with a ``final_accuracy``) when it trained some; else its ``k`` most accurate
    front members, one per network (``architecture``), scored by the search's accuracy.
    """
    if "final_accuracy" in trials and trials["final_accuracy"].notna().any():
        chosen = trials[trials["final_accuracy"].notna()]
        return chosen.assign(score=chosen["final_accuracy"], score_source="final_accuracy")
    front = trials[(trials["state"] == "COMPLETE") & trials["is_pareto"].astype(bool)]
    front = front.sort_values(["accuracy", "step_time_ms"], ascending=[False, True])
    if "architecture" in front:
        front = front[~front["architecture"].duplicated() | front["architecture"].isna()]
    chosen = front.head(k)
    return chosen.assign(score=chosen["accuracy"], score_source="search_accuracy")


def mean_over_seeds(exports: pd.DataFrame) -> pd.DataFrame:
    """Per network: the mean test accuracy over its export seeds, their spread (points), and whether it is noisy."""
    grouped = exports.groupby("network")["test_accuracy"]
    frame = pd.DataFrame({"test_accuracy": grouped.mean(), "seeds": grouped.count(),
                          "spread_points": 100 * (grouped.max() - grouped.min())})
    return frame.assign(noisy=frame["spread_points"] >= NOISY_POINTS).reset_index()


def dominating(finalists: pd.DataFrame, *, accuracy: float, step_ms: float, speedup: float = 1.0) -> pd.DataFrame:
    """The finalists at least as accurate as ``accuracy`` and at least ``speedup`` times faster than ``step_ms``."""
    keep = (finalists["test_accuracy"] >= accuracy) & (finalists["step_ms"] * speedup <= step_ms)
    return finalists[keep].sort_values("step_ms")


def chosen_vs_best(finalists: pd.DataFrame) -> pd.DataFrame:
    """Per run: the finalist validation chose (highest ``score``), its test accuracy, the run's best exported test
    accuracy, and the gap in points."""
    rows = []
    for run, group in finalists.groupby("run"):
        chosen = group.sort_values(["score", "step_ms"], ascending=[False, True]).iloc[0]
        best = group["test_accuracy"].max()
        rows.append({"run": run, "chosen": chosen["network"], "chosen_test": chosen["test_accuracy"],
                     "best_test": best, "gap_points": round(100 * (best - chosen["test_accuracy"]), 2)})
    return pd.DataFrame(rows, columns=["run", "chosen", "chosen_test", "best_test", "gap_points"])


def report_lines(*, counts: pd.DataFrame, finalists: pd.DataFrame, references: pd.DataFrame) -> list[str]:
    """The issue's target figures, each with its target. ``finalists`` and ``references`` carry ``network``,
    ``test_accuracy`` (mean over seeds), ``noisy`` and ``step_ms``; finalists also ``run``, ``score`` and
    ``score_source``."""
    lines = [f"run {c.run}: {c.trials} trials, {c.repeats} repeats ({100 * c.repeat_share:.1f}%; target at most 5%), "
             f"{c.distinct} distinct networks (target at least 634 in 2 hours), {c.failed} failed"
             for c in counts.itertuples()]
    for f in finalists.sort_values("step_ms").itertuples():
        lines.append(f"finalist {f.network}: {f.score_source} {f.score:.4f}, test {f.test_accuracy:.4f}"
                     f"{' (seeds differ by >= 0.2 points)' if f.noisy else ''}, {f.step_ms:.2f} ms a step")
    for r in references.sort_values("step_ms").itertuples():
        lines.append(f"reference {r.network}: test {r.test_accuracy:.4f}{' (noisy)' if r.noisy else ''}, "
                     f"{r.step_ms:.2f} ms a step")
    sources = "/".join(sorted(set(finalists["score_source"]))) or "score"
    rho = spearman(finalists["score"], finalists["test_accuracy"])
    lines.append(f"Spearman({sources}, exported test accuracy) over {len(finalists)} finalists: {rho:.3f} "
                 "(target at least 0.8)")
    if "search_accuracy" in finalists and sources != "search_accuracy":  # the search's short proxy, to compare
        proxy = spearman(finalists["search_accuracy"], finalists["test_accuracy"])
        lines.append(f"Spearman(search accuracy, exported test accuracy): {proxy:.3f}")
    for c in chosen_vs_best(finalists).itertuples():
        lines.append(f"run {c.run}: validation chose {c.chosen} ({c.chosen_test:.4f} test); best exported "
                     f"{c.best_test:.4f}; gap {c.gap_points:.2f} points (target at most 0.3)")
    for r in references.itertuples():
        better = dominating(finalists, accuracy=r.test_accuracy, step_ms=r.step_ms)
        names = ", ".join(f"{b.network} ({b.test_accuracy:.4f}, {b.step_ms:.2f} ms)" for b in better.itertuples())
        lines.append(f"dominates {r.network}: {'yes, ' + names if names else 'NO finalist'}")
    tutorial = references[references["network"] == TUTORIAL]
    if len(tutorial):
        t = tutorial.iloc[0]
        fast = dominating(finalists, accuracy=t["test_accuracy"], step_ms=t["step_ms"], speedup=TUTORIAL_SPEEDUP)
        names = ", ".join(f"{b.network} ({t['step_ms'] / b.step_ms:.1f}x)" for b in fast.itertuples())
        lines.append(f"as accurate as {TUTORIAL} at >= {TUTORIAL_SPEEDUP:.0f}x its speed: {names or 'NO finalist'}")
    if len(finalists):
        top = finalists.sort_values("test_accuracy").iloc[-1]
        lines.append(f"most accurate finalist: {top['network']} at {top['test_accuracy']:.4f} test "
                     "(target at least 0.930)")
    return lines


# ---- parts (side effects: subprocesses, training, files) ----

def part_search(*, seeds: list[int], timeout: str, runs: Path, extra: list[str]) -> None:
    for seed in seeds:
        print(f"{time.strftime('%H:%M:%S')} search seed {seed}", flush=True)
        run_search(runs / f"seed{seed}", args=["--timeout", timeout, "--seed", str(seed), "--no-progress", *extra],
                   log=runs / f"seed{seed}.log")


def part_finalists(*, runs: Path, out: Path, k: int) -> pd.DataFrame:
    ledger = Ledger(out / "finalists.csv", key="network", columns=["run"])
    for name, folder in finished_runs(runs).items():
        if name in set(ledger.frame["run"]):
            continue
        seed = run_config.load(folder).seed
        chosen = pick_finalists(pd.read_csv(folder / "trials.csv"), k=k)
        for row in chosen.itertuples():
            ledger.add({"network": f"{name}-t{row.trial}", "run": name, "run_seed": seed, "trial": int(row.trial),
                        "score": row.score, "score_source": row.score_source, "search_accuracy": row.accuracy,
                        "search_step_ms": row.step_time_ms})
    return ledger.frame


def part_export(*, runs: Path, out: Path, seeds: list[int], epochs: int, references: list[str]) -> None:
    """Each finalist and reference, once per export seed; a row per (network, seed) as soon as it is trained."""
    finalists = pd.read_csv(out / "finalists.csv")
    ledger = Ledger(out / "exports.csv", key="key")
    first = next(iter(finished_runs(runs).values()))
    for f in finalists.itertuples():
        for seed in ledger.missing([f"{f.network}:{s}" for s in seeds]):
            seed = int(seed.rpartition(":")[2])
            trial, run = int(f.trial), runs / f.run  # the ledger's CSV reads whole numbers back as floats
            row = (_archopt_export(run, trial=trial, out=out / "exports" / f.network, epochs=epochs)
                   if seed == int(f.run_seed) else _export_in_process(run, trial=trial, seed=seed, epochs=epochs))
            ledger.add({"key": f"{f.network}:{seed}", "network": f.network, "seed": seed, **row})
            log_line({"network": f.network, "seed": seed, "test_accuracy": row["test_accuracy"]}, out=None)
    for name in references:
        for seed in ledger.missing([f"{name}:{s}" for s in seeds]):
            seed = int(seed.rpartition(":")[2])
            row = _export_in_process(first, reference=name, seed=seed, epochs=epochs)
            ledger.add({"key": f"{name}:{seed}", "network": name, "seed": seed, **row})
            log_line({"network": name, "seed": seed, "test_accuracy": row["test_accuracy"]}, out=None)


def _archopt_export(run: Path, *, trial: int, out: Path, epochs: int) -> dict:
    """``archopt export`` as a user runs it; its archopt.json is kept as ``out``.json, the model folder is removed
    (hundreds of MB over a night's finalists; the timing rebuilds each network)."""
    record = out.with_suffix(".json")
    if not record.exists():
        shutil.rmtree(out, ignore_errors=True)  # an interrupted export: its folder must be new
        command = [sys.executable, "-m", "optimizer.cli", "export", str(run), "--trial", str(trial),
                   "--out", str(out), "--epochs", str(epochs)]
        subprocess.run(command, check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        shutil.copy(out / "archopt.json", record)
        shutil.rmtree(out)
    data = json.loads(record.read_text())
    return {"test_accuracy": data["test_accuracy"], "how": "archopt export", "params": data.get("params")}


def _export_in_process(run: Path, *, seed: int, epochs: int, trial: int | None = None,
                       reference: str | None = None) -> dict:
    """Trial ``trial`` of ``run``, or reference network ``reference``, trained as ``export_trial`` trains a trial
    (the run's dataset and batch size, the dataset's augmentation) with ``seed`` instead of the run's, and tested."""
    import keras

    from optimizer.data.augment import for_dataset
    from optimizer.results.export import retrain
    from optimizer.results.rebuild import complete_trial, open_run, rebuild_model
    from optimizer.study.assemble import load_split
    from optimizer.trial.evaluation import accuracy

    config, study = open_run(run)
    dataset, _ = load_split(config)
    keras.utils.set_random_seed(seed)
    if reference is None:
        params = complete_trial(study, number=trial).params
        model = rebuild_model(config, params, input_shape=dataset.input_shape, num_classes=dataset.num_classes)
    else:
        model = _reference_model(reference, input_shape=dataset.input_shape, num_classes=dataset.num_classes)
    start = time.perf_counter()
    retrain(model, dataset.x_train, dataset.y_train, batch_size=config.budget.batch_size, epochs=epochs,
            augmentation=for_dataset(config.dataset), seed=seed, verbose=0)
    return {"test_accuracy": accuracy(model, dataset.x_test, dataset.y_test), "how": "in process",
            "params": model.count_params(), "train_s": round(time.perf_counter() - start)}


def _reference_model(name: str, *, input_shape: tuple, num_classes: int):
    """A fresh reference network, compiled as a baseline is (its own compile, else archopt's default)."""
    from optimizer.space.candidate import compile_default, reset_keras

    reset_keras()
    model = REFERENCES[name](input_shape=input_shape, num_classes=num_classes)
    compile_default(model)
    return model


def part_time(*, runs: Path, out: Path, rounds: int, references: list[str]) -> pd.DataFrame:
    """Every finalist and reference timed in one sitting, interleaved (``retime.interleaved_medians``) with the first
    run's objective (its data and budget); redone whole unless every network already has a time."""
    from optimizer.data.datasets import SPECS
    from optimizer.results.rebuild import complete_trial, open_run
    from optimizer.results.retime import interleaved_medians
    from optimizer.space.candidate import rebuild
    from optimizer.study.assemble import objective_for

    finalists = pd.read_csv(out / "finalists.csv")
    path = out / "times.csv"
    networks = [*finalists["network"], *references]
    if path.exists() and set(networks) <= set(pd.read_csv(path)["network"]):
        return pd.read_csv(path)
    first = next(iter(finished_runs(runs).values()))
    config, _ = open_run(first)
    objective = objective_for(config)
    models = {}
    for f in finalists.itertuples():
        _, study = open_run(runs / f.run)
        models[f.network] = rebuild(objective.build, complete_trial(study, number=int(f.trial)).params)
    data = SPECS[config.dataset]
    for name in references:
        models[name] = _reference_model(name, input_shape=data.image_shape, num_classes=data.num_classes)
    timers = {name: (lambda m=model: objective.time_steps(m).median_ms) for name, model in models.items()}
    medians = interleaved_medians(timers, rounds=rounds)
    frame = pd.DataFrame([{"network": n, "step_ms": round(ms, 3), "rounds": rounds,
                           "params": models[n].count_params(), "device": objective.tags.get("device")}
                          for n, ms in medians.items()])
    frame.to_csv(path, index=False)
    return frame


def part_report(*, runs: Path, out: Path, header: str) -> str:
    counts = pd.DataFrame([{"run": name, **run_counts(pd.read_csv(folder / "trials.csv"))}
                           for name, folder in finished_runs(runs).items()])
    tested = mean_over_seeds(pd.read_csv(out / "exports.csv"))
    timed = tested.merge(pd.read_csv(out / "times.csv")[["network", "step_ms"]], on="network")
    finalists = pd.read_csv(out / "finalists.csv").merge(timed, on="network")
    references = timed[~timed["network"].isin(finalists["network"])]
    text = header + "\n".join(report_lines(counts=counts, finalists=finalists, references=references)) + "\n"
    (out / "night.txt").write_text(text)
    counts.to_csv(out / "runs.csv", index=False)
    return text


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks/night"))
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="search seeds (default: 0 1)")
    parser.add_argument("--timeout", default="2h", help="each search's --timeout (default: %(default)s)")
    parser.add_argument("--search-args", default="", help="more `archopt search` arguments, in one string")
    parser.add_argument("--finalists", type=int, default=4,
                        help="finalists per run when its search trained none (default: %(default)s)")
    parser.add_argument("--export-seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--epochs", type=int, default=5, help="export epochs (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds (default: %(default)s)")
    parser.add_argument("--references", nargs="+", default=list(REFERENCES), choices=list(REFERENCES),
                        help="reference networks (search_spaces.references; default: all)")
    args = parser.parse_args(argv)
    runs = args.out / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    header = stamp(module="benchmarks.night", argv=argv)
    with (args.out / "commands.log").open("a") as log:  # every sitting's command, commit and date
        log.write(header + f"# parts: {' '.join(args.parts)}\n")
    if "search" in args.parts:
        part_search(seeds=args.seeds, timeout=args.timeout, runs=runs, extra=shlex.split(args.search_args))
    if not finished_runs(runs):
        print(f"no finished search under {runs}; run the `search` part first.", file=sys.stderr)
        return 1
    if "finalists" in args.parts:
        part_finalists(runs=runs, out=args.out, k=args.finalists)
    if "export" in args.parts:
        part_export(runs=runs, out=args.out, seeds=args.export_seeds, epochs=args.epochs, references=args.references)
    if "time" in args.parts:
        part_time(runs=runs, out=args.out, rounds=args.rounds, references=args.references)
    if "report" in args.parts:
        print(part_report(runs=runs, out=args.out, header=header), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
