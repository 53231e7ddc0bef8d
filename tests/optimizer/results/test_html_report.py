"""report.html from a study built in place (no training): content, device classes, baselines, rungs, cadence."""

import datetime as dt
import json
import random
import re

import optuna
import pandas as pd
import pytest
from optuna.distributions import CategoricalDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from optimizer.results import html_report
from optimizer.results.report import pareto_numbers, trials_frame, write_outputs
from optimizer.study.study import open_study

DISTS = {"filters": IntDistribution(8, 64), "head": CategoricalDistribution(["gap", "flatten"])}


def make_study(n: int, *, devices=("cpu:A x2",), seed: int = 0, **attrs) -> optuna.Study:
    rng = random.Random(seed)
    study = open_study(storage="sqlite:///:memory:", name="night", sampler=optuna.samplers.RandomSampler(seed=seed))
    start = dt.datetime(2026, 12, 1, 22, 0)
    for i in range(n):
        params = {"filters": rng.randint(8, 64), "head": rng.choice(["gap", "flatten"])}
        when = {
            "datetime_start": start + dt.timedelta(minutes=i),
            "datetime_complete": start + dt.timedelta(minutes=i, seconds=50),
        }
        if i % 7 == 6:
            trial = create_trial(
                state=TrialState.FAIL,
                params=params,
                distributions=DISTS,
                user_attrs={"fail_reason": rng.choice(["out of memory", "too slow"])},
            )
        else:
            values = [
                round(0.6 + params["filters"] / 200 + rng.uniform(-0.05, 0.05), 3),
                params["filters"] * rng.uniform(0.8, 1.2),
            ]
            trial = create_trial(
                values=values,
                params=params,
                distributions=DISTS,
                user_attrs={"params": 100 * i, "macs": 7 * i, "device": devices[i % len(devices)], **attrs},
            )
        trial.datetime_start, trial.datetime_complete = when["datetime_start"], when["datetime_complete"]
        study.add_trial(trial)
    return study


def figure_data(page: str, div_id: str) -> list[dict]:
    """The traces plotly.py wrote into the page for ``div_id`` (Plotly.newPlot's second argument)."""
    match = re.search(r'Plotly\.newPlot\(\s*"' + re.escape(div_id) + r'",\s*(\[.*?\]),\s*\{', page, re.DOTALL)
    assert match, f"no figure {div_id}"
    return json.loads(match.group(1))


def test_the_page_is_self_contained_and_has_every_section(tmp_path) -> None:
    study = make_study(30)
    write_outputs(study, tmp_path)
    page = (tmp_path / html_report.FILE).read_text()
    from plotly.offline import get_plotlyjs

    assert get_plotlyjs() in page  # inline: the page opens from file:// with no network (the browser test checks it)
    ours = page.replace(get_plotlyjs(), "")
    assert not re.search(r"<(script|link)[^>]*\b(src|href)=", ours) and "Plotly.newPlot" in ours
    for div in ("front-0", "hypervolume", "states", "importance-accuracy", "importance-step_time_ms"):
        assert f'id="{div}"' in page, div
    assert "out of memory" in page and "too slow" in page  # failure reasons, counted
    counted = pd.read_html(page_table(page, "fail-reasons"))[0]
    frame = pd.read_csv(tmp_path / "trials.csv")
    assert dict(zip(counted["reason"], counted["trials"])) == frame["fail_reason"].value_counts().to_dict()


def page_table(page: str, table_id: str):
    import io

    start = page.index(f'id="{table_id}"')
    return io.StringIO(page[page.rindex("<table", 0, start) : page.index("</table>", start) + len("</table>")])


def test_one_front_per_device_class_and_baselines_as_stars(tmp_path) -> None:
    study = make_study(28, devices=("cpu:A x2", "gpu:B"))
    frame = trials_frame(study.trials, pareto=pareto_numbers(study))
    baselines = pd.DataFrame(
        [{"name": "resnet", "state": "COMPLETE", "accuracy": 0.8, "step_time_ms": 30.0, "device": "gpu:B"}]
    )
    page = html_report.render(study, frame=frame, baselines=baselines, run_dir=tmp_path)
    for i, device in enumerate(["cpu:A x2", "gpu:B"]):
        traces = figure_data(page, f"front-{i}")
        rows = frame[(frame["state"] == "COMPLETE") & (frame["device"] == device)]
        assert sorted(n for t in traces[:2] for n in t["customdata"]) == sorted(rows["trial"])
        assert sorted(traces[1]["customdata"]) == sorted(rows.loc[rows["is_pareto"], "trial"])
        stars = [t for t in traces if t.get("marker", {}).get("symbol") == "star"]
        assert [t["text"] for t in stars] == ([["resnet"]] if device == "gpu:B" else [])


def test_rungs_are_shown_in_the_hover_when_trials_csv_has_them(tmp_path) -> None:
    study = make_study(12, rung=2, steps_trained=120)
    frame = trials_frame(study.trials, pareto=pareto_numbers(study))
    page = html_report.render(study, frame=frame, baselines=None, run_dir=tmp_path)
    (front,) = [t for t in figure_data(page, "front-0") if t["name"].startswith("Pareto")]
    assert all("rung 2" in text and "steps trained 120" in text for text in front["text"])
    table = pd.read_html(page_table(page, "front-table"))[0]
    # Every front member ran to the top rung: the hover says so, and the table leaves the columns
    # out to stay narrow.
    assert not {"rung", "steps_trained"} & set(table.columns) and "export" in table.columns


def test_small_studies_say_why_a_section_is_empty(tmp_path) -> None:
    study = make_study(3)
    page = html_report.render(
        study, frame=trials_frame(study.trials, pareto=pareto_numbers(study)), baselines=None, run_dir=tmp_path
    )
    assert "Importances need at least 5 complete trials; this run has 3." in page
    empty = open_study(storage="sqlite:///:memory:", name="empty", sampler=optuna.samplers.RandomSampler())
    page = html_report.render(empty, frame=trials_frame([], pareto=set()), baselines=None, run_dir=tmp_path)
    assert "No complete trial yet." in page and "No finished trial yet." in page


def test_the_hypervolume_history_is_optunas_and_never_falls(tmp_path) -> None:
    study = make_study(40)
    page = html_report.render(
        study, frame=trials_frame(study.trials, pareto=pareto_numbers(study)), baselines=None, run_dir=tmp_path
    )
    (trace,) = figure_data(page, "hypervolume")
    done = sorted((t for t in study.trials if t.state == TrialState.COMPLETE), key=lambda t: t.datetime_complete)
    assert trace["customdata"] == [t.number for t in done]
    assert all(b >= a for a, b in zip(trace["y"], trace["y"][1:])) and trace["y"][-1] > trace["y"][0]
    # The last value is the whole front's volume over accuracy and log10(ms), from accuracy 0 past
    # the slowest trial.
    import numpy as np
    from optuna._hypervolume import compute_hypervolume

    points = np.array([[-t.values[0], np.log10(t.values[1])] for t in study.best_trials])
    reference = np.array([0.0, max(np.log10(t.values[1]) for t in done) + 0.05])
    assert trace["y"][-1] == pytest.approx(compute_hypervolume(points, reference))


def test_during_a_search_the_page_is_rewritten_at_a_slower_cadence(tmp_path) -> None:
    study = make_study(8)
    frame = trials_frame(study.trials, pareto=pareto_numbers(study))
    assert html_report.write_report(study, tmp_path, frame=frame, throttle=True) == tmp_path / html_report.FILE
    assert html_report.write_report(study, tmp_path, frame=frame, throttle=True) is None  # within REPORT_MIN_INTERVAL_S
    assert (
        html_report.write_report(study, tmp_path, frame=frame) == tmp_path / html_report.FILE
    )  # the last write: always


def test_settings_show_run_json_without_password_and_the_fingerprints(tmp_path) -> None:
    study = make_study(6)
    (tmp_path / "run.json").write_text(
        json.dumps({"dataset": "fashion_mnist", "storage": "postgresql://u:hunter2@db/x"})
    )
    html_report.record_fingerprint(
        study, {"cpu": "EPYC", "gpus": [], "cores": 2, "intra_op_threads": 0, "tensorflow": "2.x"}
    )
    page = html_report.render(
        study, frame=trials_frame(study.trials, pareto=pareto_numbers(study)), baselines=None, run_dir=tmp_path
    )
    settings = pd.read_html(page_table(page, "settings"), index_col=0)[0].iloc[:, 0]
    assert (
        settings["dataset"] == "fashion_mnist"
        and "hunter2" not in page
        and settings["storage"] == "postgresql://***@db/x"
    )
    assert "cpu: EPYC" in settings["device cpu:EPYC x2"] and "tensorflow: 2.x" in settings["device cpu:EPYC x2"]


def test_a_page_that_cannot_be_drawn_is_one_warning_not_the_end_of_the_search(tmp_path, capsys) -> None:
    study = make_study(4)
    assert html_report.write_report(study, tmp_path, frame=pd.DataFrame({"no_state_column": [1]})) is None
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert (
        line.startswith("archopt: warning: report.html not written: KeyError")
        and not (tmp_path / "report.html").exists()
    )


def test_the_header_counts_repeats_with_the_legends_word() -> None:
    frame = pd.DataFrame({"state": ["COMPLETE", "PRUNED", "PRUNED", "FAIL"], "repeat_of": [None, 0, None, None]})
    assert list(html_report.state_words(frame)) == ["COMPLETE", "REPEAT", "PRUNED", "FAIL"]
    assert html_report.state_words(frame.drop(columns="repeat_of")).tolist() == list(frame["state"])
