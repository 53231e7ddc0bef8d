"""KerasTuner's own tuners on an archopt space, with archopt's trial protocol and outputs.

KerasTuner optimizes one number, so each trial scores ``accuracy - kt_lambda * step_time_ms``.
Every KerasTuner trial runs :meth:`Objective.evaluate` (build, time, train, evaluate: the
same protocol as an Optuna trial) on an ``optuna.trial.FixedTrial`` holding KerasTuner's
values, and is then mirrored into the run folder's Optuna study, so the outputs, baselines,
re-timing and finalists are the Optuna engine's (``search.finish``).
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import math
import time
from pathlib import Path
from typing import Any

import keras_tuner as kt
import optuna
from optuna.trial import TrialState

from optimizer.defaults import TUNERS
from optimizer.errors import ArchoptError, CandidateFailed
from optimizer.optional import try_import
from optimizer.results import baselines, finalists, html_report, report
from optimizer.results.summary import print_summary
from optimizer.search.finish import finish
from optimizer.search.plan import Plan
from optimizer.search.run_dir import prepare_run_dir
from optimizer.study import assemble
from optimizer.study.study import GIVE_UP_AFTER_FAILURES
from optimizer.trial.objective import Objective

# 0.001 accuracy per ms: one percentage point of accuracy is worth 10 ms of step time, which
# keeps both terms in play for small CNNs (accuracy 0.7-0.9, steps of 2-50 ms on a CPU).
DEFAULT_KT_LAMBDA = 1e-3
HYPERBAND_MAX_EPOCHS = 3
with try_import(feature="KerasTuner's bayesian tuner (--tuner bayesian)", install="'archopt[bayesian]'") as bayesian:
    import scipy.optimize  # noqa: F401  (what KerasTuner's BayesianOptimizationOracle imports)
    import sklearn.gaussian_process  # noqa: F401
PROJECT = "keras_tuner"


def make_oracle(tuner: str, *, seed: int, max_failures: int) -> kt.Oracle:
    """A KerasTuner oracle maximizing the scalarized ``score``; archopt decides when to stop."""
    common = dict(objective=kt.Objective("score", "max"), seed=seed, max_consecutive_failed_trials=max_failures)
    if tuner == "random":
        return kt.oracles.RandomSearchOracle(max_trials=10**6, **common)
    if tuner == "bayesian":
        bayesian.check()
        return kt.oracles.BayesianOptimizationOracle(max_trials=10**6, **common)
    if tuner == "hyperband":
        # The resource is a fraction of the training budget: `tuner/epochs` of HYPERBAND_MAX_EPOCHS.
        return kt.oracles.HyperbandOracle(
            max_epochs=HYPERBAND_MAX_EPOCHS, factor=3, hyperband_iterations=10**6, **common
        )
    raise ArchoptError(f"unknown KerasTuner tuner {tuner!r}; expected one of: {', '.join(TUNERS)}.")


class _DeclareOnly(kt.HyperModel):
    """The space as KerasTuner explores it up front; a candidate failing to build there still declares its knobs."""

    def __init__(self, build: Any) -> None:
        super().__init__()
        self._build = build

    def build(self, hp: kt.HyperParameters) -> Any:
        try:
            return self._build(hp)
        except Exception:  # the knobs asked so far are registered: all KerasTuner needs
            return None


class KerasTunerValues(optuna.trial.FixedTrial):
    """KerasTuner's values for one trial, as the trial ``Objective.evaluate`` asks.

    A knob KerasTuner did not meet while exploring the space up front (a conditional scope
    entered only under an ``if``) gets KerasTuner's own default: the first choice or the lower bound.
    Numbers are clipped into their range, so the mirrored Optuna trial is valid.
    """

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = dict(values)
        super().__init__(self._values)  # FixedTrial reads this dict: it sees defaults added below

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        self._values.setdefault(name, choices[0])
        return super().suggest_categorical(name, choices)

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int:
        self._values[name] = _clip(self._values.get(name, low), low, high)
        return super().suggest_int(name, low, high, step=step, log=log)

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float:
        self._values[name] = _clip(self._values.get(name, low), low, high)
        return super().suggest_float(name, low, high, step=step, log=log)


def _clip(value: Any, low: Any, high: Any) -> Any:
    # KerasTuner's log-scaled Int can round past its bound (65 for Int(4, 64, sampling="log")).
    return min(max(value, low), high)


class ArchoptTuner(kt.engine.base_tuner.BaseTuner):
    """A KerasTuner tuner whose trials are archopt trials, mirrored into an Optuna ``study``."""

    def __init__(self, *, oracle: kt.Oracle, objective: Objective, study: optuna.Study, kt_lambda: float,
                 directory: Path, n_trials: int, timeout: float | None = None, on_trial: Any = None) -> None:
        super().__init__(oracle=oracle, hypermodel=_DeclareOnly(objective.build), directory=str(directory),
                         project_name=PROJECT, overwrite=False)
        self.objective, self.study, self.kt_lambda = objective, study, kt_lambda
        self.n_trials, self.on_trial = n_trials, on_trial
        self.deadline = None if timeout is None else time.monotonic() + timeout

    def run_trial(self, trial: kt.engine.trial.Trial, *args: Any, **kwargs: Any) -> dict[str, float]:
        values = dict(trial.hyperparameters.values)
        fixed = KerasTunerValues({k: v for k, v in values.items() if not k.startswith("tuner/")})
        for key, value in {**self.objective.tags, "kt_trial_id": trial.trial_id}.items():
            fixed.set_user_attr(key, value)
        fraction = (
            values.get("tuner/epochs", HYPERBAND_MAX_EPOCHS) / HYPERBAND_MAX_EPOCHS
        )  # below 1: Hyperband's early rounds
        started = datetime.datetime.now()
        try:
            accuracy, step_ms = _evaluate(self.objective, fixed, fraction=fraction)
        except CandidateFailed as error:
            fixed.set_user_attr("fail_reason", str(error))
            self._mirror(fixed, started=started, state=TrialState.FAIL)
            raise kt.errors.FailedTrialError(str(error)) from error
        except ArchoptError as error:
            raise kt.errors.FatalError(str(error)) from error
        score = accuracy - self.kt_lambda * step_ms
        fixed.set_user_attr("kt_score", score)
        # A Hyperband trial on part of the budget compares with no other: Optuna calls it PRUNED.
        state = TrialState.COMPLETE if fraction == 1.0 else TrialState.PRUNED
        self._mirror(
            fixed, started=started, state=state, values=[accuracy, step_ms] if state == TrialState.COMPLETE else None
        )
        return {"score": score, "accuracy": accuracy, "step_time_ms": step_ms}

    def _mirror(self, fixed: KerasTunerValues, *, started: datetime.datetime, state: TrialState,
                values: list[float] | None = None) -> None:
        frozen = optuna.trial.create_trial(state=state, values=values, params=fixed.params,
                                           distributions=fixed.distributions, user_attrs=fixed.user_attrs)
        frozen.datetime_start = started
        self.study.add_trial(frozen)

    def on_trial_end(self, trial: kt.engine.trial.Trial) -> None:
        super().on_trial_end(trial)
        if self.on_trial is not None:
            self.on_trial(self.study)
        if self._done():
            self.oracle.max_trials = len(self.oracle.trials)  # the oracle's next trial is STOPPED.

    def _done(self) -> bool:
        complete = len(self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
        return complete >= self.n_trials or (self.deadline is not None and time.monotonic() >= self.deadline)

    def save_model(self, trial_id: str, model: Any, step: int = 0) -> None:
        """Models are not kept: archopt rebuilds a chosen candidate from its hyperparameters (`archopt export`)."""

    def search_space(self) -> None:
        """Run until ``n_trials`` complete trials or the timeout; a KerasTuner give-up becomes an ArchoptError."""
        if self._done():
            return
        try:
            self.search()
        except kt.errors.FatalError as error:
            raise ArchoptError(str(error)) from error
        except RuntimeError as error:  # too many consecutive failed trials
            raise ArchoptError(f"KerasTuner stopped: {' '.join(str(error).split())[:300]}") from error


def _evaluate(objective: Objective, fixed: KerasTunerValues, *, fraction: float) -> tuple[float, float]:
    """``objective.evaluate``, on ``fraction`` of the training budget (below 1 only for Hyperband's early rounds)."""
    if fraction == 1.0 or objective.budget.train_steps is None:
        return objective.evaluate(fixed)
    steps = max(1, math.ceil(objective.budget.train_steps * fraction))
    # Hyperband has its own rungs.
    budget = dataclasses.replace(objective.budget, train_steps=steps, min_steps=None)
    part = Objective(build=objective.build, split=objective.split, budget=budget)
    fixed.set_user_attr("train_fraction", round(fraction, 3))
    return part.evaluate(fixed)


def execute(plan: Plan, *, tuner: str, kt_lambda: float = DEFAULT_KT_LAMBDA) -> int:
    """`archopt search --engine keras-tuner`: the run folder, files, baselines, re-timing, finalists and summary
    of an Optuna run; only the proposals are KerasTuner's. Every trial runs in this process (the plan's
    ``trials_per_process`` is 0: optimizer.commands.search refuses any other)."""
    if not math.isfinite(kt_lambda) or kt_lambda < 0:
        raise ArchoptError(f"`--kt-lambda` must be a non-negative number, but got {kt_lambda!r}.")
    oracle = make_oracle(tuner, seed=plan.config.seed, max_failures=GIVE_UP_AFTER_FAILURES)
    plan = prepare_run_dir(plan)
    deadline = None if plan.timeout is None else time.monotonic() + plan.timeout  # the finalists' too
    reserve = finalists.reserve_s(plan.timeout, k=plan.finalists)
    timeout = None if plan.timeout is None else max(0.0, plan.timeout - reserve)
    study = assemble.study_for(plan.config, sampler="random")  # only stores the mirrored trials
    baselines.check_specs(plan.baselines)  # a bad --baseline fails now, before the objective seeds Keras
    objective = assemble.objective_for(plan.config)
    html_report.record_fingerprint(study)
    write = functools.partial(report.write_outputs, run_dir=plan.run_dir, throttle=True)
    engine = ArchoptTuner(oracle=oracle, objective=objective, study=study, kt_lambda=kt_lambda,
                          directory=plan.run_dir, n_trials=plan.n_trials, timeout=timeout, on_trial=write)
    try:
        engine.search_space()
    finally:
        frame = report.write_outputs(study, plan.run_dir)
    finished = finish(study, objective, plan=plan, deadline=deadline)
    print_summary(frame if finished is None else finished, run_dir=plan.run_dir)
    return 0
