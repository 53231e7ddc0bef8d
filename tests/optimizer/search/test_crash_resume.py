"""SIGKILL in the middle of a trial, then the same command again: nothing computed is lost, nothing left RUNNING."""

import signal

import pandas as pd
import pytest
from optuna.trial import TrialState

from optimizer.results.retime import first_step_time
from tests.pg import TINY_BUDGET, TINY_SPACE, kill_mid_trial, trials, wait_for, worker


@pytest.mark.slow
def test_sigkill_then_resume_keeps_trials_and_retries_the_killed_one(tmp_path, fashion_dir):
    (tmp_path / "tiny.py").write_text(TINY_SPACE)
    out = tmp_path / "run"
    command = ["--space", f"{tmp_path / 'tiny.py'}:build", "--data-dir", str(fashion_dir), "--trials", "3",
               "--out", str(out), "--sampler", "random", *TINY_BUDGET]
    url, name = f"sqlite:///{out.resolve() / 'study.db'}", "run"
    first = worker(command, log=tmp_path / "first.log")
    killed = kill_mid_trial(first, url, name)
    first.wait()
    before = {t.number: t.values for t in trials(url, name) if t.state == TrialState.COMPLETE}

    second = worker(command, log=tmp_path / "second.log")
    assert second.wait(timeout=300) == 0, (tmp_path / "second.log").read_text()[-3000:]

    after = {t.number: t for t in trials(url, name)}
    # Every completed trial kept with its accuracy and its own timing (re-timing the front at the
    # end may replace the stored step time; the trial's first timing stays in step_time_first_ms).
    assert {n: [after[n].values[0], first_step_time(after[n])] for n in before} == before
    assert after[killed].state == TrialState.FAIL
    assert "died mid-trial" in after[killed].user_attrs["fail_reason"]
    retried = [t for t in after.values() if t.user_attrs.get("retry_of") == killed]
    assert len(retried) == 1 and retried[0].params == after[killed].params and retried[0].state == TrialState.COMPLETE
    assert not [t for t in after.values() if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    assert sum(t.state == TrialState.COMPLETE for t in after.values()) == 3
    csv = pd.read_csv(out / "trials.csv")
    assert dict(zip(csv["trial"], csv["state"])) == {n: t.state.name for n, t in after.items()}


@pytest.mark.slow
def test_sigterm_fails_the_running_trial_with_reason_and_queues_it_again(tmp_path, fashion_dir):
    (tmp_path / "tiny.py").write_text(TINY_SPACE)
    out = tmp_path / "run"
    url = f"sqlite:///{out.resolve() / 'study.db'}"
    proc = worker(["--space", f"{tmp_path / 'tiny.py'}:build", "--data-dir", str(fashion_dir), "--trials", "5",
                   "--out", str(out), *TINY_BUDGET], log=tmp_path / "log")
    wait_for(
        lambda: [t for t in trials(url, "run") if t.state == TrialState.RUNNING and t.params],
        what="a trial",
        procs=(proc,),
    )
    proc.send_signal(signal.SIGTERM)  # what a scheduler sends at the end of a job
    assert proc.wait(timeout=120) == 130
    stopped, queued = trials(url, "run")[-2:]
    assert stopped.state == TrialState.FAIL and "interrupted (signal 15)" in stopped.user_attrs["fail_reason"]
    assert queued.state == TrialState.WAITING and queued.params == stopped.params
    assert (out / "trials.csv").exists()
