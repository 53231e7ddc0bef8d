"""How the night went, as report.html shows it: hypervolume and trials by state against wall clock, knob importances.

All three read the study itself, per device class (step times of different hardware do not mix), through Optuna's
own plots on an in-memory copy of one class's trials.
"""

from __future__ import annotations

import html
import math
import warnings

import optuna
import pandas as pd

from optimizer.results.figure import figure_div
from optimizer.study.study import METRIC_NAMES
from optimizer.trial.repeats import is_repeat

MIN_TRIALS_FOR_IMPORTANCE = 5  # fANOVA on fewer trials says nothing


def _by_device(trials: list[optuna.trial.FrozenTrial]) -> dict[str, list[optuna.trial.FrozenTrial]]:
    groups: dict[str, list] = {}
    for trial in trials:
        groups.setdefault(str(trial.user_attrs.get("device", "")), []).append(trial)
    return groups


def _scratch_study(study: optuna.Study, trials: list[optuna.trial.FrozenTrial]) -> optuna.Study:
    """An in-memory copy holding ``trials`` in order: Optuna's plots then read one device class, in completion order."""
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            scratch = optuna.create_study(directions=study.directions)
            scratch.set_metric_names(list(study.metric_names or METRIC_NAMES))
            scratch.add_trials(trials)
    finally:
        optuna.logging.set_verbosity(verbosity)
    return scratch


def hypervolume(study: optuna.Study, done: pd.DataFrame) -> str:
    """Optuna's hypervolume history per device class, in completion order, against the time each trial completed.

    Step times span orders of magnitude, so the volume is taken over accuracy and log10(step time), from accuracy 0
    and just past the slowest trial: each new front member adds area whether it is 2 ms or 200 ms.
    """
    import numpy as np
    import plotly.graph_objects as go
    from optuna.visualization import plot_hypervolume_history

    trials = [
        t for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)) if t.datetime_complete
    ]
    if len(trials) < 2:
        return "<p>Fewer than two complete trials: no history yet.</p>"
    figure = go.Figure()
    for device, group in sorted(_by_device(trials).items()):
        group = sorted(group, key=lambda t: t.datetime_complete)
        logged = [optuna.trial.create_trial(values=[t.values[0], math.log10(max(t.values[1], 1e-9))]) for t in group]
        reference = [0.0, max(t.values[1] for t in logged) + 0.05]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # experimental in some Optuna versions
            history = plot_hypervolume_history(_scratch_study(study, logged), reference_point=reference)
        volumes = np.asarray(history.data[0].y, dtype=float)
        figure.add_trace(
            go.Scatter(
                x=[t.datetime_complete for t in group],
                y=volumes.tolist(),
                mode="lines+markers",
                line_shape="hv",
                name=device or "all",
                customdata=[t.number for t in group],
                hovertemplate="trial %{customdata}<br>%{x}<br>hypervolume %{y:.4f}<extra></extra>",
            )
        )
    figure.update_layout(xaxis_title="trial completed at", yaxis_title="hypervolume (accuracy x log10 ms)")
    note = (
        "<p class='note'>The hypervolume is the area the front covers on a chart of accuracy against log10 of the "
        "step time, counted from accuracy 0 and from just past the slowest trial: it grows each time a trial is "
        "more accurate than every faster one, or faster than every more accurate one. "
        "A curve still rising at the end says another night would likely improve the front; "
        "a flat tail says the search had converged for this budget.</p>"
    )
    return note + figure_div(figure, "hypervolume")


def states(study: optuna.Study, frame: pd.DataFrame) -> str:
    """Cumulative trials by state against wall clock, and the failure reasons (as trials.csv words them) counted."""
    import plotly.graph_objects as go

    finished = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished() and t.datetime_complete]
    if not finished:
        return "<p>No finished trial yet.</p>"
    figure = go.Figure()
    kinds = (("COMPLETE", "#2ca02c"), ("PRUNED", "#ff7f0e"), ("REPEAT", "#7f7f7f"), ("FAIL", "#d62728"))
    for state, color in kinds:  # repeats apart from halving's stops
        times = sorted(t.datetime_complete for t in finished if ("REPEAT" if is_repeat(t) else t.state.name) == state)
        if times:
            figure.add_trace(
                go.Scatter(
                    x=times,
                    y=list(range(1, len(times) + 1)),
                    mode="lines+markers",
                    line_shape="hv",
                    name=f"{state.lower()} ({len(times)})",
                    line={"color": color},
                )
            )
    figure.update_layout(xaxis_title="finished at", yaxis_title="trials (cumulative)")
    failed = frame[frame["state"] == "FAIL"]
    reasons = failed["fail_reason"] if "fail_reason" in failed else pd.Series("", index=failed.index)
    counted = reasons.fillna("no reason recorded").value_counts().rename_axis("reason").reset_index(name="trials")
    table = counted.to_html(index=False, table_id="fail-reasons") if len(counted) else "<p>No trial failed.</p>"
    return figure_div(figure, "states") + "<h3>Failure reasons</h3>" + table


def importances(study: optuna.Study, done: pd.DataFrame) -> str:
    """Optuna's PED-ANOVA importances per objective: which knobs put a trial among the best 10% on that objective.

    On the device class with the most trials (step times of different hardware do not mix). fANOVA says much the same
    but takes seconds at 500 trials where PED-ANOVA takes a tenth of one.
    """
    from optuna.importance import PedAnovaImportanceEvaluator
    from optuna.visualization import plot_param_importances

    groups = _by_device(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
    device, trials = max(groups.items(), key=lambda kv: len(kv[1]), default=("", []))
    if len(trials) < MIN_TRIALS_FOR_IMPORTANCE:
        return (
            f"<p>Importances need at least {MIN_TRIALS_FOR_IMPORTANCE} complete trials; this run has {len(trials)}.</p>"
        )
    scratch, parts = _scratch_study(study, trials), []
    signs = [-1.0 if d == optuna.study.StudyDirection.MAXIMIZE else 1.0 for d in study.directions]
    for i, (name, sign) in enumerate(zip(scratch.metric_names, signs)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # PED-ANOVA's note on low targets
                figure = plot_param_importances(
                    scratch,
                    evaluator=PedAnovaImportanceEvaluator(),
                    target=lambda t, i=i, sign=sign: sign * t.values[i],
                    target_name=name,
                )
        except (ValueError, RuntimeError) as error:  # e.g. no knob varies
            return f"<p>No importances: {html.escape(str(error).splitlines()[0])}</p>"
        figure.update_layout(title=f"{name}: knobs that put a trial in the best 10%")
        parts.append(figure_div(figure, f"importance-{name}"))
    where = f" on {html.escape(device)}" if len(groups) > 1 else ""
    note = (
        f"<p class='note'>Optuna's PED-ANOVA importances{where} ({len(trials)} trials): how much each knob's "
        "values differ between the best 10% of trials and all of them.</p>"
    )
    return note + "".join(parts)
