"""A candidate that repeats a judged trial is stopped before training, names that trial, and is hidden from samplers."""

import keras
import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from optimizer.cli import main
from optimizer.data.datasets import Split
from optimizer.space.candidate import rebuild
from optimizer.study.rung_sampler import scored_at_rungs
from optimizer.trial.budget import Budget
from optimizer.trial.objective import Objective
from optimizer.trial.repeats import REPEAT_OF, architecture_key
from search_spaces.default_cnn import DefaultCNN
from tests.helpers import INERT_SPACE, ONE_BLOCK, search_argv

pytestmark = pytest.mark.usefixtures("frozen_gc")  # unseen drafts: a Keras reset each




def _key(**changes) -> str | None:
    build = DefaultCNN(input_shape=(28, 28, 1), num_classes=10).build
    return architecture_key(rebuild(build, ONE_BLOCK | changes))


def test_the_architecture_key_sees_through_a_knob_that_changes_nothing():
    # One block has nothing to down-sample between: the default space's `downsample` is inert there.
    assert _key() is not None and _key(downsample="avg") == _key() == _key(downsample="strided")
    assert _key(filters_1=32) != _key() and _key(num_blocks=2, filters_2=16) != _key(num_blocks=2, filters_2=16,
                                                                                   downsample="avg")


class _Scaled(keras.layers.Layer):
    """A layer whose config leaves out its setting: two of them with different factors look alike to Keras."""

    def __init__(self, factor: float = 1.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor


def test_a_network_its_config_may_not_describe_has_no_architecture_key():
    def model(*middle, loss="sparse_categorical_crossentropy") -> keras.Model:
        net = keras.Sequential([keras.Input((4,)), *middle, keras.layers.Dense(2, activation="softmax")])
        net.compile(optimizer="adam", loss=loss)
        return net

    assert architecture_key(model(keras.layers.Dense(3))) is not None
    assert architecture_key(model(_Scaled(2.0))) is None
    assert architecture_key(model(keras.layers.Lambda(lambda x: x * 2.0))) is None
    assert architecture_key(model(loss=lambda y, p: keras.losses.sparse_categorical_crossentropy(y, p))) is None


def _split(seed: int) -> Split:
    rng = np.random.default_rng(seed)
    x, y = rng.random((96, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 96)
    return Split(x, y, x[:32], y[:32])


def _space():
    namespace: dict = {}
    exec(INERT_SPACE, namespace)
    return namespace["build"]


def test_a_repeat_stops_before_training_and_names_the_trial_whose_result_stands(tmp_path, seed):
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 's.db'}", directions=["maximize", "minimize"])
    for params in ({"units": 16, "unused": 1}, {"units": 16, "unused": 1}, {"units": 16, "unused": 2},
                   {"units": 32, "unused": 1}):
        study.enqueue_trial(params)
    objective = Objective(build=_space(), split=_split(seed), budget=Budget(batch_size=8, train_steps=20),
                          tags={"device": "cpu-a"})
    study.optimize(objective, n_trials=4)
    trials = study.get_trials()
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.PRUNED, TrialState.PRUNED,
                                         TrialState.COMPLETE]
    assert [t.user_attrs.get(REPEAT_OF) for t in trials] == [None, 0, 0, None]  # same knobs; an inert knob apart
    for repeat in trials[1:3]:
        assert "steps_trained" not in repeat.user_attrs and "train_s" not in repeat.user_attrs  # nothing trained
        assert "timing_s" not in repeat.user_attrs and repeat.user_attrs["params"] == trials[0].user_attrs["params"]
    shown = scored_at_rungs(trials)  # samplers see repeats as failed trials, at their place in the list
    assert [t.number for t in shown] == [0, 1, 2, 3]
    assert [t.state for t in shown] == [TrialState.COMPLETE, TrialState.FAIL, TrialState.FAIL, TrialState.COMPLETE]

    # Step times of another device class do not compare: there the same network is a new candidate.
    study.enqueue_trial({"units": 16, "unused": 1})
    study.optimize(Objective(build=_space(), split=_split(seed), budget=Budget(batch_size=8, train_steps=20),
                             tags={"device": "cpu-b"}), n_trials=1)
    assert study.get_trials()[-1].state == TrialState.COMPLETE


def test_a_fixed_trial_repeats_nothing(seed):
    trial = optuna.trial.FixedTrial({"units": 16, "unused": 1})
    Objective(build=_space(), split=_split(seed), budget=Budget(batch_size=8, train_steps=20)).evaluate(trial)
    assert REPEAT_OF not in trial.user_attrs and trial.user_attrs["steps_trained"] == 20


@pytest.mark.slow
def test_a_search_counts_repeats_apart_and_ends_when_it_proposes_nothing_new(tmp_path, small_fashion_dir, capsys,
                                                                             monkeypatch):
    from optimizer.study import study

    monkeypatch.setattr(study, "EXHAUSTED_AFTER_REPEATS", 3)  # the rule, not its overnight threshold of 200
    (tmp_path / "inert.py").write_text(INERT_SPACE.replace("[16, 32]", "[16]"))  # one network, two spellings
    out = tmp_path / "run"
    argv = search_argv(out, small_fashion_dir, "--space", f"{tmp_path / 'inert.py'}:build", "--trials", "50",
                       "--sampler", "tpe", "--no-progress")
    assert main(argv) == 0  # after 1 candidate and 3 repeats in a row, not 50 trials
    frame = pd.read_csv(out / "trials.csv").set_index("trial")
    assert list(frame["state"]) == ["COMPLETE", "PRUNED", "PRUNED", "PRUNED"]
    assert list(frame["repeat_of"].fillna(-1)) == [-1, 0, 0, 0] and frame["accuracy"].iloc[1:].isna().all()
    assert frame["architecture"].nunique() == 1
    printed = capsys.readouterr().out
    assert "3 repeated an earlier trial's architecture" in printed and "Candidates per rung" not in printed
    assert "its last 3 candidates all repeated earlier ones" in printed
