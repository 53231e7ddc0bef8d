"""archopt's TPE reads only the last HISTORY_LIMIT finished trials: what it proposes equals TPE on those alone."""

import functools

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution

from optimizer.optuna_private import TrialsView
from optimizer.study.sampler_views import RecentTrialsSampler, recent_trials
from optimizer.study.samplers import make_sampler
from optimizer.study.storage import make_storage
from optimizer.study.study import DIRECTIONS

SPACE = {"x": FloatDistribution(0, 1), "k": CategoricalDistribution(["a", "b", "c"])}


def _trials(n: int, seed: int = 0) -> list[optuna.trial.FrozenTrial]:
    rng = np.random.default_rng(seed)
    return [
        optuna.trial.create_trial(params={"x": float(rng.random()), "k": str(rng.choice(["a", "b", "c"]))},
                                  distributions=SPACE, values=[float(rng.random()), float(rng.random())])
        for _ in range(n)
    ]


def _propose(study: optuna.Study) -> dict:
    trial = study.ask()
    return {name: trial._suggest(name, distribution) for name, distribution in SPACE.items()}


def test_recent_trials_keeps_the_last_finished_and_every_running_trial(tmp_path):
    study = optuna.create_study(storage=make_storage(f"sqlite:///{tmp_path / 's.db'}"), directions=list(DIRECTIONS))
    study.add_trials(_trials(12))
    running = study.ask()
    view = TrialsView(study, shown=functools.partial(recent_trials, limit=5))
    numbers = [t.number for t in view._get_trials(deepcopy=False, states=None, use_cache=False)]
    assert numbers == [7, 8, 9, 10, 11, running.number]
    assert [t.number for t in view.get_trials(deepcopy=False)] == numbers
    assert view.directions == study.directions and view._study_id == study._study_id


def test_bounded_tpe_proposes_what_tpe_proposes_on_the_recent_trials_alone(tmp_path):
    history = _trials(40)
    url = f"sqlite:///{tmp_path / 's.db'}"
    tpe = dict(seed=7, multivariate=True, group=True, constant_liar=True, n_startup_trials=5)
    full = optuna.create_study(storage=make_storage(url), study_name="full", directions=list(DIRECTIONS),
                               sampler=RecentTrialsSampler(optuna.samplers.TPESampler(**tpe), limit=15))
    full.add_trials(history)
    recent = optuna.create_study(directions=list(DIRECTIONS), sampler=optuna.samplers.TPESampler(**tpe))
    recent.add_trials(history[-15:])
    unbounded = optuna.create_study(directions=list(DIRECTIONS), sampler=optuna.samplers.TPESampler(**tpe))
    unbounded.add_trials(history)
    proposal = _propose(recent)
    assert _propose(full) == proposal
    assert _propose(unbounded) != proposal  # the bound changes what TPE reads, so the test can tell


def test_make_sampler_tpe_is_bounded():
    sampler = make_sampler("tpe", seed=0).wrapped._sampler  # under unseen and rung-aware: the bounded TPE
    assert isinstance(sampler, RecentTrialsSampler) and isinstance(sampler._sampler, optuna.samplers.TPESampler)


def test_gp_without_pytorch_is_refused_in_one_line_naming_the_extra():
    import importlib.util

    import pytest

    from optimizer.errors import ArchoptError

    if importlib.util.find_spec("torch") is not None:
        pytest.skip("PyTorch is installed here: --sampler gp works")
    refusal = r"sampler 'gp' needs torch, which is not installed: pip install 'archopt\[gp\]'"
    with pytest.raises(ArchoptError, match=refusal):
        make_sampler("gp")
