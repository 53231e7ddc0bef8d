"""Around benchmark (issue 28): a search around the user's own CNN, its front exported and timed beside the original.

Parts, each resumable (what a part finished is kept under ``--out`` and not done again):

- ``search``: ``archopt search --around MODEL --timeout T --seed S --out OUT/run`` (alone on the machine);
- ``export``: the original (trial 0, the model as written), the distinct front members no slower than it (at
  most ``--cap``, spread over the step-time range) and the most accurate member, exported with
  ``archopt export --epochs E`` as a user runs it (``exports.csv``);
- ``time``: all of them timed in one sitting, interleaved (``times.csv``; redone whole);
- ``reseed``: the original and each close call (a variant within ``MARGIN`` points of a target's line) trained
  again the export's way with another seed (``reseeds.csv``); the report takes the mean of the two;
- ``report``: each variant's edits, test accuracy, step time, speed-up and points against the original, which edits
  paid off, and the issue's two targets (``around.txt``), stamped with the command, commit and date.

Run it alone on the machine (about 1.5 hours with the defaults)::

    python -m benchmarks.around --out results/benchmarks/around-tutorial
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.harness import DONE, Ledger, log_line, run_search, stamp
from benchmarks.night import _archopt_export

PARTS = ("search", "export", "time", "reseed", "report")
FASTER = 3.0  # target: a variant at least this many times faster than the original ...
WITHIN_POINTS = 0.5  # ... within this many points of its test accuracy (issue 28)
MARGIN = 0.3  # points within which another export seed may flip a target's verdict (two seeds differ by ~0.1-0.2)
RESEED = 1  # the second export seed (`archopt export` trains with the run's seed, 0 here)


# ---- pure parts (tested without training) ----

def edits(params: dict, original: dict) -> str:
    """The knobs of ``params`` that differ from the original's, as ``knob=value`` in the space's order ('as written'
    for none); a conditional knob the original does not have is left out (its parent's edit says it)."""
    changed = [f"{k}={v}" for k, v in params.items() if k in original and original[k] != v]
    return ", ".join(changed) or "as written"


def pick_front(front: pd.DataFrame, *, cap: int) -> pd.DataFrame:
    """At most ``cap`` front members (``trial``, ``step_ms``, ``accuracy``), one per ``architecture``, fastest first:
    all of them when they fit, else spread evenly over the step-time ranks (the most accurate always kept)."""
    front = front.sort_values(["step_ms", "accuracy"], ascending=[True, False])
    if "architecture" in front:
        front = front[~front["architecture"].duplicated() | front["architecture"].isna()]
    if len(front) <= cap:
        return front
    ranks = sorted(set(np.linspace(0, len(front) - 1, cap).round().astype(int)))
    most_accurate = int(np.argmax(front["accuracy"].to_numpy()))
    if most_accurate not in ranks:
        ranks[-1] = most_accurate
    return front.iloc[sorted(set(ranks))]


def compare(variants: pd.DataFrame, *, original: int = 0) -> pd.DataFrame:
    """``variants`` (``trial``, ``test_accuracy``, ``step_ms``) with ``speedup`` (x) and ``points`` against the
    original's row."""
    base = variants.set_index("trial").loc[original]
    return variants.assign(speedup=(base["step_ms"] / variants["step_ms"]).round(2),
                           points=(100 * (variants["test_accuracy"] - base["test_accuracy"])).round(2))


def moves(variants: pd.DataFrame) -> pd.DataFrame:
    """Per edit (``knob=value``) seen in the variants other than the original: how many carry it, and the best
    speed-up among those within ``WITHIN_POINTS`` of the original, and the best points among those faster."""
    rows = []
    others = variants[variants["edits"] != "as written"]
    for move in sorted({m for e in others["edits"] for m in e.split(", ")}):
        carry = others[others["edits"].str.split(", ").apply(lambda ms, m=move: m in ms)]
        close = carry[carry["points"] >= -WITHIN_POINTS]
        faster = carry[carry["speedup"] > 1]
        rows.append({"edit": move, "variants": len(carry),
                     "best_speedup_within_0.5_points": close["speedup"].max() if len(close) else np.nan,
                     "best_points_when_faster": faster["points"].max() if len(faster) else np.nan})
    return pd.DataFrame(rows, columns=["edit", "variants", "best_speedup_within_0.5_points",
                                       "best_points_when_faster"])


def close_calls(variants: pd.DataFrame, *, original: int = 0) -> list[int]:
    """The original and the variants whose verdict on a target another export seed could flip: at least ``FASTER``
    times faster within ``MARGIN`` of -``WITHIN_POINTS`` points, or faster within ``MARGIN`` of 0 points. None when
    no variant is a close call."""
    others = variants[variants["trial"] != original]
    near_fast = (others["speedup"] >= FASTER) & ((others["points"] + WITHIN_POINTS).abs() <= MARGIN)
    near_even = (others["speedup"] > 1) & (others["points"].abs() <= MARGIN)
    close = [int(t) for t in others.loc[near_fast | near_even, "trial"]]
    return [original, *close] if close else []


def with_reseeds(exported: pd.DataFrame, reseeds: pd.DataFrame | None) -> pd.DataFrame:
    """``exported`` (``trial``, ``test_accuracy``) with ``test_accuracy`` the mean over both seeds where a trial was
    trained again (``seeds`` says how many; the first seed's figure kept as ``test_accuracy_seed0``)."""
    merged = exported.rename(columns={"test_accuracy": "test_accuracy_seed0"})
    second = (reseeds if reseeds is not None else pd.DataFrame(columns=["trial", "test_accuracy"]))
    merged = merged.merge(second[["trial", "test_accuracy"]].rename(columns={"test_accuracy": "test_accuracy_seed1"}),
                          on="trial", how="left")
    merged["test_accuracy"] = merged[["test_accuracy_seed0", "test_accuracy_seed1"]].mean(axis=1).round(4)
    merged["seeds"] = 1 + merged["test_accuracy_seed1"].notna().astype(int)
    return merged


def targets(variants: pd.DataFrame) -> list[str]:
    """The issue's two targets, each answered with the variants that meet it (or NONE)."""
    others = variants[variants["edits"] != "as written"]
    fast = others[(others["speedup"] >= FASTER) & (others["points"] >= -WITHIN_POINTS)]
    better = others[(others["speedup"] > 1) & (others["points"] >= 0)]

    def names(frame: pd.DataFrame) -> str:
        return ", ".join(f"trial {r.trial} ({r.speedup:.2f}x, {r.points:+.2f} points)"
                         for r in frame.sort_values("speedup", ascending=False).itertuples()) or "NONE"

    return [f"at least {FASTER:.0f}x faster within {WITHIN_POINTS} points: {names(fast)}",
            f"faster and at least as accurate: {names(better)}"]


# ---- parts (side effects: subprocesses, training, files) ----

def part_search(*, model: str, run: Path, timeout: str, seed: int, extra: list[str]) -> None:
    print(f"{time.strftime('%H:%M:%S')} search around {model}", flush=True)
    run_search(run, args=["--around", model, "--timeout", timeout, "--seed", str(seed), "--no-progress", *extra],
               log=run.parent / "search.log")


def front_of(run: Path, *, cap: int, max_slower: float) -> pd.DataFrame:
    """The original (trial 0) and the front members to export: those at most ``max_slower`` times the original's
    search step time, and the most accurate one whatever its time."""
    trials = pd.read_csv(run / "trials.csv").rename(columns={"step_time_ms": "step_ms"})
    original = trials[trials["trial"] == 0]
    front = trials[(trials["state"] == "COMPLETE") & trials["is_pareto"].astype(bool) & (trials["trial"] != 0)]
    kept = front[(front["step_ms"] <= max_slower * original["step_ms"].iloc[0])
                 | (front["accuracy"] == front["accuracy"].max())]
    return pd.concat([original, pick_front(kept, cap=cap)])


def part_export(*, run: Path, out: Path, cap: int, max_slower: float, epochs: int) -> None:
    ledger = Ledger(out / "exports.csv", key="trial")
    for trial in ledger.missing([int(t) for t in front_of(run, cap=cap, max_slower=max_slower)["trial"]]):
        row = _archopt_export(run, trial=trial, out=out / "exports" / f"t{trial}", epochs=epochs)
        ledger.add({"trial": trial, **row})
        log_line({"trial": trial, "test_accuracy": row["test_accuracy"]}, out=None)


def part_time(*, run: Path, out: Path, rounds: int) -> pd.DataFrame:
    """Every exported trial rebuilt with the run's objective and timed in one sitting, interleaved."""
    from optimizer.results.rebuild import complete_trial, open_run
    from optimizer.results.retime import interleaved_medians
    from optimizer.space.candidate import rebuild
    from optimizer.study.assemble import objective_for

    trials = [int(t) for t in pd.read_csv(out / "exports.csv")["trial"]]
    path = out / "times.csv"
    if path.exists() and set(trials) <= set(pd.read_csv(path)["trial"]):
        return pd.read_csv(path)
    config, study = open_run(run)
    objective = objective_for(config)
    models = {t: rebuild(objective.build, complete_trial(study, number=t).params) for t in trials}
    timers = {t: (lambda m=model: objective.time_steps(m).median_ms) for t, model in models.items()}
    medians = interleaved_medians(timers, rounds=rounds)
    frame = pd.DataFrame([{"trial": t, "step_ms": round(ms, 3), "rounds": rounds, "params": models[t].count_params(),
                           "device": objective.tags.get("device")} for t, ms in medians.items()])
    frame.to_csv(path, index=False)
    return frame


def part_reseed(*, run: Path, out: Path, epochs: int) -> None:
    """The close calls of the first export seed trained again with seed ``RESEED``, in process as `archopt export`
    trains (the run's data, batch size and augmentation; the whole training split)."""
    from benchmarks.night import _export_in_process

    exported = pd.read_csv(out / "exports.csv")[["trial", "test_accuracy"]]
    variants = compare(exported.merge(pd.read_csv(out / "times.csv")[["trial", "step_ms"]], on="trial"))
    ledger = Ledger(out / "reseeds.csv", key="trial")
    for trial in ledger.missing(close_calls(variants)):
        row = _export_in_process(run, seed=RESEED, epochs=epochs, trial=trial)
        ledger.add({"trial": trial, "seed": RESEED, **row})
        log_line({"trial": trial, "seed": RESEED, "test_accuracy": row["test_accuracy"]}, out=None)


def part_report(*, run: Path, out: Path, header: str) -> str:
    from optimizer.results.rebuild import complete_trial, open_run

    _, study = open_run(run)
    original = complete_trial(study, number=0).params
    reseeds = pd.read_csv(out / "reseeds.csv") if (out / "reseeds.csv").exists() else None
    exported = with_reseeds(pd.read_csv(out / "exports.csv")[["trial", "test_accuracy"]], reseeds)
    timed = pd.read_csv(out / "times.csv")[["trial", "step_ms", "params"]]
    trials = pd.read_csv(run / "trials.csv")
    search = trials[["trial", "accuracy"] + (["final_accuracy"] if "final_accuracy" in trials else [])]
    variants = compare(exported.merge(timed, on="trial").merge(search, on="trial"))
    variants["edits"] = [edits(complete_trial(study, number=int(t)).params, original) for t in variants["trial"]]
    variants = variants.sort_values("step_ms")
    variants.to_csv(out / "variants.csv", index=False)
    table = moves(variants)
    table.to_csv(out / "moves.csv", index=False)
    counts = trials["state"].value_counts().to_dict()
    text = (header + f"# run: {len(trials)} trials {counts}\n\n"
            + variants.to_string(index=False) + "\n\n" + table.to_string(index=False) + "\n\n"
            + "\n".join(targets(variants)) + "\n")
    (out / "around.txt").write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks/around-tutorial"))
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--model", default="search_spaces.tutorial:build", help="--around MODEL (default: %(default)s)")
    parser.add_argument("--timeout", default="1h", help="the search's --timeout (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--search-args", default="", help="more `archopt search` arguments, in one string")
    parser.add_argument("--cap", type=int, default=12, help="front members exported at most (default: %(default)s)")
    parser.add_argument("--max-slower", type=float, default=1.0,
                        help="export front members at most this many times the original's step time, and the most "
                             "accurate one (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=5, help="export epochs (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds (default: %(default)s)")
    args = parser.parse_args(argv)
    run = args.out / "run"
    args.out.mkdir(parents=True, exist_ok=True)
    header = stamp(module="benchmarks.around", argv=argv)
    with (args.out / "commands.log").open("a") as log:  # every sitting's command, commit and date
        log.write(header + f"# parts: {' '.join(args.parts)}\n")
    if "search" in args.parts:
        part_search(model=args.model, run=run, timeout=args.timeout, seed=args.seed, extra=args.search_args.split())
    if not (run / DONE).exists():
        print(f"no finished search in {run}; run the `search` part first.", file=sys.stderr)
        return 1
    if "export" in args.parts:
        part_export(run=run, out=args.out, cap=args.cap, max_slower=args.max_slower, epochs=args.epochs)
    if "time" in args.parts:
        part_time(run=run, out=args.out, rounds=args.rounds)
    if "reseed" in args.parts:
        part_reseed(run=run, out=args.out, epochs=args.epochs)
    if "report" in args.parts:
        print(part_report(run=run, out=args.out, header=header), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
