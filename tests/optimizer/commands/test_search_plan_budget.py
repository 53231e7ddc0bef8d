"""The command line's training budget: its rungs, stored resolved, so run folders and studies that an older archopt
wrote with no first rung (None: single fidelity) resume and admit workers as the single-fidelity runs they were."""

import dataclasses
import json

import optuna
import pytest

from optimizer.defaults import TRAIN_STEPS
from optimizer.errors import ArchoptError
from optimizer.optuna_private import insert_study_user_attrs
from optimizer.search import run_dir
from optimizer.study import fleet, run_config
from optimizer.trial.budget import Budget
from tests.helpers import search_plan


@pytest.mark.parametrize(
    ("flags", "rungs"),
    [
        ((), (TRAIN_STEPS,)),  # the default: single fidelity (part 2 of benchmarks/fidelity.py, README)
        (("--min-steps", "100", "--train-steps", "900"), (100, 300, 900)),
        (("--min-steps", "50", "--eta", "2", "--train-steps", "400"), (50, 100, 200, 400)),
        (("--train-steps", "300", "--min-steps", "300"), (300,)),
        (("--epochs", "1"), (None,)),
    ],
)
def test_the_rungs_the_command_line_gives(tmp_path, flags, rungs) -> None:
    assert search_plan(tmp_path, *flags).config.budget.rungs == rungs


def test_a_budget_stores_its_first_rung_resolved() -> None:
    assert Budget(train_steps=300).min_steps == 300  # None means single fidelity, written as what it is
    assert Budget(train_steps=300) == Budget(train_steps=300, min_steps=300)
    assert Budget(train_steps=None, epochs=2).min_steps is None


def test_a_run_folder_with_no_first_rung_resumes_as_single_fidelity(tmp_path) -> None:
    run_dir.prepare_run_dir(search_plan(tmp_path, "--train-steps", "300"))
    path = tmp_path / "run" / run_config.FILE
    saved = json.loads(path.read_text())
    assert saved["budget"]["min_steps"] == 300
    saved["budget"]["min_steps"] = None  # what an older archopt wrote for a single-fidelity run
    path.write_text(json.dumps(saved))
    run_dir.prepare_run_dir(search_plan(tmp_path, "--train-steps", "300"))  # resumes
    refusal = "started with --min-steps 300; a resumed run must use the same, but got --min-steps 100"
    with pytest.raises(ArchoptError, match=refusal):
        run_dir.prepare_run_dir(search_plan(tmp_path, "--train-steps", "300", "--min-steps", "100"))


def test_a_study_with_no_recorded_first_rung_takes_single_fidelity_workers(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    config = search_plan(tmp_path, "--storage", url, "--train-steps", "300").config
    old = run_config.measured(config)
    old["budget"]["min_steps"] = None
    study = optuna.create_study(study_name=config.study, storage=url, directions=["maximize", "minimize"])
    insert_study_user_attrs(study, old)
    fleet.join_study(config)  # the same measuring settings: admitted
    halving = dataclasses.replace(config, budget=dataclasses.replace(config.budget, min_steps=100))
    with pytest.raises(ArchoptError, match="with --min-steps 300, but this worker was started with --min-steps 100"):
        fleet.join_study(halving)


def test_a_resume_with_another_budget_names_every_flag_that_differs(tmp_path) -> None:
    run_dir.prepare_run_dir(search_plan(tmp_path, "--train-steps", "300", "--min-steps", "300", "--seed", "3"))
    refusal = ("this run folder was started with --seed 3 --train-steps 300 --min-steps 300; a resumed run must use "
               "the same, but got --seed 0 --train-steps 900 --min-steps 100.")
    with pytest.raises(ArchoptError, match=refusal):
        run_dir.prepare_run_dir(search_plan(tmp_path, "--train-steps", "900", "--min-steps", "100"))
