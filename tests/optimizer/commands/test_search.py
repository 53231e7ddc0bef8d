"""`archopt search` end to end: real training on real Fashion-MNIST images, real SQLite study."""

import json

import optuna
import pandas as pd
import pytest

from optimizer.cli import main
from optimizer.results.report import LEADING
from optimizer.results.retime import first_step_time
from optimizer.trial.attrs import FIRST_STEP_TIME
from tests.helpers import search_argv

pytestmark = pytest.mark.slow
KNOBS = [
    "first_stride",
    "first_kernel",
    "num_blocks",
    "filters_1",
    "factorization",
    "downsample",
    "head",
    "dense_units",
]


def snapshot(storage: str, name: str) -> dict:
    """Every trial as it was measured: a search's closing re-timing may change only the stored step times."""
    study = optuna.load_study(study_name=name, storage=storage)
    retimed = ("step_time_ms", FIRST_STEP_TIME)
    return {t.number: (t.state, t.values and [t.values[0], first_step_time(t)], t.params,
                       {k: v for k, v in t.user_attrs.items() if k not in retimed}) for t in study.trials}


def test_a_search_leaves_three_files_with_a_row_per_trial(tiny_run) -> None:
    trials, front = pd.read_csv(tiny_run / "trials.csv"), pd.read_csv(tiny_run / "pareto.csv")
    assert (trials["state"] == "COMPLETE").sum() == 3
    assert list(trials.columns[: len(LEADING)]) == LEADING and set(KNOBS) <= set(trials.columns)
    done = trials[trials["state"] == "COMPLETE"]
    assert done["accuracy"].between(0, 1).all() and (done["step_time_ms"] > 0).all()
    assert (done["macs"] > 0).all() and (done["params"] > 0).all()
    assert {"build_s", "timing_s", "train_s", "eval_s", "step_time_iqr_ms", "device"} <= set(trials.columns)
    assert 1 <= len(front) <= 3 and set(front["trial"]) <= set(done["trial"])
    assert (tiny_run / "pareto.png").exists()


def test_trials_score_on_validation_data_only(tiny_run) -> None:
    config = json.loads((tiny_run / "run.json").read_text())
    assert config["val_size"] == 300 and config["train_size"] == 800
    # 300 validation images: every accuracy is a multiple of 1/300.
    done = pd.read_csv(tiny_run / "trials.csv").query("state == 'COMPLETE'")
    assert ((done["accuracy"] * 300).round(6) % 1 == 0).all()


def test_rerunning_the_command_resumes_without_losing_or_altering_a_trial(tmp_path, small_fashion_dir) -> None:
    out = tmp_path / "resume"
    assert main(search_argv(out, small_fashion_dir, "--trials", "2", "--no-progress")) == 0
    storage = f"sqlite:///{out.resolve() / 'study.db'}"
    before = snapshot(storage, "resume")
    assert main(search_argv(out, small_fashion_dir, "--trials", "3", "--no-progress")) == 0
    after = snapshot(storage, "resume")
    assert {n: after[n] for n in before} == before
    assert sum(state.name == "COMPLETE" for state, *_ in after.values()) == 3
    assert len(pd.read_csv(out / "trials.csv")) == len(after)


def test_a_resume_with_other_settings_is_refused_and_changes_nothing(tmp_path, small_fashion_dir, capsys) -> None:
    out = tmp_path / "strict"
    assert main(search_argv(out, small_fashion_dir, "--trials", "1", "--no-progress")) == 0
    before = (out / "trials.csv").read_text()
    argv = search_argv(out, small_fashion_dir, "--trials", "2", "--no-progress")
    argv[argv.index("--train-steps") + 1] = "99"
    assert main(argv) == 2
    assert "started with --train-steps 15 --min-steps 15;" in capsys.readouterr().err
    assert (out / "trials.csv").read_text() == before
