"""run.json records the engine; a resume with another engine and `--sampler` with KerasTuner are refused in one line."""

import json

import pytest

from optimizer.errors import ArchoptError
from optimizer.search import run_dir
from optimizer.study import run_config
from tests.helpers import one_line_error, search_plan


@pytest.mark.parametrize("engine", ["optuna", "keras-tuner"])
def test_run_json_records_the_engine(tmp_path, engine) -> None:
    run_dir.prepare_run_dir(search_plan(tmp_path, "--engine", engine))
    assert json.loads((tmp_path / "run" / run_config.FILE).read_text())["engine"] == engine
    assert run_config.load(tmp_path / "run").engine == engine


def test_a_resume_with_another_engine_is_refused(tmp_path) -> None:
    run_dir.prepare_run_dir(search_plan(tmp_path, "--engine", "keras-tuner"))
    with pytest.raises(ArchoptError, match="started with --engine keras-tuner;.*but got --engine optuna\\."):
        run_dir.prepare_run_dir(search_plan(tmp_path))
    run_dir.prepare_run_dir(search_plan(tmp_path, "--engine", "keras-tuner"))  # the same engine resumes


def test_a_run_json_without_engine_is_an_optuna_run(tmp_path) -> None:
    run_dir.prepare_run_dir(search_plan(tmp_path))
    path = tmp_path / "run" / run_config.FILE
    saved = json.loads(path.read_text())
    del saved["engine"]  # written before run.json recorded it
    path.write_text(json.dumps(saved))
    run_dir.prepare_run_dir(search_plan(tmp_path))
    with pytest.raises(ArchoptError, match="started with --engine optuna;.*but got --engine keras-tuner\\."):
        run_dir.prepare_run_dir(search_plan(tmp_path, "--engine", "keras-tuner"))


def test_sampler_with_keras_tuner_is_one_line(capsys, tmp_path) -> None:
    argv = ["search", "--engine", "keras-tuner", "--sampler", "nsga2", "--out", str(tmp_path / "r")]
    line = one_line_error(capsys, argv)
    assert "--sampler 'nsga2'" in line and "--engine keras-tuner" in line and "--tuner" in line
    assert not (tmp_path / "r").exists()
