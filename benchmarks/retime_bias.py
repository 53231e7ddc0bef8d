"""Re-timing bias: does the end-of-search re-timing report the step time a candidate trains at?

A search times each candidate on its own training stream (``step_time_first_ms``) and ``fit`` reports the same
steps again (``fit_step_ms``); at the end, ``retime_study`` times the front again on fixed batches, every member
built first and then timed in interleaved rounds, and its figure replaces the first. In the committed 30-minute
fidelity runs that re-timing sat at 0.84x, 1.02x and 1.33x of ``fit_step_ms`` (median over the re-timed trials), so
this benchmark takes a run's front apart, in a fresh process and alone on the machine, by how each figure is taken:

- ``stream``: a fresh model timed on the training stream for its first rung, as a trial does;
- ``fixed``: a fresh model alone, timed on fixed batches (``Objective.time_steps``, as ``explain`` and re-timing do),
  three times in a row (``fixed_1``, ``fixed_3``: the first and the third time): each time trains it on the same four
  batches again;
- ``stream_loop``: a fresh model timed with ``time_steps``' loop settings but on the shuffled training stream;
- ``interleaved``: every member built first, then timed in interleaved rounds, as ``retime_study`` does (raw: not
  scaled by a sitting factor);
- ``retimed_in_search_raw`` and ``retimed_in_search``: the run's own end-of-search re-timing, its raw median round
  and its figure scaled by the sitting's factor (``sitting_factor``; runs from before the factor: raw = scaled).

``stream`` and ``fixed`` take turns model by model, in two passes around the interleaved rounds, so slow drift of
the machine hits them alike. ``--age N`` first runs N trials of the run's own search in this process (random
candidates, an in-memory study), as a search's last worker has before it re-times. Run it alone on the machine::

    python -m benchmarks.retime_bias RUN_DIR --members 8 [--age 20]   # --out results/benchmarks/retime_bias.txt
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import pandas as pd

from benchmarks.harness import add_out, stamp, write_output


def age(objective, *, trials: int) -> None:
    """Run ``trials`` random trials of ``objective`` in this process, into a study of its own."""
    import optuna

    from optimizer.errors import CandidateFailed
    from optimizer.study.study import DIRECTIONS

    study = optuna.create_study(directions=list(DIRECTIONS), sampler=optuna.samplers.RandomSampler(seed=1))
    study.optimize(objective, n_trials=trials, catch=(CandidateFailed,))


def members(study, *, n: int) -> list:
    """Up to ``n`` complete trials of the front by first timings, spread from the fastest to the slowest."""
    from optimizer.results.retime import first_step_time, front_numbers

    done = [t for t in study.get_trials(deepcopy=False) if t.values is not None and t.state.name == "COMPLETE"]
    front = front_numbers(done, step_times={t.number: first_step_time(t) for t in done})
    chosen = sorted((t for t in done if t.number in front), key=first_step_time)
    step = max(1, len(chosen) / n)
    return [chosen[int(i * step)] for i in range(min(n, len(chosen)))]


def fresh_model(objective, trial):
    from optimizer.space.candidate import rebuild

    return rebuild(objective.build, trial.params)


def alone(objective, trials: list) -> dict[int, dict[str, float]]:
    """Each trial's fresh models, one at a time: on its training stream as a trial, on fixed batches three times in a
    row, and with the fixed-batch loop on the stream."""
    from optimizer.measure.timing import build_training_state, time_train_steps
    from optimizer.trial.objective import training_stream

    times = {}
    for trial in trials:
        _, stream = objective.time_training(fresh_model(objective, trial))
        model = fresh_model(objective, trial)
        fixed = [objective.time_steps(model).median_ms for _ in range(3)]
        model = fresh_model(objective, trial)
        build_training_state(model, y=objective.split.y_train[: objective.budget.batch_size])
        loop = time_train_steps(
            model, iter(training_stream(objective.split, budget=objective.budget)),
            batch_size=objective.budget.batch_size, min_time_s=objective.budget.timing_s,
        )
        times[trial.number] = {
            "stream": stream.median_ms, "fixed_1": fixed[0], "fixed_3": fixed[2], "stream_loop": loop.median_ms
        }
    return times


def interleaved(objective, trials: list, *, rounds: int) -> dict[int, float]:
    """``retime_study``'s procedure: every model built first, then timed round-robin; the median of the rounds."""
    from optimizer.results import retime

    models = {t.number: fresh_model(objective, t) for t in trials}
    timers = {k: (lambda m=m: objective.time_steps(m).median_ms) for k, m in models.items()}
    return retime.interleaved_medians(timers, rounds=rounds)


ALONE = ("fixed_1", "fixed_3", "stream_loop")


def table(trials: list, passes: list[dict], mixed: dict[int, float], retimed: dict[str, dict]) -> pd.DataFrame:
    """One row per trial; ``retimed``: the study's re-timing records (raw rounds, and the sitting's factor)."""
    from optimizer.results.retime import first_step_time

    rows = []
    for t in trials:
        record = retimed.get(str(t.number), {})
        rounds = record.get("step_time_rounds_ms")
        rows.append({
            "trial": t.number,
            "first_ms": first_step_time(t),
            "fit_step_ms": t.user_attrs.get("fit_step_ms"),
            "retimed_in_search_raw_ms": statistics.median(rounds) if rounds else None,
            "sitting_factor": record.get("sitting_factor"),
            "retimed_in_search_ms": record.get("step_time_ms"),
            "stream_ms": statistics.median(p[t.number]["stream"] for p in passes),
            **{f"{k}_ms": statistics.median(p[t.number][k] for p in passes) for k in ALONE},
            "interleaved_ms": mixed[t.number],
        })
    return pd.DataFrame(rows)


def ratios(frame: pd.DataFrame) -> pd.Series:
    """Median ratio of each figure to the stream timing of a fresh model (what a trial measures)."""
    figures = ["first_ms", "fit_step_ms", "retimed_in_search_raw_ms", "retimed_in_search_ms", "fixed_1_ms",
               "fixed_3_ms", "stream_loop_ms", "interleaved_ms"]
    frame = frame.astype({c: float for c in figures})
    return pd.Series({c: float((frame[c] / frame["stream_ms"]).median()) for c in figures if frame[c].notna().any()})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--members", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--age", type=int, default=0, help="trials to run in this process first (default: none)")
    add_out(parser, default=Path("results/benchmarks/retime_bias.txt"))
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)

    from optimizer.measure.device import configure_threads
    from optimizer.results.rebuild import open_run
    from optimizer.results.retime import ATTR
    from optimizer.study.assemble import objective_for

    configure_threads()  # as a search does, before any TensorFlow op
    config, study = open_run(args.run_dir)
    objective = objective_for(config)
    trials = members(study, n=args.members)
    age(objective, trials=args.age)
    first = alone(objective, trials)
    mixed = interleaved(objective, trials, rounds=args.rounds)
    second = alone(objective, trials)
    frame = table(trials, [first, second], mixed, study.user_attrs.get(ATTR, {}))
    text = (
        f"Re-timing bias, run {args.run_dir} ({len(trials)} front members by first timings; {args.rounds} "
        f"interleaved rounds; after {args.age} trials in this process)\n{frame.round(2).to_string(index=False)}\n\n"
        "median ratio to a fresh model's stream "
        f"timing:\n{ratios(frame).round(3).to_string()}\n"
    )
    print(text)
    write_output(args.out, text, header=stamp(module="benchmarks.retime_bias", argv=argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
