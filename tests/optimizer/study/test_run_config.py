"""run.json: the folder's own study.db recorded relatively, so a moved or copied run folder reads its own study."""

import json
import shutil

import optuna
import pytest

from optimizer.errors import ArchoptError
from optimizer.results.rebuild import open_run
from optimizer.study import run_config
from optimizer.study.run_config import RunConfig
from optimizer.study.study import open_study


def make_run(run_dir, *, trials: int, storage: str | None = None):
    run_dir.mkdir(parents=True, exist_ok=True)
    config = RunConfig(dataset="fashion_mnist", space="default", study="night",
                       storage=storage or run_config.own_storage(run_dir))
    run_config.save(config, run_dir)
    study = open_study(storage=config.storage, name="night", sampler=optuna.samplers.RandomSampler(seed=0))
    for i in range(trials):
        study.add_trial(optuna.trial.create_trial(values=[0.5, float(i + 1)]))
    return config


def test_the_own_study_db_is_recorded_relatively_and_an_explicit_storage_as_given(tmp_path) -> None:
    make_run(tmp_path / "a", trials=1)
    assert json.loads((tmp_path / "a" / run_config.FILE).read_text())["storage"] == run_config.OWN_STORAGE
    elsewhere = f"sqlite:///{tmp_path / 'shared.db'}"
    make_run(tmp_path / "b", trials=1, storage=elsewhere)
    assert json.loads((tmp_path / "b" / run_config.FILE).read_text())["storage"] == elsewhere
    assert run_config.load(tmp_path / "b").storage == elsewhere


def test_a_copied_run_folder_reads_its_own_study_not_the_original(tmp_path) -> None:
    make_run(tmp_path / "first" / "night", trials=2)
    copy = shutil.copytree(tmp_path / "first" / "night", tmp_path / "second" / "night")
    optuna.load_study(study_name="night", storage=run_config.own_storage(copy)).add_trial(
        optuna.trial.create_trial(values=[0.9, 3.0])
    )  # the copy goes on (a resume on the copy) while the original stays at 2 trials
    config, study = open_run(copy)
    assert config.storage == run_config.own_storage(copy) and len(study.trials) == 3


def test_a_run_json_with_the_old_absolute_url_still_finds_the_moved_folders_own_study(tmp_path) -> None:
    original = tmp_path / "first" / "night"
    make_run(original, trials=2)
    data = json.loads((original / run_config.FILE).read_text())
    (original / run_config.FILE).write_text(json.dumps({**data, "storage": run_config.own_storage(original)}))
    moved = shutil.move(original, tmp_path / "night")
    assert run_config.load(moved).storage == run_config.own_storage(moved)
    assert len(open_run(moved)[1].trials) == 2
    other = tmp_path / "other"  # a folder of another name has no claim on that URL: it stays as recorded
    shutil.copytree(moved, other)
    assert run_config.load(other).storage == run_config.own_storage(original)


SECRET_URL = "postgresql://archopt:s3cret-pw@db.example:5432/archopt"


def test_run_json_masks_the_password_and_load_takes_it_from_storage_or_the_environment(tmp_path, monkeypatch) -> None:
    config = RunConfig(dataset="fashion_mnist", space="default", study="night", storage=SECRET_URL)
    run_config.save(config, tmp_path)
    text = (tmp_path / run_config.FILE).read_text()
    assert "s3cret-pw" not in text and json.loads(text)["storage"] == "postgresql://archopt:***@db.example:5432/archopt"
    monkeypatch.delenv("ARCHOPT_DB", raising=False)
    with pytest.raises(ArchoptError, match=r"without its password; give the URL with --storage or in .*ARCHOPT_DB"):
        run_config.load(tmp_path)
    assert run_config.recorded(tmp_path).storage == json.loads(text)["storage"]  # as written: no password needed
    assert run_config.load(tmp_path, storage=SECRET_URL).storage == SECRET_URL
    monkeypatch.setenv("ARCHOPT_DB", SECRET_URL)
    assert run_config.load(tmp_path).storage == SECRET_URL
    monkeypatch.setenv("ARCHOPT_DB", SECRET_URL.replace("/archopt", "/other"))
    with pytest.raises(ArchoptError, match=r"ARCHOPT_DB names the storage .*/other, but this run") as error:
        run_config.load(tmp_path)
    assert "s3cret-pw" not in str(error.value)
