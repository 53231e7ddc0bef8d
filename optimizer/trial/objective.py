"""One trial: build a candidate, measure its step time, train it briefly, score it on validation data."""

from __future__ import annotations

import contextlib
import math
import time
from typing import Any, Iterator

import keras
import numpy as np
import optuna

from optimizer.data.datasets import to_tf_dataset
from optimizer.defaults import FLOPS_PER_MAC_TRAINING
from optimizer.errors import ArchoptError, CandidateFailed, squeezed
from optimizer.measure import memory
from optimizer.measure.costs import total_macs
from optimizer.measure.timing import StepTime, build_training_state, measure_step_time, peak_gflops, time_train_steps
from optimizer.space.candidate import BuildFn, build_candidate
from optimizer.space.hparams import OptunaHyperParameters
from optimizer.trial import halving, repeats
from optimizer.trial.attrs import set_user_attrs
from optimizer.trial.budget import Budget
from optimizer.trial.clock import TrialClock
from optimizer.trial.evaluation import compile_for_outputs, score

# A first rung shorter than this is timed on fixed batches, uncounted: too few steps to time within.
STREAM_TIMING_MIN_STEPS = 20


class Objective:
    """The callable Optuna optimizes: returns (validation accuracy, step time in ms)."""

    def __init__(self, *, build: BuildFn, split: Any, budget: Budget = Budget(), tags: dict | None = None) -> None:
        self.build = build
        self.split = split
        self.budget = budget
        self.tags = tags or {}
        self.interrupted: int | None = None  # the trial a Ctrl-C or SIGTERM stopped, to retry it
        self.last_end: float | None = None  # when this process's previous trial ended, for its fixed_s

    def __call__(self, trial: optuna.Trial) -> tuple[float, float]:
        try:
            return self.evaluate(trial, first=self.tags)
        except CandidateFailed as error:
            set_user_attrs(trial, {"fail_reason": str(error)})
            raise
        except KeyboardInterrupt as error:  # Ctrl-C or SIGTERM: the run stops, the trial is retried on resume.
            set_user_attrs(
                trial, {"fail_reason": f"interrupted ({error or 'Ctrl-C'}); its parameters are retried on resume."}
            )
            self.interrupted = trial.number
            raise

    def evaluate(self, trial: Any, *, first: dict | None = None) -> tuple[float, float]:
        """Run every phase on ``trial`` (an Optuna trial or FixedTrial) and record what it measured.

        Measurements are kept in memory and written in two transactions (``set_user_attrs``), not one per key:
        ``first`` (who runs the trial) and the costs once the candidate is built and screened, so that a candidate
        that kills its worker still leaves them behind; the rest when the trial ends, however it ends.
        """
        phases: dict[str, float] = {}
        attrs = dict(first or {})
        clock = TrialClock(previous_end=self.last_end)
        try:
            with _phase(phases, "sample"):
                # Optuna proposes at the first suggest: done here, its cost is not the build's.
                getattr(trial, "relative_params", None)
            with _phase(phases, "build"):
                # Built without memory for its weights: a candidate too large for this machine fails
                # here, not the process.
                model = build_candidate(deferred_build(self.build), OptunaHyperParameters(trial))
                attrs.update(model_costs(model))
                self.skip_repeat(trial, model, attrs)
                attrs["memory_mb"] = round(memory.check_fits(model, batch_size=self.budget.batch_size) / 2**20, 1)
                self.screen(attrs["macs"])
            _flush(trial, attrs)
            with _phase(phases, "build"):
                memory.allocate_variables()
                attrs["from_logits"] = compile_for_outputs(model, self.split.x_train)
            with _phase(phases, "timing"):
                stream, step = self.time_training(model)
            attrs.update({f"step_time_{k}": v for k, v in step.to_dict().items()})
            # On the training stream, warm-ups after the trace are budget steps, not fixed cost.
            clock.timed_s = step.timed_s + (step.warmup_s - step.trace_s if step.budget_steps else 0.0)
            clock.count_steps(model)
            if step.median_ms > self.budget.max_step_ms:
                raise CandidateFailed(
                    f"step time {step.median_ms:.0f} ms exceeds max_step_ms={self.budget.max_step_ms:g}."
                )
            attrs["step_time_ms"] = step.median_ms
            trained, rungs = step.budget_steps, self.budget.rungs  # steps timed on the training stream count
            for rung, steps in enumerate(rungs):  # one rung: single fidelity; more: successive halving (halving.py)
                with _phase(phases, "train"):
                    if stream is not None and (steps - trained) % model.steps_per_execution == 0:
                        train_on(model, stream, steps=steps - trained)  # goes on from timing's last batch
                    else:
                        train(model, self.split, budget=self.budget, steps=steps and steps - trained, skip=trained)
                with _phase(phases, "eval"):
                    accuracy = score(model, self.split, batch_size=self.budget.batch_size)
                if steps is not None:
                    trained = steps
                    attrs.update({halving.accuracy_key(steps): accuracy, "steps_trained": steps, "rung": rung})
                if rung < len(rungs) - 1:
                    _flush(trial, attrs)  # the decision reads every trial's rung results, this one's included
                    go_on, attrs[halving.peers_key(steps)] = halving.continues_past(
                        trial, steps=steps, eta=self.budget.eta
                    )
                    if not go_on:
                        raise halving.pruned(steps=steps, rung=rung, accuracy=accuracy)
            attrs.update(accuracy=accuracy)
            return accuracy, step.median_ms
        finally:
            attrs |= clock.attrs()
            self.last_end = time.perf_counter()
            _flush(trial, attrs | {f"{k}_s": v for k, v in phases.items()})

    def skip_repeat(self, trial: Any, model: keras.Model, attrs: dict) -> None:
        """Stop ``trial`` before any step runs if it repeats a judged trial (``optimizer.trial.repeats``)."""
        architecture = repeats.architecture_key(model)
        if architecture is not None:
            attrs[repeats.ARCHITECTURE] = architecture
        earlier = repeats.earlier_trial(trial, architecture=architecture, device=attrs.get("device"))
        if earlier is not None:
            attrs[repeats.REPEAT_OF] = earlier.number
            raise repeats.answered(earlier)

    def screen(self, macs: int) -> None:
        """Turn away, before any step runs, a candidate that even this machine's matmul peak cannot run in time.

        Real steps are slower than the peak allows, so this only rejects candidates that timing would reject too,
        without spending minutes timing them.
        """
        floor_ms = FLOPS_PER_MAC_TRAINING * macs * self.budget.batch_size / (peak_gflops() * 1e9) * 1e3
        if floor_ms > self.budget.max_step_ms:
            raise CandidateFailed(
                f"{macs:,} MACs per image need at least {floor_ms:.0f} ms per step at this machine's peak, "
                f"over max_step_ms={self.budget.max_step_ms:g}."
            )

    def time_training(self, model: keras.Model) -> tuple[Iterator | None, StepTime]:
        """Time the first steps of the candidate's training (``StepTime.budget_steps`` of them); return the training
        stream to go on from (None when timing ran on fixed batches) and the step time.

        Timing on the training stream makes the timed steps part of the budget instead of extra steps on a few
        fixed batches: the timed loop costs no wall time of its own, and every candidate trains exactly its budget;
        ``train_on`` then goes on with the same iterator.
        Budgets whose first rung is too short to time within (below ``STREAM_TIMING_MIN_STEPS``) and epoch budgets
        time on fixed batches, uncounted, as ``time_steps`` does.
        """
        first = self.budget.rungs[0]
        if first is None or first < STREAM_TIMING_MIN_STEPS:
            return None, self.time_steps(model)
        iterator = iter(training_stream(self.split, budget=self.budget))
        try:
            build_training_state(model, y=self.split.y_train[: self.budget.batch_size])
            # These steps are training steps, so timing all of the first rung costs nothing; a
            # second of a slow candidate is a dozen steps, whose median a few slow seconds of a
            # shared CPU shift by a third. One train call is left to training, whose last loss
            # judges divergence.
            return iterator, time_train_steps(
                model, iterator, batch_size=self.budget.batch_size, min_time_s=math.inf, rel_error=None,
                max_steps=first - model.steps_per_execution, stop_above_ms=self.budget.max_step_ms,
            )
        except CandidateFailed:
            raise
        except Exception as error:
            raise CandidateFailed(f"timing failed: {type(error).__name__}: {squeezed(error)}") from error

    def time_steps(self, model: keras.Model) -> StepTime:
        """Time ``model``'s step on four fixed training batches (re-timing, short and epoch budgets)."""
        n = self.budget.batch_size * 4
        x, y = self.split.x_train[:n], self.split.y_train[:n]
        try:
            return measure_step_time(
                model, x=x, y=y, batch_size=self.budget.batch_size, min_time_s=self.budget.timing_s
            )
        except Exception as error:
            raise CandidateFailed(f"timing failed: {type(error).__name__}: {squeezed(error)}") from error


def train(model: keras.Model, split: Any, *, budget: Budget, steps: int | None = None, skip: int = 0) -> None:
    """Brief training on the training subset; a loss that turns NaN fails the trial.

    ``steps`` (default: the budget's) more steps continue from the model's weights and optimizer state; ``skip``, the
    steps already trained, moves on in the same shuffled stream of batches, so training in parts sees the batches one
    run would.
    """
    steps = steps or budget.train_steps
    kwargs = {"epochs": budget.epochs} if budget.epochs else {"epochs": 1, "steps_per_epoch": steps}
    if budget.train_steps:
        data = training_stream(split, budget=budget).skip(skip)
    else:
        data = to_tf_dataset(split.x_train, split.y_train, batch_size=budget.batch_size, shuffle=True)
    try:
        history = model.fit(data, verbose=0, shuffle=False, callbacks=[keras.callbacks.TerminateOnNaN()], **kwargs)
    except Exception as error:
        raise CandidateFailed(f"training failed: {type(error).__name__}: {squeezed(error)}") from error
    loss = history.history.get("loss", [math.nan])[-1]
    _check_finite(loss)


def train_on(model: keras.Model, iterator: Iterator, *, steps: int) -> None:
    """``steps`` more optimizer steps on ``iterator``, with the train function timing traced; a loss that is not
    finite fails the candidate.

    ``fit`` would run the same function but make a new stream first (a shuffle buffer of the whole subset to fill,
    the steps already trained to skip) and its callbacks, for what is often a few dozen steps. ``steps`` must be a
    multiple of the model's ``steps_per_execution`` (each train call runs that many).
    """
    if steps % model.steps_per_execution:
        raise ValueError(f"`steps` must be a multiple of {model.steps_per_execution=}, but got {steps=}.")
    model.reset_metrics()  # the loss logged is then the mean over these steps: NaN if any step's was
    model.make_train_function()  # keeps the one timing traced (and counted) when there is one
    try:
        for _ in range(steps // model.steps_per_execution):
            logs = model.train_function(iterator)
        loss = float(np.asarray(logs["loss"]))
    except Exception as error:
        raise CandidateFailed(f"training failed: {type(error).__name__}: {squeezed(error)}") from error
    _check_finite(loss)


def training_stream(split: Any, *, budget: Budget) -> Any:
    """The shuffled training batches, repeated: the same stream (same seed) for timing and every part of training."""
    return to_tf_dataset(split.x_train, split.y_train, batch_size=budget.batch_size, shuffle=True).repeat()


def deferred_build(build: BuildFn) -> BuildFn:
    def build_deferred(hp: Any) -> Any:
        try:
            with memory.deferred_variables():
                return build(hp)
        except (ValueError, ArchoptError) as error:  # ArchoptError: a MODEL function's error, as models.py words it
            if "stateless scope" not in str(error):
                raise
        # The space compiles inside build(): the optimizer's and metrics' variables need memory at
        # once, so such a space is built normally. Its memory is still estimated before any step
        # runs, just not before allocation.
        return build(hp)

    return build_deferred


def model_costs(model: keras.Model) -> dict[str, int]:
    return {"params": int(model.count_params()), "macs": int(total_macs(model))}


def _check_finite(loss: float) -> None:
    """Fail the candidate whose training loss is not finite: it diverged."""
    if not math.isfinite(loss):
        raise CandidateFailed(
            f"training loss became {loss} (diverged); lower the learning rate or change the candidate."
        )


def _flush(trial: Any, attrs: dict) -> None:
    """Write the measurements not yet written, in one transaction."""
    if attrs:
        set_user_attrs(trial, attrs)
        attrs.clear()


@contextlib.contextmanager
def _phase(phases: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        phases[name] = round(phases.get(name, 0.0) + time.perf_counter() - start, 4)
