"""The storage: heartbeats, dead workers' trials failed with a reason and retried, bad URLs in one line."""

import importlib
import os
import socket
import subprocess

import optuna
import pytest
from optuna.trial import TrialState

from optimizer.errors import ArchoptError
from optimizer.study import storage
from tests.helpers import age_heartbeat


@pytest.fixture
def study(tmp_path):
    return optuna.create_study(storage=storage.make_storage(f"sqlite:///{tmp_path / 's.db'}", heartbeat_s=1, grace_s=1))


def _reaped() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def running_trial(study, *, host: str, pid: int) -> optuna.Trial:
    trial = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    trial.set_user_attr("host", host)
    trial.set_user_attr("pid", pid)
    return trial


def test_trial_of_a_dead_local_process_is_failed_with_reason_and_retried(study):
    trial = running_trial(study, host=socket.gethostname(), pid=_reaped())
    assert storage.fail_stale(study) == [trial.number]
    failed, retry = study.trials
    assert failed.state == TrialState.FAIL and "died mid-trial" in failed.user_attrs["fail_reason"]
    assert retry.state == TrialState.WAITING and retry.params == failed.params
    assert retry.user_attrs == {"retry_of": trial.number}  # the dead trial's measurements are not carried over


def test_trials_of_live_processes_and_other_hosts_are_left_running(study):
    with subprocess.Popen(["sleep", "30"]) as live:
        running_trial(study, host=socket.gethostname(), pid=live.pid)
        running_trial(study, host="another-machine", pid=_reaped())
        assert storage.fail_stale(study) == []
        live.kill()
    assert [t.state for t in study.trials] == [TrialState.RUNNING] * 2


def test_trial_without_heartbeat_beyond_the_grace_period_is_failed(study):
    trial = running_trial(study, host="another-machine", pid=os.getpid())
    study._storage.record_heartbeat(trial._trial_id)
    age_heartbeat(study, trial._trial_id, seconds=5)  # grace_s=1
    assert storage.fail_stale(study) == [trial.number]
    assert "no heartbeat" in study.trials[0].user_attrs["fail_reason"]


def test_retry_gives_up_after_max_retry(study):
    trial = running_trial(study, host=socket.gethostname(), pid=_reaped())
    for _ in range(storage.MAX_RETRY + 1):
        storage.fail_stale(study)
        waiting = [t for t in study.trials if t.state == TrialState.WAITING]
        if waiting:  # run the retry as a worker would, and kill it again
            running = study.ask()
            running.set_user_attr("host", socket.gethostname())
            running.set_user_attr("pid", _reaped())
    assert len(study.trials) == storage.MAX_RETRY + 1 and trial.number == 0  # the first try and MAX_RETRY retries
    assert all(t.state == TrialState.FAIL for t in study.trials)


@pytest.mark.parametrize("url, expected", [
    ("postgresql://user:hunter2@127.0.0.1:9/db", "cannot open storage postgresql://***@127.0.0.1:9/db"),
    ("nosuchdb://somewhere/db", "cannot open storage nosuchdb://somewhere/db"),
])
def test_bad_storage_url_is_one_line(url, expected):
    with pytest.raises(ArchoptError) as error:
        storage.make_storage(url)
    assert str(error.value).startswith(expected) and "\n" not in str(error.value) and "hunter2" not in str(error.value)


def test_postgres_urls_are_read_as_optuna_reads_them():
    from sqlalchemy.engine import make_url

    for url in ("postgresql://u@h/db", "postgresql+psycopg://u@h/db", "postgresql+psycopg2://u@h/db", "sqlite:///x.db"):
        assert storage.normalize_url(url) == url
    assert storage.normalize_url("postgres://u@h/db") == "postgresql://u@h/db"
    # The extra installs SQLAlchemy's driver for a bare URL, so optuna-dashboard opens the same URL.
    driver = make_url("postgresql://u@h/db").get_dialect().driver
    assert importlib.import_module(driver).__name__ == driver
    assert storage.is_shared("postgresql://u@h/db") and not storage.is_shared("sqlite:///x.db")


@pytest.mark.parametrize("url, expected", [
    ("postgresql://archopt:s3cret@db:5432/archopt", "postgresql://archopt:***@db:5432/archopt"),
    ("postgresql+psycopg2://u:p%40ss@db/x?sslmode=require", "postgresql+psycopg2://u:***@db/x?sslmode=require"),
    ("postgresql://archopt@db/archopt", "postgresql://archopt@db/archopt"),
    ("sqlite:////tmp/run/study.db", "sqlite:////tmp/run/study.db"),
])
def test_masked_hides_only_the_password(url, expected):
    assert storage.masked(url) == expected


def test_a_storage_whose_driver_is_missing_says_which_in_one_line():
    with pytest.raises(ArchoptError) as error:
        storage.make_storage("mysql://user:hunter2@127.0.0.1:9/db")  # MySQLdb: not an archopt dependency
    assert str(error.value).startswith("storage mysql://***@127.0.0.1:9/db needs MySQLdb, which is not installed")
