"""The end-of-search summary: what it reads from the run folder."""

import optuna

from optimizer.results.report import write_outputs
from optimizer.results.summary import print_summary
from optimizer.study import run_config
from optimizer.study.run_config import RunConfig
from optimizer.study.study import DIRECTIONS


def test_the_summary_of_a_run_whose_run_json_masks_the_password_needs_none(tmp_path, capsys, monkeypatch):
    # `archopt pareto --storage URL` opened the study; summary reads just the dataset in run.json.
    monkeypatch.delenv("ARCHOPT_DB", raising=False)
    secret = "postgresql://archopt:s3cret-pw@db.example:5432/archopt"
    run_config.save(RunConfig(dataset="fashion_mnist", space="default", study="night", storage=secret), tmp_path)
    study = optuna.create_study(directions=list(DIRECTIONS))
    study.add_trial(optuna.trial.create_trial(values=[0.9, 4.0], user_attrs={"device": "cpu:x"}))
    print_summary(write_outputs(study, tmp_path), run_dir=tmp_path)
    assert "Pareto front (1 trials" in capsys.readouterr().out
