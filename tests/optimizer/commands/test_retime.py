"""`archopt retime RUN_DIR` end to end, on a copy of a real finished run."""

import shutil

import optuna
import pandas as pd
import pytest

from optimizer.cli import main
from optimizer.results.front import useful_front
from optimizer.results.retime import first_step_time

pytestmark = pytest.mark.slow


@pytest.fixture
def run_copy(tiny_run, tmp_path):
    """A copy of the shared run: retime rewrites what it touches (the copy reads its own study.db, run_config)."""
    return shutil.copytree(tiny_run, tmp_path / "run")


def optuna_front(done: pd.DataFrame, *, step_time: str) -> set[int]:
    """Optuna's best_trials on the rows' accuracy and ``step_time`` column."""
    scratch = optuna.create_study(directions=["maximize", "minimize"])
    scratch.add_trials([optuna.trial.create_trial(values=[a, t]) for a, t in zip(done["accuracy"], done[step_time])])
    return {int(done.index[t.number]) for t in scratch.best_trials}


def test_retime_rewrites_the_csvs_and_recomputes_the_front_with_optuna(run_copy, capsys) -> None:
    assert main(["retime", str(run_copy), "--rounds", "2"]) == 0
    assert "interleaved rounds" in capsys.readouterr().out
    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{run_copy.resolve() / 'study.db'}")
    retimed = {int(k): v["step_time_ms"] for k, v in study.user_attrs["retimed"].items()}
    after = pd.read_csv(run_copy / "trials.csv").set_index("trial")
    done = after[after["state"] == "COMPLETE"]
    # The first measurement stays in its column; the re-timed one replaces step_time_ms, in the CSV
    # and in the study.
    assert done["step_time_first_ms"].to_dict() == {t.number: first_step_time(t) for t in study.trials if t.values}
    assert done["step_time_ms"].to_dict() == {t.number: t.values[1] for t in study.trials if t.values}
    assert {n: done.loc[n, "step_time_ms"] for n in retimed} == pytest.approx(retimed)
    assert all(done.loc[n, "step_time_ms"] == done.loc[n, "step_time_first_ms"] for n in set(done.index) - set(retimed))
    assert optuna_front(done, step_time="step_time_first_ms") <= set(retimed)  # the first front was re-timed
    front = optuna_front(done, step_time="step_time_ms")
    assert set(after.index[after["is_pareto"]]) == front
    kept, _ = useful_front(after.reset_index(), num_classes=10)  # pareto.csv: the front over the accuracy floor
    assert list(pd.read_csv(run_copy / "pareto.csv")["trial"]) == list(kept["trial"])
    assert front <= set(retimed)  # and so was every member of the new one


def test_retime_refuses_bad_rounds_and_folders(tmp_path, capsys) -> None:
    assert main(["retime", str(tmp_path), "--rounds", "0"]) == 2
    assert main(["retime", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "`--rounds` must be a positive integer, but got 0." in err and "run.json is missing" in err
