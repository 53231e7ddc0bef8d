"""Finalists: which front members are chosen, how workers claim them, and a real search that trains and reuses them."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.distributions import IntDistribution
from optuna.trial import create_trial

from optimizer.cli import main
from optimizer.defaults import SEARCH_SHARE
from optimizer.results import finalist_record, finalists
from optimizer.results.finalists import Claims, Member, claim_is_live, members_of, select
from optimizer.study.study import DIRECTIONS
from tests.helpers import one_line_error, search_argv

# Distinct networks spread in speed, with batch norm for the finalists' precise BN to refit.
SPACE = """
import keras

def build(hp):
    units = hp.Choice("units", [4, 16, 64, 256, 1024])
    return keras.Sequential([
        keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(units),
        keras.layers.BatchNormalization(), keras.layers.ReLU(), keras.layers.Dense(10, activation="softmax"),
    ])
"""


def front(n: int) -> list[Member]:
    """A front of ``n`` distinct members, step times 1 ms * e**i, accuracy rising with step time."""
    return [Member(i, 0.5 + i / (2 * n), math.exp(i), f"net-{i}") for i in range(n)]


def test_the_most_accurate_comes_first_then_targets_crowd_the_accurate_end() -> None:
    chosen = select(front(20), k=4)
    assert chosen[0] == 19 and len(set(chosen)) == 4
    # Targets at 19 - 19 * (i / 4) ** 2 in log step time: 17.8, 14.25, 8.3 -> the nearest members.
    assert chosen == [19, 18, 14, 8]
    assert 0 not in chosen  # never the fastest, least accurate end


def test_structurally_equal_members_count_once_keeping_the_more_accurate() -> None:
    members = [Member(1, 0.9, 10.0, "same"), Member(2, 0.8, 5.0, "same"), Member(3, 0.7, 1.0, "other")]
    assert select(members, k=2) == [1, 3]
    assert select(members, k=5) == [1, 3]


def test_k_larger_than_the_front_takes_all_accurate_first_and_zero_takes_none() -> None:
    assert select(front(3), k=10) == [2, 1, 0]
    assert select(front(3), k=0) == [] and select([], k=4) == []


def test_members_are_this_device_classes_front_told_apart_by_architecture() -> None:
    def trial(acc: float, ms: float, *, device: str, arch: str | None, units: int):
        attrs = {"device": device} | ({"architecture": arch} if arch else {})
        return create_trial(values=[acc, ms], params={"units": units},
                            distributions={"units": IntDistribution(1, 64)}, user_attrs=attrs)

    trials = [trial(0.9, 10, device="a", arch="x", units=8), trial(0.8, 5, device="a", arch=None, units=4),
              trial(0.7, 20, device="a", arch="y", units=16), trial(0.95, 50, device="b", arch="z", units=32)]
    for number, t in enumerate(trials):
        t.number = number
    members = members_of(trials, device="a")
    assert [m.number for m in members] == [0, 1]  # 2 is dominated; 3 ran on another device class
    assert members[0].structure == "x" and members[1].structure == json.dumps({"units": 4})


def test_reserve_is_the_share_of_the_timeout_only_when_finalists_are_asked_for() -> None:
    assert finalists.reserve_s(1000.0, k=4, share=0.2) == pytest.approx(200.0)
    assert finalists.reserve_s(1000.0, k=0, share=0.2) == 0.0 and finalists.reserve_s(None, k=4, share=0.2) == 0.0
    assert finalists.reserve_s(1000.0, k=4) == pytest.approx(1000.0 * (1 - SEARCH_SHARE))  # what the search leaves


@pytest.fixture
def stored(tmp_path) -> tuple[optuna.Study, str]:
    url = f"sqlite:///{tmp_path / 'claims.db'}"
    study = optuna.create_study(storage=url, study_name="claims", directions=list(DIRECTIONS))
    study.add_trial(create_trial(values=[0.9, 3.0]))
    return study, url


def test_a_fresh_claim_of_another_worker_is_respected_and_a_stale_one_taken_over(stored) -> None:
    study, url = stored
    mine, theirs = Claims(study, url=url, settle_s=0.0), Claims(study, url=url, settle_s=0.01)
    theirs.me = {"host": "elsewhere", "pid": 1}
    try:
        assert mine.take(0, epochs=5)
        assert not theirs.take(0, epochs=5)  # read past its own cache: the other worker's claim is seen
        assert mine.take(0, epochs=5)  # a worker's own claim does not stop it
        stale = {"host": "elsewhere", "pid": 1, "time": time.time() - finalists.GRACE_S - 1}
        from optimizer.optuna_private import overwrite_values

        overwrite_values(study, {}, user_attrs={0: {finalists.CLAIM: stale}})
        assert mine.take(0, epochs=5) and mine.attrs(0)[finalists.CLAIM]["pid"] == mine.me["pid"]
        overwrite_values(study, {}, user_attrs={0: {finalist_record.ACCURACY: 0.8, finalist_record.EPOCHS: 5}})
        assert not mine.take(0, epochs=5) and mine.take(0, epochs=1)  # scored at 5 epochs: never trained twice
    finally:
        mine.close()
        theirs.close()


def test_a_claim_of_a_dead_process_on_this_host_is_not_live() -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    me = finalists.worker_id()
    claim = {"host": me["host"], "pid": int(dead.stdout), "time": time.time()}
    assert not claim_is_live(claim, now=time.time(), me=me)
    assert claim_is_live({**claim, "pid": 1, "host": "elsewhere"}, now=time.time(), me=me)


@pytest.mark.slow
def test_a_search_trains_its_finalists_once_and_export_reuses_their_weights(tmp_path, small_fashion_dir) -> None:
    out = tmp_path / "run"
    (tmp_path / "space.py").write_text(SPACE)
    argv = search_argv(out, small_fashion_dir, "--space", f"{tmp_path / 'space.py'}:build", "--trials", "6",
                       "--sampler", "random", "--no-progress", "--finalists", "2", "--finalist-epochs", "1")
    assert main(argv) == 0
    trials, pareto = pd.read_csv(out / "trials.csv"), pd.read_csv(out / "pareto.csv")
    scored = trials[trials["final_accuracy"].notna()]
    front = trials[trials["is_pareto"]]  # pareto.csv keeps the members over the accuracy floor
    assert len(scored) == min(2, front["architecture"].nunique())
    assert set(scored["trial"]) <= set(front["trial"]) and set(pareto["trial"]) <= set(front["trial"])
    assert pareto["final_accuracy"].notna().sum() == len(set(scored["trial"]) & set(pareto["trial"]))
    assert scored["final_accuracy"].between(0, 1).all() and (scored["final_epochs"] == 1).all()
    files = {n: out / "finalists" / f"trial_{n}.keras" for n in scored["trial"]}
    mtimes = {n: path.stat().st_mtime_ns for n, path in files.items()}
    page = (out / "report.html").read_text()
    assert "finalists (" in page and "--reuse-finalist" in page

    assert main(argv) == 0  # the budget is met: re-timed again, but no finalist trained twice
    again = pd.read_csv(out / "trials.csv").set_index("trial")
    assert {n: p.stat().st_mtime_ns for n, p in files.items()} == mtimes
    assert (again.loc[list(files), "final_accuracy"] == scored.set_index("trial")["final_accuracy"]).all()

    number = int(scored.sort_values("final_accuracy").iloc[-1]["trial"])
    export = ["export", str(out), "--trial", str(number), "--out", str(tmp_path / "x"), "--reuse-finalist"]
    assert main(export) == 2 and not (tmp_path / "x").exists()  # 5 epochs asked for, 1 trained: refused
    assert main([*export, "--epochs", "1"]) == 0
    record = json.loads((tmp_path / "x" / "archopt.json").read_text())
    assert record["weights"] == "finalist (trained on training split less validation)"
    assert 0 <= record["test_accuracy"] <= 1 and record["epochs"] == 1
    # The exported weights are the finalist's: they score its stored validation accuracy again.
    import keras

    from optimizer.results.rebuild import open_run
    from optimizer.study.assemble import load_split
    from optimizer.trial.evaluation import validation_accuracy

    config, _ = open_run(out)
    _, split = load_split(config)
    model = keras.saving.load_model(tmp_path / "x" / "model.keras")
    assert validation_accuracy(model, split) == pytest.approx(record["finalist_validation_accuracy"], abs=1e-6)
    assert np.isclose(record["finalist_validation_accuracy"], again.loc[number, "final_accuracy"])


@pytest.mark.parametrize(("flag", "value", "expected"), [
    ("--finalists", "-1", "`--finalists` must be 0 (none) or positive, but got -1."),
    ("--finalist-epochs", "0", "`--finalist-epochs` must be a positive integer, but got 0."),
])
def test_bad_finalist_flags_are_one_line_errors(capsys, tmp_path, flag, value, expected) -> None:
    assert expected in one_line_error(capsys, ["search", flag, value, "--out", str(tmp_path / "r")])
