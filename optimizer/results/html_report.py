"""report.html: the morning report of a run, one self-contained page (plotly's JavaScript inline, no network).

It answers "what did the night find, and which one do I take?": the front to hover (one per device class), the
front's hypervolume against wall clock (was the search still improving?), trials by state over time with the
failure reasons counted, which knobs move each objective, the front as a table with the `archopt export` command of
each row, and the run's settings and device fingerprints. It is drawn from the same frame as trials.csv, so the page
and the CSVs agree; plotly draws it, as ``optuna.visualization`` does. This module writes the page and its settings;
``report_front`` draws the front and its table, ``report_history`` the run's course and the knobs' importances.
"""

from __future__ import annotations

import html
import json
import os
import sys
import time
from pathlib import Path

import optuna
import pandas as pd

from optimizer.errors import first_line
from optimizer.results.front import num_classes
from optimizer.results.report_front import front_figures, front_table
from optimizer.results.report_history import hypervolume, importances, states
from optimizer.results.throttle import written_within
from optimizer.study.storage import redact

FILE = "report.html"
# Rewritten at most every 5 minutes in a search (the CSVs: every 10 s), always when the search ends.
REPORT_MIN_INTERVAL_S = 300
FINGERPRINT_PREFIX = "fingerprint:"


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
    if throttle and written_within(path, seconds=REPORT_MIN_INTERVAL_S):
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
        _section("Pareto front", front_figures(done, baselines, knobs={t.number: t.params for t in study.trials})),
        _section("The front, most accurate first",
                 front_table(done, run_dir=run_dir, num_classes=num_classes(study.user_attrs.get("dataset")))),
        _section("Hypervolume against wall clock", hypervolume(study, done)),
        _section("Trials over time", states(study, frame)),
        _section("Which knobs move each objective", importances(study, done)),
        _section("Settings and devices", _settings(study, run_dir=run_dir)),
    ]
    title = html.escape(f"archopt: {study.study_name}")
    counts = ", ".join(f"{n} {s.lower()}" for s, n in state_words(frame).value_counts().items()) or "no trials"
    return (
        f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{_CSS}</style>"
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>"
        f"<h1>{title}</h1><p class='sub'>{html.escape(counts)}; written {time.strftime('%Y-%m-%d %H:%M:%S %Z')}</p>"
        + "".join(sections)
        + "</body></html>\n"
    )


def state_words(frame: pd.DataFrame) -> pd.Series:
    """Each trial's state as the report's legend words it: a repeat (a PRUNED row with ``repeat_of``) apart from
    halving's stops."""
    if not len(frame):
        return pd.Series(dtype=str)
    repeats = frame["repeat_of"].notna() if "repeat_of" in frame else pd.Series(False, index=frame.index)
    return frame["state"].where(~repeats, "REPEAT")


def _section(title: str, body: str) -> str:
    return f"<section><h2>{html.escape(title)}</h2>{body}</section>"


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
code.export { background: #f4f4f4; padding: 1px 4px; white-space: normal; overflow-wrap: anywhere; user-select: all; }
#front-table td:last-child { min-width: 22em; }
"""
