"""report.html of a real small search, in a real browser (Debian's chromium, offline): what the user sees and copies."""

import shlex

import pandas as pd
import pytest

from optimizer.cli import build_parser
from optimizer.results.html_report import FILE
from optimizer.results.report_front import export_command, knob_columns
from tests.browser import offline_page

pytestmark = pytest.mark.slow

TRACES = "id => document.getElementById(id).data.map(t => ({name: t.name, x: t.x, y: t.y, trials: t.customdata}))"


@pytest.fixture(scope="module")
def report(tiny_run):
    """The page the search left, opened once: its traces, table commands and one hovered front point."""
    with offline_page(tiny_run / FILE) as (page, errors, requested):
        traces = page.evaluate(TRACES, "front-0")
        commands = page.locator("#front-table code.export").all_text_contents()
        sections = page.locator("h2").all_text_contents()
        export_boxes = [cell.bounding_box() for cell in page.locator("#front-table td:has(code.export)").all()]
        page_width = page.evaluate("document.documentElement.scrollWidth")
        notes = page.locator("p.note").all_text_contents()
        front = next(i for i, t in enumerate(traces) if t["name"].startswith("Pareto front"))
        box = page.locator("#front-0 .scatterlayer .trace").nth(front).locator(".point").first.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # plotly's drag layer takes events
        page.wait_for_selector("#front-0 .hoverlayer .hovertext")
        hover = page.locator("#front-0 .hoverlayer .hovertext").first.text_content()
        hover_lines = page.locator("#front-0 .hoverlayer .hovertext tspan.line").all_text_contents()
    return {
        "errors": errors,
        "requested": requested,
        "traces": traces,
        "commands": commands,
        "sections": sections,
        "export_boxes": export_boxes,
        "page_width": page_width,
        "notes": notes,
        "hover": hover,
        "hover_lines": hover_lines,
    }


def test_the_page_loads_offline_from_file_without_console_errors(report) -> None:
    assert report["errors"] == [] and report["requested"] == []
    assert report["sections"][:2] == ["Pareto front", "The front, most accurate first"]
    assert {"Hypervolume against wall clock", "Trials over time", "Settings and devices"} <= set(report["sections"])


def test_the_front_plot_holds_every_complete_trial_once_and_its_line_goes_through_the_front(report, tiny_run) -> None:
    trials = pd.read_csv(tiny_run / "trials.csv")
    front = trials[trials["is_pareto"]].sort_values("step_time_ms")  # the whole front, under the floor too
    plotted = [n for t in report["traces"] for n in t["trials"]]
    assert sorted(plotted) == sorted(trials.loc[trials["state"] == "COMPLETE", "trial"])
    (line,) = [t for t in report["traces"] if t["name"].startswith("Pareto front")]
    assert line["trials"] == list(front["trial"])  # fastest first
    assert line["x"] == pytest.approx(list(front["step_time_ms"])) and line["y"] == pytest.approx(
        list(front["accuracy"])
    )


def test_hovering_a_front_point_shows_its_trial_and_knobs(report, tiny_run) -> None:
    trials = pd.read_csv(tiny_run / "trials.csv")
    number = int(trials[trials["is_pareto"]].sort_values("step_time_ms")["trial"].iloc[0])  # the front's first point
    lines = report["hover_lines"]
    assert lines[0] == f"trial {number}", report["hover"]
    row = trials.set_index("trial").loc[number]
    shown = dict(line.split(" = ", 1) for line in lines if " = " in line)
    knobs = {k: row[k] for k in knob_columns(trials) if pd.notna(row[k])}
    assert set(shown) == set(knobs) and len(knobs) >= 5
    for knob, value in knobs.items():  # the CSV holds an integer knob as 32.0 where other trials lack it
        assert shown[knob] == str(value) or float(shown[knob]) == pytest.approx(float(value)), (
            knob,
            shown[knob],
            value,
        )
    assert f"accuracy {row['accuracy']:.4f}" in lines and f"params {int(row['params']):,}" in lines


def test_the_tables_export_commands_name_the_pareto_csv_trials(report, tiny_run) -> None:
    pareto = pd.read_csv(tiny_run / "pareto.csv")
    assert report["commands"] == [export_command(tiny_run, int(n)) for n in pareto["trial"]]
    for command, number in zip(report["commands"], pareto["trial"]):
        words = shlex.split(command)
        assert words[0] == "archopt"
        args = build_parser().parse_args(words[1:])  # exactly what `archopt export` accepts
        assert (args.command, args.run_dir, args.trial) == ("export", tiny_run, number)


def test_the_front_table_fits_a_1280_pixel_window_export_command_included(report) -> None:
    assert report["export_boxes"] and report["page_width"] <= 1280
    assert all(box["x"] + box["width"] <= 1280 for box in report["export_boxes"]), report["export_boxes"]


def test_the_hypervolume_is_explained_in_words(report) -> None:
    assert any("area the front covers" in note and "log10 of the step time" in note for note in report["notes"])
