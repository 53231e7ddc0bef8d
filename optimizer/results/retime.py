"""Re-time the front: noise promotes lucky candidates, so front members and baselines are timed again.

Interleaved rounds, scaled by the sitting's factor (``sitting``); the re-timed step time becomes the trial's stored
value so that the study and the CSVs agree, and the first timing stays in ``step_time_first_ms``.
See docs/how-a-trial-is-measured.md.
"""

from __future__ import annotations

import statistics
from typing import Any, Callable, Hashable, Iterable, Sequence

import optuna
from optuna.trial import FrozenTrial, TrialState

from optimizer.defaults import RETIME_ROUNDS
from optimizer.optuna_private import overwrite_values
from optimizer.results import baselines, front, speed_factor
from optimizer.results.front import with_step_times
from optimizer.results.speed_factor import CONTROLS, Retimed
from optimizer.trial.attrs import FIRST_STEP_TIME

ATTR = "retimed"
DEFAULT_ROUNDS = RETIME_ROUNDS
MAX_PASSES = 3


def retimed_values(study: optuna.Study) -> dict[int, float]:
    """Trial number -> re-timed step time (ms), from the last re-timing of this study."""
    return {int(k): float(v["step_time_ms"]) for k, v in study.user_attrs.get(ATTR, {}).items()}


def first_step_time(trial: FrozenTrial) -> float:
    """The step time the trial measured itself, before any re-timing replaced its value."""
    return float(trial.user_attrs.get(FIRST_STEP_TIME, trial.values[1]))


def front_numbers(trials: Sequence[FrozenTrial], *, step_times: dict[int, float]) -> set[int]:
    """The front ``report`` would draw if ``step_times`` were the stored re-timings."""
    return front.pareto_numbers(with_step_times(trials, step_times))


def interleaved(timers: dict[Hashable, Callable[[], float]], *, rounds: int) -> dict[Hashable, list[float]]:
    """Call every timer once per round, round-robin; the starting timer moves on by one each round."""
    keys = list(timers)
    times: dict[Hashable, list[float]] = {k: [] for k in keys}
    for r in range(rounds if keys else 0):
        start = r % len(keys)
        for key in keys[start:] + keys[:start]:
            times[key].append(float(timers[key]()))
    return times


def interleaved_medians(timers: dict[Hashable, Callable[[], float]], *, rounds: int) -> dict[Hashable, float]:
    """Each timer's median over ``interleaved`` rounds (what a re-timing keeps before scaling by its sitting)."""
    return {key: statistics.median(ms) for key, ms in interleaved(timers, rounds=rounds).items()}


def retime(
    trials: Sequence[FrozenTrial],
    *,
    timer_for: Callable[[Hashable], Callable[[], float]],
    extra: Iterable[Hashable] = (),
    rounds: int = DEFAULT_ROUNDS,
    max_passes: int = MAX_PASSES,
    controls: int = CONTROLS,
) -> dict[Hashable, Retimed]:
    """Re-time the front (and the ``extra`` keys, e.g. baselines, in the first pass) until it is stable.

    ``trials`` carry their own timings as step times. ``timer_for(key)`` prepares one model (a trial number or an
    extra key) and returns a function that times it once, in ms. Every pass also times up to ``controls`` trials off
    the first front, and its figures are scaled by the sitting they measure (``sitting``). Returns every key's rounds
    and factor, from the last pass that timed it.
    """
    own = {t.number: t.values[1] for t in trials if t.state == TrialState.COMPLETE}
    pending: list[Hashable] = sorted(front_numbers(trials, step_times={})) + list(extra)
    checks = speed_factor.controls(own, front=pending, n=controls)
    times: dict[Hashable, Retimed] = {}
    for _ in range(max_passes):
        if not pending:
            break
        keys = pending + [k for k in checks if k not in pending]
        rounds_ms = interleaved({key: timer_for(key) for key in keys}, rounds=rounds)
        times |= speed_factor.scaled(rounds_ms, own=own, keys=checks)
        front = front_numbers(trials, step_times=_trial_step_times(times))
        pending = sorted(front - set(times))
    return times


def _trial_step_times(times: dict[Hashable, Retimed]) -> dict[int, float]:
    return {k: r.step_time_ms for k, r in times.items() if isinstance(k, int)}


def retime_study(
    study: optuna.Study, objective: Any, *, rounds: int = DEFAULT_ROUNDS, controls: int = CONTROLS
) -> dict[Hashable, Retimed]:
    """Re-time ``study``'s front and its baselines with ``objective``'s data and budget, and store the results."""
    rows = baselines.stored(study)
    trials = _this_device(study.get_trials(deepcopy=False), device=objective.tags.get("device"))
    by_number = {t.number: t for t in trials}
    extra = [("baseline", name) for name, row in rows.items() if row.get("state") == "COMPLETE"]

    def timer_for(key: Hashable) -> Callable[[], float]:
        model = (
            _baseline_model(rows[key[1]]["model"])
            if isinstance(key, tuple)
            else _trial_model(objective, by_number[key])
        )
        return lambda: objective.time_steps(model).median_ms

    firsts = {t.number: first_step_time(t) for t in trials if t.state == TrialState.COMPLETE}
    times = retime(with_step_times(trials, firsts), timer_for=timer_for, extra=extra, rounds=rounds, controls=controls)
    store_step_times(study, trials, step_times=firsts | _trial_step_times(times))
    others = {k: v for k, v in study.user_attrs.get(ATTR, {}).items() if int(k) not in by_number}
    study.set_user_attr(ATTR, others | {str(k): r.record() for k, r in times.items() if isinstance(k, int)})
    for (_, name), retimed in ((k, v) for k, v in times.items() if isinstance(k, tuple)):
        rows[name] |= retimed.record()
    if extra:
        baselines.store(study, rows)
    return times


def store_step_times(study: optuna.Study, trials: Sequence[FrozenTrial], *, step_times: dict[int, float]) -> None:
    """Store ``step_times`` as the complete ``trials``' step times; the first timings stay in ``step_time_first_ms``."""
    values, attrs = {}, {}
    for trial in trials:
        if trial.state == TrialState.COMPLETE and step_times.get(trial.number, trial.values[1]) != trial.values[1]:
            ms = step_times[trial.number]
            values[trial.number] = [trial.values[0], ms]
            attrs[trial.number] = {FIRST_STEP_TIME: first_step_time(trial), "step_time_ms": ms}
    overwrite_values(study, values, user_attrs=attrs)


def _this_device(trials: Sequence[FrozenTrial], *, device: str | None) -> list[FrozenTrial]:
    """The trials measured on this machine's device class: only those can be re-timed here (the others keep theirs)."""
    return [t for t in trials if device is None or t.user_attrs.get("device", device) == device]


def _trial_model(objective: Any, trial: FrozenTrial):
    # Keras is imported here: the supervisor imports this module and must not load TensorFlow.
    from optimizer.space.candidate import rebuild

    return rebuild(objective.build, trial.params)


def _baseline_model(spec: str):
    from optimizer.space.candidate import compile_default  # Keras: see _trial_model

    model = baselines.fresh_model(spec)
    compile_default(model)
    return model
