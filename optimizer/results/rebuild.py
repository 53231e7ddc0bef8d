"""Finding a trial of a run folder and rebuilding its architecture from the stored knobs."""

from __future__ import annotations

from pathlib import Path

import keras
import optuna
from optuna.trial import TrialState

from optimizer.data.datasets import SPECS
from optimizer.errors import ArchoptError
from optimizer.space import around
from optimizer.space.candidate import rebuild
from optimizer.space.load import load_space
from optimizer.space.models import load_model
from optimizer.study import run_config
from optimizer.study.run_config import RunConfig
from optimizer.study.storage import normalize_url


def open_run(run_dir: Path, *, storage: str | None = None) -> tuple[RunConfig, optuna.Study]:
    """A finished or running run's settings and its study, loaded (not created) from the storage run.json records;
    ``storage``: the URL with the password run.json masks."""
    config = run_config.load(Path(run_dir), storage=storage)
    try:
        study = optuna.load_study(study_name=config.study, storage=normalize_url(config.storage))
    except Exception as error:  # a missing study or an unreachable storage
        raise ArchoptError(
            f"cannot open study {config.study!r} of run `{run_dir}`: {type(error).__name__}: {error}".splitlines()[0]
        ) from None
    return config, study


def complete_trial(study: optuna.Study, *, number: int) -> optuna.trial.FrozenTrial:
    """Trial ``number``, which must exist and have completed."""
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    if number not in trials:
        span = f"0-{max(trials)}" if trials else "none"
        raise ArchoptError(f"trial {number} does not exist in study {study.study_name!r} (its trials: {span}).")
    trial = trials[number]
    if trial.state != TrialState.COMPLETE:
        reason = trial.user_attrs.get("fail_reason", "no reason recorded")
        raise ArchoptError(f"trial {number} did not complete ({trial.state.name}: {reason}); pick one from pareto.csv.")
    return trial


def rebuild_model(config: RunConfig, params: dict, *, input_shape: tuple, num_classes: int) -> keras.Model:
    """The same architecture the trial built, freshly initialized and compiled."""
    build = load_space(config.space, input_shape=input_shape, num_classes=num_classes)
    return rebuild(build, params)


def trial_model(run_dir: Path, *, trial: int, storage: str | None = None) -> keras.Model:
    """Trial ``trial``'s architecture (untrained), for `explain RUN_DIR --trial N`."""
    config, study = open_run(run_dir, storage=storage)
    frozen = complete_trial(study, number=trial)
    spec = SPECS[config.dataset]
    return rebuild_model(config, frozen.params, input_shape=spec.image_shape, num_classes=spec.num_classes)


def around_original(run_dir: Path) -> tuple[str, keras.Model] | None:
    """The MODEL spec and model a `--around` run searched around; None for any other run."""
    config = run_config.load(Path(run_dir))
    parsed = around.parse(config.space)
    if parsed is None:
        return None
    spec, data = parsed[0], SPECS[config.dataset]
    # As the search saw it: a Sequential without an Input is built on the dataset's images.
    model = around.functional(load_model(spec), spec=spec, input_shape=data.image_shape, num_classes=data.num_classes)
    return spec, model
