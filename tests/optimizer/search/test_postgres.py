"""Two workers on one study in a real PostgreSQL: one is killed mid-trial, the survivor finishes the study."""

import pandas as pd
import pytest
from optuna.trial import TrialState

from tests.pg import TINY_BUDGET, TINY_SPACE, kill_mid_trial, postgres_server, trials, worker

TARGET = 5


@pytest.fixture(scope="module")
def postgres_url():
    with postgres_server() as url:
        yield url


@pytest.mark.slow
def test_killed_worker_is_replaced_by_heartbeat_and_survivor_finishes(postgres_url, tmp_path, fashion_dir):
    (tmp_path / "tiny.py").write_text(TINY_SPACE)
    common = [
        "--storage",
        postgres_url,
        "--study",
        "fleet",
        "--trials",
        str(TARGET),
        "--space",
        f"{tmp_path / 'tiny.py'}:build",
        "--data-dir",
        str(fashion_dir),
        *TINY_BUDGET,
    ]
    doomed = worker([*common, "--out", str(tmp_path / "a")], log=tmp_path / "a.log")
    survivor = worker([*common, "--out", str(tmp_path / "b")], log=tmp_path / "b.log")
    killed = kill_mid_trial(doomed, postgres_url, "fleet")
    # Not reaped until the end: a zombie's pid still exists, so only the heartbeat can tell the
    # survivor it died.
    assert survivor.wait(timeout=400) == 0, (tmp_path / "b.log").read_text()[-3000:]
    doomed.wait()

    final = {t.number: t for t in trials(postgres_url, "fleet")}
    complete = [t for t in final.values() if t.state == TrialState.COMPLETE]
    assert len(complete) == TARGET
    assert not [t for t in final.values() if t.state == TrialState.RUNNING]
    listed = pd.read_csv(tmp_path / "b" / "trials.csv")
    assert sorted(listed["trial"]) == sorted(final)  # every trial once: nothing counted twice, nothing lost
    assert (listed["state"] == "COMPLETE").sum() == TARGET
    # The reason is in the CSV whichever worker noticed first: archopt's own check (which records it
    # on the trial) or Optuna's, which fails the trial before the next one starts and leaves the
    # reason to the retry's `retry_of`.
    assert final[killed].state == TrialState.FAIL
    assert "heartbeat" in listed.set_index("trial").loc[killed, "fail_reason"]
    assert [t for t in final.values() if t.user_attrs.get("retry_of") == killed][0].params == final[killed].params
    dead_completed = [t for t in complete if t.user_attrs["pid"] == doomed.pid]
    assert dead_completed, "the dead worker's completed trial is gone"
    assert {t.user_attrs["pid"] for t in complete} == {doomed.pid, survivor.pid}


@pytest.mark.slow
def test_no_file_of_the_run_folder_holds_the_storage_password(postgres_url, tmp_path, small_fashion_dir, capsys,
                                                               monkeypatch):
    """run.json masks it; report and a resume take it from --storage or $ARCHOPT_DB, or say which is missing."""
    from optimizer.cli import main
    from tests.helpers import one_line_error, search_argv

    url = postgres_url.replace("archopt@", "archopt:s3cret-pw@")  # the server trusts loopback: any password works
    out = tmp_path / "run"
    monkeypatch.delenv("ARCHOPT_DB", raising=False)
    argv = search_argv(out, small_fashion_dir, "--study", "secret", "--sampler", "random", "--no-progress")
    assert main([*argv, "--storage", url, "--trials", "1"]) == 0
    assert "ARCHOPT_DB" in one_line_error(capsys, ["report", str(out)])
    assert main(["report", str(out), "--storage", url]) == 0
    monkeypatch.setenv("ARCHOPT_DB", url)
    assert main([*argv, "--trials", "2"]) == 0  # a resume without --storage: the recorded study, on PostgreSQL
    assert sum(t.state == TrialState.COMPLETE for t in trials(postgres_url, "secret")) == 2
    assert not (out / "study.db").exists()
    leaks = [path.name for path in out.rglob("*") if path.is_file() and b"s3cret-pw" in path.read_bytes()]
    assert leaks == [] and len(list(out.iterdir())) > 3
