"""Successive halving inside trials: continued training, decisions read from the study, PRUNED rows, resume, fleets."""

import json

import keras
import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState, create_trial

from optimizer.cli import main
from optimizer.data.datasets import Split
from optimizer.errors import ArchoptError
from optimizer.space.candidate import build_candidate
from optimizer.study.study import open_study
from optimizer.trial import halving
from optimizer.trial.budget import Budget
from optimizer.trial.objective import train
from tests.helpers import search_argv
from tests.pg import postgres_server, trials, wait_for, worker

# A space of fast candidates (no sleep): rungs, not builds, take the time.
DENSE_SPACE = """
import keras

def build(hp):
    units = hp.Int("units", 4, 128)
    return keras.Sequential([
        keras.Input((28, 28, 1)), keras.layers.Flatten(),
        keras.layers.Dense(units, activation="relu"), keras.layers.Dense(10, activation="softmax"),
    ])
"""
RUNG_FLAGS = ["--min-steps", "5", "--eta", "3"]  # with the tiny budget's 15 steps: rungs 5 and 15


def _model(hp=None) -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )


def test_training_in_parts_continues_the_same_weights_optimizer_state_and_batches(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, y = rng.random((200, 8, 8, 1), dtype=np.float32), rng.integers(0, 3, 200)
    split, budget = Split(x, y, x[:50], y[:50]), Budget(batch_size=16, train_steps=12)

    keras.utils.set_random_seed(seed)
    whole = build_candidate(_model, None)
    train(whole, split, budget=budget)
    keras.utils.set_random_seed(seed)
    parts = build_candidate(_model, None)
    train(parts, split, budget=budget, steps=5)
    first_loss = float(parts.evaluate(x, y, verbose=0)[0])
    train(parts, split, budget=budget, steps=7, skip=5)

    assert int(parts.optimizer.iterations) == int(whole.optimizer.iterations) == 12  # iterations add up
    for a, b in zip(parts.weights, whole.weights):  # the same 12 steps on the same batches as one run
        np.testing.assert_allclose(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b), atol=1e-5)
    assert float(parts.evaluate(x, y, verbose=0)[0]) < first_loss  # the loss carries on from where it was


def _rung_trial(number_attrs: dict, *, state: TrialState = TrialState.PRUNED) -> optuna.trial.FrozenTrial:
    values = [number_attrs["accuracy_15"], number_attrs["step_time_ms"]] if state == TrialState.COMPLETE else None
    return create_trial(state=state, values=values, params={}, distributions={}, user_attrs=number_attrs)


def test_the_rung_decision_reads_every_trial_of_the_study_at_that_rung(tmp_path) -> None:
    study = open_study(storage=f"sqlite:///{tmp_path / 's.db'}", name="rungs", sampler=optuna.samplers.RandomSampler(0))
    study.add_trial(
        _rung_trial({"accuracy_5": 0.8, "accuracy_15": 0.85, "step_time_ms": 10.0}, state=TrialState.COMPLETE)
    )
    study.add_trial(_rung_trial({"accuracy_5": 0.6, "step_time_ms": 20.0}))
    study.add_trial(_rung_trial({"accuracy_5": 0.7, "step_time_ms": 5.0}))
    study.add_trial(
        create_trial(state=TrialState.FAIL, user_attrs={"accuracy_5": 0.99, "step_time_ms": 1.0})
    )  # left out
    study.add_trial(
        _rung_trial({"accuracy_5": 0.5, "accuracy_15": 0.6, "step_time_ms": 30.0}, state=TrialState.COMPLETE)
    )

    dominated = study.ask()
    dominated.set_user_attr("accuracy_5", 0.65), dominated.set_user_attr("step_time_ms", 25.0)
    assert halving.continues_past(dominated, steps=5, eta=3) == (False, 5)  # 5 at the rung: the top 1 continues
    leading = study.ask()
    leading.set_user_attr("accuracy_5", 0.9), leading.set_user_attr("step_time_ms", 4.0)  # dominates all: rank 1
    assert halving.continues_past(leading, steps=5, eta=3) == (True, 6)
    # With eta 5, rung 15 has under eta trials: a trial continues while none of them dominates it.
    leading.set_user_attr("accuracy_15", 0.7)
    assert halving.continues_past(leading, steps=15, eta=5) == (True, 3)
    dominated.set_user_attr("accuracy_15", 0.55)
    assert halving.continues_past(dominated, steps=15, eta=5) == (False, 4)
    assert halving.continues_past(optuna.trial.FixedTrial({}), steps=5, eta=3) == (True, 0)


def test_a_rung_judges_every_trial_on_its_own_timing_not_on_a_re_timing_of_the_front(tmp_path) -> None:
    study = open_study(storage=f"sqlite:///{tmp_path / 's.db'}", name="rungs", sampler=optuna.samplers.RandomSampler(0))
    # Trial 0's own timing: 10 ms; a front re-timing (before a resume) stored 50 ms in step_time_ms.
    study.add_trial(
        _rung_trial(
            {"accuracy_5": 0.8, "accuracy_15": 0.85, "step_time_ms": 50.0, "step_time_first_ms": 10.0},
            state=TrialState.COMPLETE,
        )
    )
    assert halving.rung_points(study, steps=5) == {0: (0.8, 10.0)}
    slower = study.ask()
    slower.set_user_attr("accuracy_5", 0.7), slower.set_user_attr("step_time_ms", 20.0)
    assert halving.continues_past(slower, steps=5, eta=3) == (False, 2)  # dominated by trial 0's own 10 ms


def test_bad_rung_flags_are_one_line_errors(tmp_path, capsys) -> None:
    assert main(search_argv(tmp_path / "o", tmp_path, "--min-steps", "30")) == 2
    assert "`--min-steps <= --train-steps` must hold" in capsys.readouterr().err
    assert main(search_argv(tmp_path / "o", tmp_path, "--min-steps", "5", "--eta", "1")) == 2
    assert "`--eta` must be an integer of at least 2, but got 1" in capsys.readouterr().err
    assert main(search_argv(tmp_path / "o", tmp_path, "--min-steps", "5", "--engine", "keras-tuner")) == 2
    assert "`--min-steps` is for the optuna engine" in capsys.readouterr().err
    with pytest.raises(ArchoptError, match="needs --train-steps, not epochs"):
        Budget(train_steps=None, epochs=1, min_steps=5)


@pytest.mark.slow
def test_a_search_with_rungs_writes_pruned_rows_with_their_rung_accuracies(tmp_path, small_fashion_dir, capsys) -> None:
    (tmp_path / "dense.py").write_text(DENSE_SPACE)
    out = tmp_path / "run"
    argv = search_argv(
        out,
        small_fashion_dir,
        "--space",
        f"{tmp_path / 'dense.py'}:build",
        "--trials",
        "8",
        "--sampler",
        "tpe",
        "--no-progress",
        *RUNG_FLAGS,
    )
    assert main(argv) == 0
    frame = pd.read_csv(out / "trials.csv").set_index("trial")
    # TPE may propose a width again: such a repeat is PRUNED untrained, apart from the rungs
    # (test_repeats.py).
    repeats = frame["repeat_of"].notna() if "repeat_of" in frame else pd.Series(False, index=frame.index)
    frame = frame[~repeats]
    pruned, complete = frame[frame["state"] == "PRUNED"], frame[frame["state"] == "COMPLETE"]
    assert len(pruned) + len(complete) + repeats.sum() == 8 and len(pruned) >= 1 and len(complete) >= 1
    assert (pruned["steps_trained"] == 5).all() and (pruned["rung"] == 0).all()
    assert (
        pruned["accuracy_5"].between(0, 1).all()
        and pruned["accuracy_15"].isna().all()
        and pruned["accuracy"].isna().all()
    )
    assert (complete["steps_trained"] == 15).all() and (complete["accuracy_15"] == complete["accuracy"]).all()
    assert complete["accuracy_5"].notna().all() and (frame["step_time_ms"] > 0).all()
    assert set(frame.index[frame["is_pareto"]]) <= set(complete.index)  # the front: candidates trained to the top rung
    printed = capsys.readouterr().out
    assert f"Candidates per rung: 5 steps {len(frame)}, 15 steps {len(complete)}; {len(pruned)} stopped" in printed

    best = int(complete["accuracy"].idxmax())
    assert main(["export", str(out), "--trial", str(best), "--out", str(tmp_path / "model"), "--epochs", "1"]) == 0
    assert "in the search it trained 15 steps" in capsys.readouterr().out  # export says how long the trial trained
    assert json.loads((tmp_path / "model" / "archopt.json").read_text())["search_steps_trained"] == 15


@pytest.mark.slow
def test_a_trial_killed_in_the_middle_of_a_rung_is_retried_on_resume(tmp_path, fashion_dir) -> None:
    import signal

    (tmp_path / "dense.py").write_text(DENSE_SPACE)
    out = tmp_path / "run"
    command = [
        "--space",
        f"{tmp_path / 'dense.py'}:build",
        "--data-dir",
        str(fashion_dir),
        "--trials",
        "3",
        "--out",
        str(out),
        "--sampler",
        "random",
        "--finalists",
        "0",
        "--train-steps",
        "1500",
        "--min-steps",
        "20",
        "--eta",
        "3",
        "--train-size",
        "2000",
        "--val-size",
        "200",
        "--timing-s",
        "0.1",
        "--batch-size",
        "32",
    ]
    url, name = f"sqlite:///{out.resolve() / 'study.db'}", "run"
    first = worker(command, log=tmp_path / "first.log")

    def mid_rung():  # past rung 20 (its result stored), training on towards the next one
        return [t for t in trials(url, name) if t.state == TrialState.RUNNING and "accuracy_20" in t.user_attrs]

    wait_for(lambda: mid_rung(), what="a trial past its first rung", procs=(first,))
    (killed,) = mid_rung()
    first.send_signal(signal.SIGKILL)
    first.wait()

    second = worker(command, log=tmp_path / "second.log")
    assert second.wait(timeout=400) == 0, (tmp_path / "second.log").read_text()[-3000:]
    after = {t.number: t for t in trials(url, name)}
    assert after[killed.number].state == TrialState.FAIL and "accuracy_20" in after[killed.number].user_attrs
    (retry,) = [t for t in after.values() if t.user_attrs.get("retry_of") == killed.number]
    assert retry.params == killed.params and retry.state in (TrialState.COMPLETE, TrialState.PRUNED)
    assert (
        retry.user_attrs["accuracy_20"] >= 0 and retry.user_attrs["steps_trained"] >= 20
    )  # trained again from the start
    assert not [t for t in after.values() if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    study = optuna.load_study(study_name=name, storage=url)
    assert killed.number not in halving.rung_points(study, steps=20)  # a failed trial's rung result is not judged


@pytest.mark.slow
def test_two_workers_share_their_rungs_on_postgres(tmp_path, fashion_dir) -> None:
    (tmp_path / "dense.py").write_text(DENSE_SPACE)
    with postgres_server() as url:
        common = [
            "--storage",
            url,
            "--study",
            "fleet",
            "--trials",
            "8",
            "--space",
            f"{tmp_path / 'dense.py'}:build",
            "--data-dir",
            str(fashion_dir),
            "--finalists",
            "0",
            "--train-steps",
            "45",
            "--min-steps",
            "5",
            "--eta",
            "3",
            "--sampler",
            "random",
            "--train-size",
            "500",
            "--val-size",
            "200",
            "--timing-s",
            "0.1",
            "--batch-size",
            "32",
        ]
        a = worker([*common, "--out", str(tmp_path / "a")], log=tmp_path / "a.log")
        b = worker([*common, "--out", str(tmp_path / "b")], log=tmp_path / "b.log")
        assert a.wait(timeout=500) == 0, (tmp_path / "a.log").read_text()[-3000:]
        assert b.wait(timeout=500) == 0, (tmp_path / "b.log").read_text()[-3000:]
        final = trials(url, "fleet")
    judged = [t for t in final if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(judged) >= 8 and {t.user_attrs["pid"] for t in judged} == {a.pid, b.pid}
    # Some trial was judged at rung 5 among more trials than either worker put there: it saw the
    # other's results.
    assert max(t.user_attrs.get("peers_5", 0) for t in final) > max(
        sum("accuracy_5" in t.user_attrs for t in final if t.user_attrs.get("pid") == pid) for pid in (a.pid, b.pid)
    )
    assert any(t.state == TrialState.PRUNED for t in judged)
