"""report.html: the morning report of a run, one self-contained page (plotly's JavaScript inline, no network).

It answers "what did the night find, and which one do I take?": the front to hover (one per device class), the
front's hypervolume against wall clock (was the search still improving?), trials by state over time with the
failure reasons counted, which knobs move each objective, the front as a table with the `archopt export` command of
each row, and the run's settings and device fingerprints. It is drawn from the same frame as trials.csv, so the page
and the CSVs agree; plotly draws it, as ``optuna.visualization`` does.
"""

from __future__ import annotations

import html
import json
import math
import os
import shlex
import sys
import time
import warnings
from pathlib import Path

import optuna
import pandas as pd

from optimizer.errors import first_line
from optimizer.results.front import LEADING, METRICS, pareto_frame
from optimizer.study.storage import redact
from optimizer.study.study import METRIC_NAMES
from optimizer.trial.repeats import is_repeat

FILE = "report.html"
# Rewritten at most every 5 minutes during a search (the CSVs: every 10 s), always when the search ends.
REPORT_MIN_INTERVAL_S = 300
MIN_TRIALS_FOR_IMPORTANCE = 5  # fANOVA on fewer trials says nothing
FINGERPRINT_PREFIX = "fingerprint:"
STAGE_COLUMNS = ("rung", "steps_trained")  # successive halving: where a candidate stopped, shown when present
BASELINE_HOVER = "<b>baseline %{text}</b><br>accuracy %{y:.4f}<br>step time %{x:.3g} ms<extra></extra>"


def record_fingerprint(study: optuna.Study, fingerprint: dict | None = None) -> None:
    """Keep this worker's device fingerprint in the study (one key per device class), for the report's settings.

    The report may be written on another machine (`archopt report` on a laptop), so it reads them from the study.
    """
    from optimizer.measure import device  # TensorFlow: only workers record; the supervisor imports this module

    fingerprint = device.fingerprint() if fingerprint is None else fingerprint
    key = FINGERPRINT_PREFIX + device.device_class(fingerprint)
    if study.user_attrs.get(key) != fingerprint:
        study.set_user_attr(key, fingerprint)


def write_report(
    study: optuna.Study,
    run_dir: Path,
    *,
    frame: pd.DataFrame,
    baselines: pd.DataFrame | None = None,
    throttle: bool = False,
) -> Path | None:
    """Write ``run_dir``/report.html from ``frame`` (trials.csv's rows); with ``throttle``, at most every 5 minutes.

    The file's age decides, so the worker processes of one search (see ``supervisor``) share the cadence.
    """
    run_dir = Path(run_dir)
    path = run_dir / FILE
    if throttle and path.exists() and time.time() - path.stat().st_mtime < REPORT_MIN_INTERVAL_S:
        return None
    try:
        page = render(study, frame=frame, baselines=baselines, run_dir=run_dir)
    except Exception as error:  # a page that cannot be drawn must not end a night's search; the CSVs are written
        print(f"archopt: warning: {FILE} not written: {type(error).__name__}: {first_line(error)}", file=sys.stderr)
        return None
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, path)
    return path


def render(study: optuna.Study, *, frame: pd.DataFrame, baselines: pd.DataFrame | None, run_dir: Path) -> str:
    """The whole page as one string."""
    from plotly.offline import get_plotlyjs

    done = frame[frame["state"] == "COMPLETE"] if len(frame) else frame
    sections = [
        _section("Pareto front", _front_figures(done, baselines, knobs={t.number: t.params for t in study.trials})),
        _section("The front, fastest first", _front_table(done, run_dir=run_dir)),
        _section("Hypervolume against wall clock", _hypervolume(study, done)),
        _section("Trials over time", _states(study, frame)),
        _section("Which knobs move each objective", _importances(study, done)),
        _section("Settings and devices", _settings(study, run_dir=run_dir)),
    ]
    title = html.escape(f"archopt: {study.study_name}")
    counts = (
        ", ".join(f"{n} {s.lower()}" for s, n in frame["state"].value_counts().items()) if len(frame) else "no trials"
    )
    return (
        f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{_CSS}</style>"
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>"
        f"<h1>{title}</h1><p class='sub'>{html.escape(counts)}; written {time.strftime('%Y-%m-%d %H:%M:%S %Z')}</p>"
        + "".join(sections)
        + "</body></html>\n"
    )


def _section(title: str, body: str) -> str:
    return f"<section><h2>{html.escape(title)}</h2>{body}</section>"


def _div(figure, div_id: str) -> str:
    figure.update_layout(template="plotly_white", margin={"l": 60, "r": 20, "t": 40, "b": 50}, height=460)
    return figure.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config={"displaylogo": False})


def knob_columns(frame: pd.DataFrame) -> list[str]:
    """The knob columns of trials.csv: those after the leading columns and before the measurements."""
    known = set(LEADING) | set(METRICS) | set(STAGE_COLUMNS)
    start = len(LEADING)
    end = next((i for i, c in enumerate(frame.columns) if c in METRICS), len(frame.columns))
    return [c for c in frame.columns[start:end] if c not in known]


def _hover(row: pd.Series, knobs: dict) -> str:
    lines = [
        f"<b>trial {int(row['trial'])}</b>",
        f"accuracy {row['accuracy']:.4f}",
        f"step time {row['step_time_ms']:.3g} ms",
    ]
    for column, label in (("params", "params"), ("macs", "MACs")):
        if column in row and pd.notna(row[column]):
            lines.append(f"{label} {int(row[column]):,}")
    for column in STAGE_COLUMNS:
        if column in row and pd.notna(row[column]):
            lines.append(
                f"{column.replace('_', ' ')} {row[column]:g}"
                if isinstance(row[column], float)
                else f"{column} {row[column]}"
            )
    lines += [f"{k} = {html.escape(str(v))}" for k, v in knobs.items()]  # the study's values (the CSV's may be floats)
    return "<br>".join(lines)


def _front_figures(done: pd.DataFrame, baselines: pd.DataFrame | None, *, knobs: dict[int, dict]) -> str:
    """One interactive front per device class: dominated trials faded, the front as a staircase, baselines as stars."""
    import plotly.graph_objects as go

    if not len(done):
        return "<p>No complete trial yet.</p>"
    devices = done["device"].fillna("") if "device" in done else pd.Series("", index=done.index)
    parts = []
    for i, (device, rows) in enumerate(done.groupby(devices, sort=True)):
        front = rows[rows["is_pareto"]].sort_values(["step_time_ms", "accuracy"], ascending=[True, False])
        others = rows[~rows["is_pareto"]]
        figure = go.Figure()
        for name, part, style in (
            (f"dominated ({len(others)})", others, {"color": "rgba(120,120,120,0.35)", "size": 7}),
            (f"Pareto front ({len(front)})", front, {"color": "#d62728", "size": 10}),
        ):
            figure.add_trace(
                go.Scatter(  # plain lists, not plotly's typed arrays: the page's data reads as it looks
                    x=part["step_time_ms"].tolist(),
                    y=part["accuracy"].tolist(),
                    name=name,
                    line_shape="hv",
                    marker=style,
                    mode="lines+markers" if part is front else "markers",
                    customdata=part["trial"].astype(int).tolist(),
                    text=[_hover(r, knobs.get(int(r["trial"]), {})) for _, r in part.iterrows()],
                    hovertemplate="%{text}<extra></extra>",
                )
            )
        complete = _complete_baselines(baselines, device=device)
        if complete is not None and len(complete):
            figure.add_trace(
                go.Scatter(
                    x=complete["step_time_ms"].tolist(),
                    y=complete["accuracy"].tolist(),
                    name="baselines",
                    mode="markers+text",
                    text=complete["name"].astype(str).tolist(),
                    textposition="top center",
                    marker={"symbol": "star", "size": 16, "color": "#1f77b4"},
                    hovertemplate=BASELINE_HOVER,
                )
            )
        figure.update_layout(
            title=html.escape(device or "all trials"),
            xaxis_title="training step time (ms, median; log)",
            yaxis_title="validation accuracy",
            hovermode="closest",
            legend={"orientation": "h", "y": -0.2},
        )
        figure.update_xaxes(type="log")
        parts.append(_div(figure, f"front-{i}"))
    return "".join(parts)


def _complete_baselines(baselines: pd.DataFrame | None, *, device: str) -> pd.DataFrame | None:
    if baselines is None or not len(baselines):
        return None
    rows = baselines[baselines["state"] == "COMPLETE"] if "state" in baselines else baselines
    if "device" in rows and device:
        rows = rows[rows["device"].fillna(device) == device]
    return rows


def export_command(run_dir: Path, trial: int) -> str:
    """The exact command that exports ``trial`` of this run."""
    return f"archopt export {shlex.quote(str(run_dir))} --trial {trial} --out {shlex.quote(f'exports/trial-{trial}')}"


def _front_table(done: pd.DataFrame, *, run_dir: Path) -> str:
    if not len(done):
        return "<p>No front yet.</p>"
    front = pareto_frame(done)
    columns = ["trial", "accuracy", "step_time_ms", "step_time_first_ms", "params", "macs", "device"]
    columns += [c for c in STAGE_COLUMNS if c in front] + knob_columns(done)
    table = front[[c for c in columns if c in front]].copy()
    counts = [c for c in ("params", "macs", "steps_trained") if c in table]
    table[counts] = table[counts].astype("Int64")  # counts, not 5.529e+04
    table["export"] = [export_command(run_dir, int(n)) for n in front["trial"]]
    body = table.to_html(index=False, table_id="front-table", na_rep="", float_format=lambda v: f"{v:.4g}", escape=True)
    # The command cells as <code>, so a user copies exactly them (the text was escaped by pandas).
    for command in table["export"]:
        escaped = html.escape(command, quote=False)
        body = body.replace(f"<td>{escaped}</td>", f"<td><code class='export'>{escaped}</code></td>", 1)
    return "<div class='scroll'>" + body + "</div>"


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


def _hypervolume(study: optuna.Study, done: pd.DataFrame) -> str:
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
        "<p class='note'>A curve still rising at the end says another night would likely improve the front; "
        "a flat tail says the search had converged for this budget.</p>"
    )
    return note + _div(figure, "hypervolume")


def _states(study: optuna.Study, frame: pd.DataFrame) -> str:
    """Cumulative trials by state against wall clock, and the failure reasons (as trials.csv words them) counted."""
    import plotly.graph_objects as go

    finished = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished() and t.datetime_complete]
    if not finished:
        return "<p>No finished trial yet.</p>"
    figure = go.Figure()
    kinds = (("COMPLETE", "#2ca02c"), ("PRUNED", "#ff7f0e"), ("REPEAT", "#7f7f7f"), ("FAIL", "#d62728"))
    for state, color in kinds:  # a repeat ends PRUNED untrained: drawn apart from candidates halving stopped
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
    return _div(figure, "states") + "<h3>Failure reasons</h3>" + table


def _importances(study: optuna.Study, done: pd.DataFrame) -> str:
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
                warnings.simplefilter("ignore")  # PED-ANOVA's note that it ranks knobs for low target values
                figure = plot_param_importances(
                    scratch,
                    evaluator=PedAnovaImportanceEvaluator(),
                    target=lambda t, i=i, sign=sign: sign * t.values[i],
                    target_name=name,
                )
        except (ValueError, RuntimeError) as error:  # e.g. no knob varies, or no knob every trial has
            return f"<p>No importances: {html.escape(str(error).splitlines()[0])}</p>"
        figure.update_layout(title=f"{name}: knobs that put a trial in the best 10%")
        parts.append(_div(figure, f"importance-{name}"))
    where = f" on {html.escape(device)}" if len(groups) > 1 else ""
    note = (
        f"<p class='note'>Optuna's PED-ANOVA importances{where} ({len(trials)} trials): how much each knob's "
        "values differ between the best 10% of trials and all of them.</p>"
    )
    return note + "".join(parts)


def _settings(study: optuna.Study, *, run_dir: Path) -> str:
    rows: list[tuple[str, str]] = []
    path = Path(run_dir) / "run.json"
    if path.is_file():
        for key, value in json.loads(path.read_text()).items():
            text = redact(value) if key == "storage" else json.dumps(value) if isinstance(value, dict) else str(value)
            rows.append((key, text))
    if not any(key == "study" for key, _ in rows):
        rows.append(("study", study.study_name))
    for key, value in sorted(study.user_attrs.items()):
        if key.startswith(FINGERPRINT_PREFIX):
            details = ", ".join(f"{k}: {v}" for k, v in value.items()) if isinstance(value, dict) else str(value)
            rows.append((f"device {key.removeprefix(FINGERPRINT_PREFIX)}", details))
    cells = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f'<table id="settings">{cells}</table>'


_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: 0; } h2 { font-size: 1.2em; border-bottom: 1px solid #ddd; margin-top: 1.8em; }
.sub, .note { color: #666; } .scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 13px; }
th, td { padding: 3px 8px; border-bottom: 1px solid #eee; text-align: left; }
code.export { background: #f4f4f4; padding: 1px 4px; white-space: nowrap; user-select: all; }
"""
