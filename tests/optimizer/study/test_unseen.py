"""Every sampler proposes unseen, buildable networks, and runs past two NSGA-II generations with repeats and failures.

The studies are real (SQLite), the samplers Optuna's own, the networks real Keras models; the objective scores them
from their knobs instead of training, so that 50 trials per sampler take seconds.
"""

import importlib.util

import keras
import keras_tuner as kt
import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from optimizer.cli import main
from optimizer.errors import CandidateFailed
from optimizer.space.candidate import build_candidate
from optimizer.space.hparams import OptunaHyperParameters
from optimizer.study.samplers import SAMPLERS, make_sampler
from optimizer.study.storage import make_storage
from optimizer.study.study import DIRECTIONS
from optimizer.study.unseen import PROPOSAL, UnseenSampler
from optimizer.trial import repeats
from optimizer.trial.draft import Drafter, DraftTrial
from search_spaces.default_cnn import DefaultCNN
from tests.helpers import INERT_SPACE, search_argv

UNITS = [8, 16, 24, 32, 48]


pytestmark = pytest.mark.usefixtures("frozen_gc")  # each draft resets Keras with a full collection


def _build(hp: kt.HyperParameters) -> keras.Model:
    """120 knob settings: 8 the space refuses (its geometry), 8 that fail their trial."""
    units, depth = hp.Choice("units", UNITS), hp.Int("depth", 1, 3)
    activation, dropout = hp.Choice("activation", ["relu", "tanh"]), hp.Choice("dropout", [0.0, 0.5])
    bias = hp.Boolean("bias")
    if units == 8 and depth == 3:
        raise kt.errors.FailedTrialError("too narrow for three layers")  # as check_feasible refuses geometry
    layers = [keras.Input((6,))]
    for _ in range(depth):
        layers.append(keras.layers.Dense(units, activation=activation, use_bias=bias))
    if dropout:
        layers.append(keras.layers.Dropout(dropout))
    return keras.Sequential([*layers, keras.layers.Dense(3, activation="softmax")])


def _answer_repeat(trial: optuna.Trial, build) -> None:
    """As archopt's objective, without training: the proposal drafted before the build resets Keras, a repeat
    answered after it."""
    trial.relative_params
    model = build_candidate(build, OptunaHyperParameters(trial))
    architecture = repeats.architecture_key(model)
    trial.set_user_attr(repeats.ARCHITECTURE, architecture)
    earlier = repeats.earlier_trial(trial, architecture=architecture, device=None)
    if earlier is not None:
        trial.set_user_attr(repeats.REPEAT_OF, earlier.number)
        raise repeats.answered(earlier)


def _objective(trial: optuna.Trial) -> tuple[float, float]:
    """A repeat is answered, a too-wide candidate fails its trial, the others score by their knobs."""
    _answer_repeat(trial, _build)
    if trial.params["units"] == 48 and trial.params["depth"] == 3:
        raise CandidateFailed("over max_step_ms")
    speed = trial.params["units"] * trial.params["depth"]
    return 0.5 + 0.001 * speed + (0.01 if trial.params["activation"] == "relu" else 0.0), float(speed)


def _available(name: str) -> bool:
    return name != "gp" or all(importlib.util.find_spec(m) for m in ("torch", "scipy"))


@pytest.mark.slow
@pytest.mark.parametrize("name", SAMPLERS)
def test_every_sampler_runs_past_two_nsga2_generations_proposing_unseen_networks(name, tmp_path):
    if not _available(name):
        pytest.skip("--sampler gp needs PyTorch (pip install 'archopt[gp]')")
    study = optuna.create_study(storage=make_storage(f"sqlite:///{tmp_path / 's.db'}"), directions=list(DIRECTIONS),
                                sampler=make_sampler(name, seed=0))
    study.sampler.drafter = Drafter(_build, device=None)
    for params in ({"units": 16, "depth": 1, "activation": "relu", "dropout": 0.0, "bias": True},) * 2:
        study.enqueue_trial(params)  # a fixed trial is never redrawn: the second is a repeat, as a retried one is
    study.optimize(_objective, n_trials=52, catch=(CandidateFailed,))

    trials = study.get_trials()
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    proposed = [t for t in trials if t.number >= 2]
    assert len(trials) == 52 and len(complete) >= 41  # two generations of 20 and into the third
    assert [t.user_attrs.get(repeats.REPEAT_OF) for t in trials[:2]] == [None, 0]
    assert not [t for t in proposed if repeats.is_repeat(t)]  # every proposal an unseen network
    assert not [t for t in trials if t.params["units"] == 8 and t.params["depth"] == 3]  # refused: never a trial
    assert [t.params for t in trials if t.state == TrialState.FAIL] == [
        p for p in (t.params for t in trials) if p["units"] == 48 and p["depth"] == 3
    ] != []
    assert all(t.user_attrs[PROPOSAL] for t in proposed) and PROPOSAL not in trials[0].user_attrs
    if name == "nsga2":
        sampler = study.sampler.wrapped.base
        assert max(sampler.get_trial_generation(study, t) for t in complete) >= 2


def test_a_space_seen_whole_falls_back_to_a_repeat_and_says_so(tmp_path):
    def only_one(hp):  # two spellings of one network: `units` changes nothing
        hp.Choice("units", [16, 24])
        return keras.Sequential([keras.Input((6,)), keras.layers.Dense(3, activation="softmax")])

    study = optuna.create_study(storage=make_storage(f"sqlite:///{tmp_path / 's.db'}"), directions=list(DIRECTIONS),
                                sampler=make_sampler("tpe", seed=0))
    study.sampler.drafter = Drafter(only_one, device=None)
    study.optimize(lambda t: _objective_for(t, only_one), n_trials=3)
    trials = study.get_trials()
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.PRUNED, TrialState.PRUNED]
    assert [t.user_attrs[PROPOSAL] for t in trials] == ["sampler"] + ["sampler (no unseen proposal found)"] * 2
    assert [t.user_attrs[repeats.REPEAT_OF] for t in trials[1:]] == [0, 0]


def _objective_for(trial, build):
    _answer_repeat(trial, build)
    return 0.5, 1.0


def test_a_draft_the_default_space_refuses_is_not_built(tmp_path):
    study = optuna.create_study(storage=make_storage(f"sqlite:///{tmp_path / 's.db'}"), directions=list(DIRECTIONS))
    drafter = Drafter(DefaultCNN(input_shape=(28, 28, 1)).build, device=None)
    five_blocks = {"first_stride": 2, "num_blocks": 5, "downsample": "max"}

    def values(name, distribution):
        return five_blocks.get(name, distribution.choices[0] if hasattr(distribution, "choices") else distribution.low)

    draft = drafter(study, values, number=0)
    assert draft.refused and "below 1x1" in draft.refused and not draft.novel
    assert draft.params["num_blocks"] == 5 and draft.repeats is None
    assert drafter(study, lambda name, d: {**five_blocks, "num_blocks": 2}.get(name, values(name, d)), number=0).novel


def test_a_draft_trial_records_each_knob_once_and_answers_one_value_knobs_itself():
    asked = []
    trial = DraftTrial(lambda name, distribution: asked.append(name) or distribution.high)
    assert trial.suggest_int("n", 1, 4) == 4 and trial.suggest_int("n", 1, 4) == 4
    assert trial.suggest_categorical("fixed", ["only"]) == "only" and trial.suggest_float("lr", 0.1, 0.5) == 0.5
    assert asked == ["n", "lr"] and trial.params == {"n": 4, "fixed": "only", "lr": 0.5}


def test_the_sampler_without_a_drafter_is_the_wrapped_sampler(tmp_path):
    study = optuna.create_study(storage=make_storage(f"sqlite:///{tmp_path / 's.db'}"), directions=list(DIRECTIONS),
                                sampler=UnseenSampler(optuna.samplers.RandomSampler(seed=3)))
    plain = optuna.create_study(directions=list(DIRECTIONS), sampler=optuna.samplers.RandomSampler(seed=3))
    for s in (study, plain):
        s.optimize(lambda t: (t.suggest_float("x", 0, 1), t.suggest_int("k", 0, 9)), n_trials=5)
    assert [t.params for t in study.trials] == [t.params for t in plain.trials]
    assert not any(PROPOSAL in t.user_attrs for t in study.trials)


@pytest.mark.slow
def test_a_real_search_proposes_each_network_once_then_repeats(tmp_path, small_fashion_dir):
    space = tmp_path / "two.py"  # two networks, four spellings: `unused` changes nothing
    space.write_text(INERT_SPACE)
    out = tmp_path / "run"
    argv = search_argv(out, small_fashion_dir, "--space", f"{space}:build", "--trials", "3", "--no-progress")
    assert main(argv) == 0
    frame = pd.read_csv(out / "trials.csv").set_index("trial")
    assert list(frame["state"]) == ["COMPLETE", "COMPLETE", "PRUNED"]
    assert frame["units"].iloc[:2].nunique() == 2 and frame["repeat_of"].iloc[2] in (0, 1)
    assert frame["proposal"].iloc[2] == "sampler (no unseen proposal found)"
