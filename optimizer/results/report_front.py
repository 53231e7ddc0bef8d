"""The front as report.html shows it: one interactive chart per device class, and the table to pick from.

Each chart fades the dominated trials, draws the front as a staircase and the baselines as stars; hovering a point
names its knobs. The table lists pareto.csv's rows (the front over the accuracy floor, most accurate first) with the
exact `archopt export` command of each row; the knobs are in the hover and the CSVs, so the table fits a laptop.
"""

from __future__ import annotations

import html
import shlex
from pathlib import Path

import pandas as pd

from optimizer.results.figure import figure_div
from optimizer.results.front import FINAL, LEADING, METRICS, floor_words, useful_front

STAGE_COLUMNS = ("rung", "steps_trained")  # successive halving: where a candidate stopped, shown when present
BASELINE_HOVER = "<b>baseline %{text}</b><br>accuracy %{y:.4f}<br>step time %{x:.3g} ms<extra></extra>"


def knob_columns(frame: pd.DataFrame) -> list[str]:
    """The knob columns of trials.csv: those after the leading columns and before the measurements."""
    known = set(LEADING) | set(METRICS) | set(STAGE_COLUMNS) | set(FINAL)
    start = len(LEADING)
    end = next((i for i, c in enumerate(frame.columns) if c in METRICS), len(frame.columns))
    return [c for c in frame.columns[start:end] if c not in known]


def _hover(row: pd.Series, knobs: dict) -> str:
    lines = [
        f"<b>trial {int(row['trial'])}</b>",
        f"accuracy {row['accuracy']:.4f}",
        f"step time {row['step_time_ms']:.3g} ms",
    ]
    if pd.notna(row.get("final_accuracy")):
        lines.append(f"finalist: {row['final_accuracy']:.4f} after {row['final_epochs']:g} epochs")
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


def front_figures(done: pd.DataFrame, baselines: pd.DataFrame | None, *, knobs: dict[int, dict]) -> str:
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
        final = front[front["final_accuracy"].notna()] if "final_accuracy" in front else front.iloc[:0]
        if len(final):  # the finalists' front: the same step times, the export recipe's validation accuracy
            figure.add_trace(go.Scatter(
                x=final["step_time_ms"].tolist(), y=final["final_accuracy"].tolist(), name=f"finalists ({len(final)})",
                mode="markers", marker={"symbol": "diamond", "size": 12, "color": "#2ca02c"},
                customdata=final["trial"].astype(int).tolist(),
                text=[_hover(r, knobs.get(int(r["trial"]), {})) for _, r in final.iterrows()],
                hovertemplate="%{text}<extra></extra>",
            ))
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
        parts.append(figure_div(figure, f"front-{i}"))
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


def front_table(done: pd.DataFrame, *, run_dir: Path, num_classes: int) -> str:
    """pareto.csv's rows, their counts as integers, and each row's export command as ``<code>`` to copy; a note
    names the accuracy floor and the front members under it."""
    if not len(done):
        return "<p>No front yet.</p>"
    front, floor = useful_front(done, num_classes=num_classes)
    under = int(done["is_pareto"].sum()) - len(front)
    note = (f"<p class='note'>Most accurate first: each next row trades accuracy for speed. "
            f"{html.escape(floor_words(under=under, floor=floor))}: left out here and in pareto.csv, kept in "
            "trials.csv and in the plot.</p>")
    columns = ["trial", "accuracy", *FINAL, "step_time_ms", "params", "macs", "device"]
    table = front[[c for c in columns if c in front]].copy()
    counts = [c for c in ("params", "macs") if c in table]
    table[counts] = table[counts].astype("Int64")  # counts, not 5.529e+04
    finalist = front["final_accuracy"].notna() if "final_accuracy" in front else pd.Series(False, index=front.index)
    table["export"] = [export_command(run_dir, int(n)) + (" --reuse-finalist" if f else "")
                       for n, f in zip(front["trial"], finalist)]
    body = table.to_html(index=False, table_id="front-table", na_rep="", float_format=lambda v: f"{v:.4g}", escape=True)
    # The command cells as <code>, so a user copies exactly them (the text was escaped by pandas).
    for command in table["export"]:
        escaped = html.escape(command, quote=False)
        body = body.replace(f"<td>{escaped}</td>", f"<td><code class='export'>{escaped}</code></td>", 1)
    return note + "<div class='scroll'>" + body + "</div>"
