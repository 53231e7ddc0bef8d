"""Fidelity benchmark: how well do short budgets rank candidates, and does successive halving find a better front?

Part 0 and 1 (``--parts 01``), on ``--candidates`` random candidates of the space, each trained once through every
rung (``--min-steps``, eta times more, ... up to ``--top-steps``) and scored at each rung twice: as archopt did before
issue 11 (Keras' inference mode with the lagging batch-norm averages) and as it does now (statistics recomputed on
training images). Reported per rung: the share below 0.5 accuracy, and the Spearman and Kendall rank correlations with
the top rung's accuracy. For the first ``--export-candidates`` that trained, the test accuracy after retraining as
``archopt export --epochs N`` does, against their top-rung validation accuracy.

Part 2 (``--parts 2``): ``archopt search`` runs of the same wall clock per method and seed: successive halving, single
fidelity at ``--short-steps`` and single fidelity at the top rung. Each run's final front is then re-evaluated at the
top rung (every member retrained from scratch to ``--top-steps``, one process) and re-timed, all runs' members together
in interleaved rounds in that one process, so that all runs compare on the same footing; hypervolume (moocore, fixed
reference point: benchmarks/hypervolume.py). A run's front is the one its own step times give (each trial's timing
on its training stream, ``step_time_first_ms``), not the one its end-of-run re-timing stored: that re-timing ran in
another process at another time for each run, and it put one run's members at a median 1.41x their own timing and
another's at 1.06x, which compared the re-timings rather than the methods.

Resumable: every candidate, run and re-evaluation is written as soon as it is done and skipped when found; run each part
alone on the machine. ``fidelity.txt`` is stamped with the command, commit and date; ``commands.log`` keeps every
sitting's. The real setting (defaults) takes many hours on a 2-core CPU; a tiny one proves the script::

    python -m benchmarks.fidelity --out /tmp/fid --candidates 3 --export-candidates 1 --export-epochs 1 \\
        --min-steps 10 --top-steps 90 --short-steps 30 --train-size 600 --val-size 200 --budget-s 60 --seeds 0
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks import harness
from benchmarks.harness import Ledger
from benchmarks.hypervolume import MAX_STEP_MS, hypervolume

TINY_TIMING_S = 0.3


@dataclasses.dataclass(frozen=True)
class Setting:
    space: str
    data_dir: str | None
    seed: int
    batch_size: int
    min_steps: int
    eta: int
    top_steps: int
    short_steps: int
    train_size: int
    val_size: int
    timing_s: float

    @property
    def rungs(self) -> tuple[int, ...]:
        from optimizer.trial.rungs import make_rungs

        return make_rungs(min_steps=self.min_steps, max_steps=self.top_steps, eta=self.eta)

    def config(self, *, min_steps: int | None = None, train_steps: int | None = None):
        from optimizer.study.run_config import RunConfig
        from optimizer.trial.budget import Budget

        budget = Budget(
            batch_size=self.batch_size,
            train_steps=train_steps or self.top_steps,
            min_steps=min_steps,
            eta=self.eta,
            timing_s=self.timing_s,
            max_step_ms=MAX_STEP_MS,
        )
        return RunConfig(
            dataset="fashion_mnist",
            space=self.space,
            storage="sqlite:///:memory:",
            study="fidelity",
            data_dir=self.data_dir,
            seed=self.seed,
            val_size=self.val_size,
            train_size=self.train_size,
            budget=budget,
        )


# ---- parts 0 and 1: one candidate through every rung ----


def _bn_state(model) -> list:
    from optimizer.trial.evaluation import batch_norm_layers

    return [
        (v, np.array(v.numpy()))
        for layer in batch_norm_layers(model)
        for v in (layer.moving_mean, layer.moving_variance)
    ]


def measure_candidate(setting: Setting, index: int, *, split, build) -> dict:
    """Train candidate ``index`` (random, seeded by its index) through the rungs; stale and precise accuracy at each."""
    import keras
    import optuna

    from optimizer.errors import CandidateFailed
    from optimizer.space.candidate import build_candidate
    from optimizer.space.hparams import OptunaHyperParameters
    from optimizer.trial.evaluation import compile_for_outputs, score, validation_accuracy
    from optimizer.trial.objective import Objective, train

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=setting.seed * 100_000 + index))
    trial = study.ask()
    keras.utils.set_random_seed(setting.seed + index)
    row: dict = {"candidate": index}
    budget = setting.config().budget
    try:
        model = build_candidate(build, OptunaHyperParameters(trial))
        row["params"] = json.dumps(trial.params)
        compile_for_outputs(model, split.x_train)
        row["step_time_ms"] = Objective(build=build, split=split, budget=budget).time_steps(model).median_ms
        trained = 0
        for steps in setting.rungs:
            train(model, split, budget=budget, steps=steps - trained, skip=trained)
            trained = steps
            row[f"stale_{steps}"] = validation_accuracy(model, split)  # before issue 11: the lagging averages
            kept = _bn_state(model)
            row[f"accuracy_{steps}"] = score(model, split, batch_size=setting.batch_size)
            for variable, value in kept:  # training goes on exactly as it would have without the measurement
                variable.assign(value)
    except CandidateFailed as error:
        row["fail_reason"] = str(error)
    return row


def run_candidates(setting: Setting, *, n: int, out: Path) -> pd.DataFrame:
    from optimizer.measure.device import configure_threads
    from optimizer.study.assemble import build_fn_for, load_split

    ledger = Ledger(out / "fidelity_candidates.csv", key="candidate")
    todo = ledger.missing(range(n))
    if todo:
        configure_threads()
        dataset, split = load_split(setting.config())
        build = build_fn_for(setting.config(), dataset)
        for i in todo:
            start = time.monotonic()
            ledger.add(measure_candidate(setting, i, split=split, build=build))
            print(f"{time.strftime('%H:%M:%S')} candidate {i}: {time.monotonic() - start:.0f} s", flush=True)
    return ledger.frame


def rung_table(frame: pd.DataFrame, rungs: tuple[int, ...]) -> pd.DataFrame:
    """Per rung and evaluation: candidates, share below 0.5, rank correlations with the top rung's precise accuracy."""
    from scipy import stats

    top = f"accuracy_{rungs[-1]}"
    rows = []
    for steps in rungs:
        for how, column in (("stale (before)", f"stale_{steps}"), ("precise BN (after)", f"accuracy_{steps}")):
            wanted = list(dict.fromkeys([column, top]))  # at the top rung, the precise column is the top one
            both = frame[wanted].dropna() if set(wanted) <= set(frame.columns) else pd.DataFrame(columns=wanted)
            spearman = stats.spearmanr(both[column], both[top]).statistic if len(both) > 2 else np.nan
            kendall = stats.kendalltau(both[column], both[top]).statistic if len(both) > 2 else np.nan
            rows.append(
                {
                    "steps": steps,
                    "evaluation": how,
                    "candidates": len(both),
                    "share_below_0.5": float((both[column] < 0.5).mean()) if len(both) else np.nan,
                    "spearman_vs_top": spearman,
                    "kendall_vs_top": kendall,
                }
            )
    return pd.DataFrame(rows)


def run_exports(setting: Setting, frame: pd.DataFrame, *, n: int, epochs: int, out: Path) -> pd.DataFrame:
    """Test accuracy after retraining as `archopt export --epochs --no-augment` does (whole training split).

    For the first ``n`` candidates that reached the top rung.
    """
    import keras

    from optimizer.results.export import retrain
    from optimizer.space.candidate import rebuild
    from optimizer.study.assemble import build_fn_for, load_split
    from optimizer.trial.evaluation import accuracy

    ledger = Ledger(out / "fidelity_export.csv", key="candidate")
    top = f"accuracy_{setting.rungs[-1]}"
    chosen = frame[frame[top].notna()].head(n) if top in frame else frame.head(0)
    todo = ledger.pending(chosen)
    if len(todo):
        dataset, _ = load_split(setting.config())
        build = build_fn_for(setting.config(), dataset)
        for row in todo.itertuples():
            keras.utils.set_random_seed(setting.seed)
            model = rebuild(build, json.loads(row.params))
            retrain(model, dataset.x_train, dataset.y_train, batch_size=setting.batch_size, epochs=epochs, verbose=0)
            ledger.add({
                "candidate": row.candidate,
                "epochs": epochs,
                "validation_top_rung": getattr(row, top),
                "test_accuracy": accuracy(model, dataset.x_test, dataset.y_test),
            })
    return ledger.frame


# ---- part 2: front quality per wall clock ----


def methods(setting: Setting) -> dict[str, list[str]]:
    return {
        "halving": [
            "--train-steps",
            str(setting.top_steps),
            "--min-steps",
            str(setting.min_steps),
            "--eta",
            str(setting.eta),
        ],
        **{f"single-{steps}": ["--train-steps", str(steps), "--min-steps", str(steps)]  # one rung: single fidelity
           for steps in (setting.short_steps, setting.top_steps)},
    }


def run_search(setting: Setting, method: str, seed: int, *, budget_s: float, runs: Path) -> Path:
    """One `archopt search` of ``budget_s`` seconds in its own process, unless a finished one is there."""
    data = ["--data-dir", setting.data_dir] if setting.data_dir else []
    args = ["--dataset", "fashion_mnist", "--space", setting.space, *data, "--batch-size", str(setting.batch_size),
            "--train-size", str(setting.train_size), "--val-size", str(setting.val_size),
            "--timing-s", str(setting.timing_s), "--max-step-ms", str(MAX_STEP_MS), "--trials", "100000",
            "--no-progress", "--sampler", "tpe", "--seed", str(seed), "--timeout", str(budget_s),
            *methods(setting)[method]]
    return harness.run_search(runs / f"{method}-seed{seed}", args=args, log=runs / f"{method}-seed{seed}.log")


def run_trials(folder: Path) -> pd.DataFrame:
    """A run's judged trials: end time since the first start, state, params, objectives, steps trained."""
    from optimizer.trial.attrs import FIRST_STEP_TIME

    trials = sorted(harness.run_study(folder).get_trials(deepcopy=False), key=lambda t: t.datetime_start)
    t0 = trials[0].datetime_start
    return pd.DataFrame(
        [
            {
                "trial": t.number,
                "state": t.state.name,
                "params": json.dumps(t.params),
                "end": (t.datetime_complete - t0).total_seconds() if t.datetime_complete else np.nan,
                "accuracy": t.values[0] if t.values else np.nan,
                # The trial's own timing: the end-of-run re-timing replaced step_time_ms for the
                # run's front only.
                "step_ms": t.user_attrs.get(FIRST_STEP_TIME, t.user_attrs.get("step_time_ms", np.nan)),
                "steps_trained": t.user_attrs.get("steps_trained", np.nan),
            }
            for t in trials
        ]
    )


def front(trials: pd.DataFrame) -> pd.DataFrame:
    """The non-dominated complete trials (accuracy up, step time down)."""
    from optimizer.trial.rungs import fronts

    done = trials[trials["state"] == "COMPLETE"].dropna(subset=["accuracy", "step_ms"])
    points = {int(r.trial): (float(r.accuracy), float(r.step_ms)) for r in done.itertuples()}
    first = fronts(points)[0] if points else []
    return done[done["trial"].isin(first)]


def reevaluate(setting: Setting, folder: Path) -> pd.DataFrame:
    """The run's final front retrained from scratch to the top rung and scored the same way for every run."""
    import keras

    from optimizer.space.candidate import rebuild
    from optimizer.study.assemble import build_fn_for, load_split

    ledger = Ledger(folder / "reevaluated.csv", key="trial")
    todo = ledger.pending(front(run_trials(folder)))
    if len(todo):
        config = setting.config()
        dataset, split = load_split(config)
        build = build_fn_for(config, dataset)
        for row in todo.itertuples():
            keras.utils.set_random_seed(setting.seed)
            model = rebuild(build, json.loads(row.params))
            ledger.add({
                "trial": row.trial,
                "step_ms": row.step_ms,
                "accuracy_run": row.accuracy,
                "accuracy_top": top_rung_accuracy(setting, model, split=split),
            })
    return ledger.frame


def top_rung_accuracy(setting: Setting, model, *, split) -> float:
    """``model`` (freshly built) trained from scratch to the top rung and scored: part 2's re-evaluation, one place."""
    from optimizer.trial.evaluation import compile_for_outputs, score
    from optimizer.trial.objective import train

    compile_for_outputs(model, split.x_train)
    train(model, split, budget=setting.config().budget, steps=setting.top_steps)
    return score(model, split, batch_size=setting.batch_size)


def common_step_times(setting: Setting, runs: Path, members: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every run's front members re-timed together (interleaved rounds, ``retime``'s procedure), in this process.

    Timed again as a whole whenever a member is missing: timings from different sittings are not comparable.
    """
    from optimizer.results.retime import DEFAULT_ROUNDS, interleaved_medians
    from optimizer.space.candidate import rebuild
    from optimizer.study.assemble import build_fn_for, load_split
    from optimizer.trial.objective import Objective

    path = runs / "common_step_times.csv"
    wanted = {(run, int(t)) for run, frame in members.items() for t in frame["trial"]}
    done = pd.read_csv(path) if path.exists() else pd.DataFrame(columns=["run", "trial", "step_ms_common"])
    if wanted <= set(zip(done["run"], done["trial"].astype(int))):
        return done
    config = setting.config()
    dataset, split = load_split(config)
    build = build_fn_for(config, dataset)
    objective = Objective(build=build, split=split, budget=config.budget)
    models = {(run, int(r.trial)): rebuild(build, json.loads(r.params)) for run, f in members.items()
              for r in f.itertuples()}
    timers = {key: (lambda m=m: objective.time_steps(m).median_ms) for key, m in models.items()}
    medians = interleaved_medians(timers, rounds=DEFAULT_ROUNDS)
    done = pd.DataFrame([{"run": run, "trial": trial, "step_ms_common": ms} for (run, trial), ms in medians.items()])
    done.to_csv(path, index=False)
    return done


def curves(runs: Path, *, budget_s: float, every_s: float) -> pd.DataFrame:
    """Hypervolume against wall clock of each run's complete trials, at the fidelity the run scored them."""
    rows = []
    for folder in sorted(p for p in runs.iterdir() if (p / harness.DONE).exists()):
        method, _, seed = folder.name.rpartition("-seed")
        trials = run_trials(folder)
        done = trials[trials["state"] == "COMPLETE"]
        for elapsed in np.arange(every_s, budget_s + every_s / 2, every_s):
            seen = done[done["end"] <= elapsed]
            rows.append(
                {
                    "method": method,
                    "seed": int(seed),
                    "elapsed_s": float(elapsed),
                    "complete": len(seen),
                    "candidates": int((trials["end"] <= elapsed).sum()),
                    "hypervolume_own_fidelity": hypervolume(seen["accuracy"], seen["step_ms"]),
                }
            )
    return pd.DataFrame(rows)


def final_table(setting: Setting, runs: Path) -> pd.DataFrame:
    """Per run: candidates, front, and hypervolumes at its own fidelity and of its front re-evaluated at the top rung
    (with the run's own step times, and with the common re-timing of every run's front)."""
    folders = sorted(p for p in runs.iterdir() if (p / harness.DONE).exists())
    trials = {folder.name: run_trials(folder) for folder in folders}
    fronts = {name: front(frame) for name, frame in trials.items()}
    scores = {f.name: reevaluate(setting, f)[["trial", "accuracy_top"]].astype({"trial": int}) for f in folders}
    common = common_step_times(setting, runs, fronts).astype({"trial": int})
    rows = []
    for name, frame in trials.items():
        method, _, seed = name.rpartition("-seed")
        again = fronts[name].merge(scores[name], on="trial").merge(common[common["run"] == name], on="trial")
        rows.append(
            {
                "method": method,
                "seed": int(seed),
                "candidates": int(frame["state"].isin(["COMPLETE", "PRUNED"]).sum()),
                "complete": int((frame["state"] == "COMPLETE").sum()),
                "front": len(again),
                "hypervolume_own_fidelity": hypervolume(fronts[name]["accuracy"], fronts[name]["step_ms"]),
                "hypervolume_top_rung_own_times": hypervolume(again["accuracy_top"], again["step_ms"]),
                "hypervolume_top_rung": hypervolume(again["accuracy_top"], again["step_ms_common"]),
                "best_accuracy_top_rung": float(again["accuracy_top"].max()) if len(again) else np.nan,
            }
        )
    return pd.DataFrame(rows)


def verdict(final: pd.DataFrame, curve: pd.DataFrame, *, short: str) -> list[str]:
    """The issue's targets as measured: halving above both single-fidelity runs in every seed; time to short's final."""
    lines = []
    table = final.pivot(index="seed", columns="method", values="hypervolume_top_rung") if len(final) else pd.DataFrame()
    if "halving" in table:
        others = [c for c in table.columns if c != "halving"]
        beats = (table["halving"].to_numpy()[:, None] > table[others].to_numpy()).all(axis=1) if others else []
        lines.append(
            f"halving's re-evaluated hypervolume above {', '.join(others)} in {int(np.sum(beats))} of {len(table)} "
            "seeds"
        )
    if len(curve) and {"halving", short} <= set(curve["method"]):
        for seed, group in curve.groupby("seed"):
            mine, theirs = group[group["method"] == "halving"], group[group["method"] == short]
            if not len(theirs) or not len(mine):
                continue
            target = theirs["hypervolume_own_fidelity"].iloc[-1]
            reached = mine[mine["hypervolume_own_fidelity"] >= target]["elapsed_s"].min()
            budget = group["elapsed_s"].max()
            when = (
                f"at {reached:.0f} s ({reached / budget:.2f} of the budget)"
                if pd.notna(reached)
                else "not within the budget"
            )
            lines.append(
                f"seed {seed}: halving reaches {short}'s final hypervolume ({target:.3f}, at its own fidelity) {when}"
            )
    return lines


# ---- command line ----


def add_setting_arguments(parser: argparse.ArgumentParser, *, top_steps: int) -> None:
    """The flags of a ``Setting``, shared with ``fidelity_noise`` so that both scripts run one protocol."""
    parser.add_argument("--space", default="default")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seed", type=int, default=0, help="seed of the split and of parts 0-1's candidates")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--min-steps", type=int, default=100)
    parser.add_argument("--eta", type=int, default=3)
    parser.add_argument("--top-steps", type=int, default=top_steps)
    parser.add_argument("--short-steps", type=int, default=300)
    parser.add_argument("--train-size", type=int, default=20000)
    parser.add_argument("--val-size", type=int, default=5000)
    parser.add_argument("--timing-s", type=float, default=1.0)


def setting_from(args: argparse.Namespace) -> Setting:
    return Setting(**{field.name: getattr(args, field.name) for field in dataclasses.fields(Setting)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--parts", default="012", help="which parts to run: 0 and 1 share their runs (default: %(default)s)"
    )
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks"))
    add_setting_arguments(parser, top_steps=2700)
    parser.add_argument("--candidates", type=int, default=40)
    parser.add_argument("--export-candidates", type=int, default=8)
    parser.add_argument("--export-epochs", type=int, default=5)
    parser.add_argument(
        "--budget-s", type=float, default=1800.0, help="wall clock of each part-2 run (default: %(default)s)"
    )
    parser.add_argument("--every-s", type=float, default=None, help="hypervolume checkpoints (default: budget / 30)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    setting = setting_from(args)
    args.out.mkdir(parents=True, exist_ok=True)
    header = harness.stamp(module="benchmarks.fidelity", argv=argv)
    with (args.out / "commands.log").open("a") as log:  # every sitting's command, commit and date
        log.write(header)
    report = []
    if "0" in args.parts or "1" in args.parts:
        frame = run_candidates(setting, n=args.candidates, out=args.out)
        table = rung_table(frame, setting.rungs)
        table.to_csv(args.out / "fidelity_rungs.csv", index=False)
        report += [
            "Parts 0-1: per rung, before (stale batch-norm averages) and after (precise BN) the evaluation fix",
            table.to_string(index=False, float_format=lambda v: f"{v:.3f}"),
        ]
        if "1" in args.parts and args.export_candidates:
            exports = run_exports(setting, frame, n=args.export_candidates, epochs=args.export_epochs, out=args.out)
            report += [
                f"Part 1: test accuracy after export --epochs {args.export_epochs} against top-rung validation "
                "accuracy",
                exports.to_string(index=False, float_format=lambda v: f"{v:.4f}"),
            ]
    if "2" in args.parts:
        runs = args.out / "fidelity_runs"
        runs.mkdir(exist_ok=True)
        for seed in args.seeds:  # seed-major: an interrupted benchmark still has every method on its first seeds
            for method in methods(setting):
                print(f"{time.strftime('%H:%M:%S')} {method} seed {seed}", flush=True)
                run_search(setting, method, seed, budget_s=args.budget_s, runs=runs)
        curve = curves(runs, budget_s=args.budget_s, every_s=args.every_s or args.budget_s / 30)
        curve.to_csv(args.out / "fidelity_curves.csv", index=False)
        final = final_table(setting, runs)
        final.to_csv(args.out / "fidelity_fronts.csv", index=False)
        report += [
            "Part 2: final fronts, re-evaluated at the top rung",
            final.to_string(index=False, float_format=lambda v: f"{v:.4f}"),
            *verdict(final, curve, short=f"single-{setting.short_steps}"),
        ]
    text = "\n".join(report) + "\n"
    harness.write_output(args.out / "fidelity.txt", text, header=header)
    print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
