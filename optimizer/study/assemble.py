"""Turning a RunConfig into live parts: data in memory, the search space, the objective, the study."""

from __future__ import annotations

import os
import socket
import zlib

import keras
import optuna

from optimizer.data.datasets import load_dataset, split_validation
from optimizer.measure.device import configure_threads, worker_tags
from optimizer.space.load import load_space
from optimizer.study.run_config import RunConfig
from optimizer.study.samplers import make_sampler
from optimizer.study.storage import fail_stale, is_shared, make_storage
from optimizer.study.study import open_study
from optimizer.study.unseen import UnseenSampler
from optimizer.trial.draft import Drafter
from optimizer.trial.objective import Objective


def load_split(config: RunConfig):
    """The dataset, decoded once, and its seeded validation split (the test set is left for export)."""

    dataset = load_dataset(config.dataset, data_dir=config.data_dir)
    split = split_validation(dataset, val_size=config.val_size, train_size=config.train_size, seed=config.seed)
    return dataset, split


def build_fn_for(config: RunConfig, dataset):

    return load_space(config.space, input_shape=dataset.input_shape, num_classes=dataset.num_classes)


def objective_for(config: RunConfig) -> Objective:


    configure_threads()
    dataset, split = load_split(config)
    keras.utils.set_random_seed(config.seed)
    return Objective(build=build_fn_for(config, dataset), split=split, budget=config.budget, tags=worker_tags())


def study_for(config: RunConfig, *, sampler: str, shared: bool | None = None) -> optuna.Study:
    """Open (or resume, or join) the study, failing the trials of dead workers so that they are retried.

    The sampler's seed moves on with the trials already run, so a resume explores anew; on a shared storage
    (``shared``; by default any but SQLite) it also depends on the worker, so that workers started together do not
    propose the same candidates.
    """

    study = open_study(
        storage=make_storage(config.storage), name=config.study, sampler=make_sampler(sampler, seed=config.seed)
    )
    fail_stale(study)
    offset = len(study.trials) + (worker_seed() if (is_shared(config.storage) if shared is None else shared) else 0)
    if offset:
        study.sampler = make_sampler(sampler, seed=(config.seed + offset) % 2**32)
    return study


def connect(study: optuna.Study, objective: Objective) -> None:
    """Let the study's sampler draft proposals in the objective's space, to keep only unseen, buildable ones."""
    if isinstance(study.sampler, UnseenSampler):
        study.sampler.drafter = Drafter(objective.build, device=objective.tags.get("device"))


def worker_seed() -> int:
    """A number that differs between the workers of a fleet (host and process id)."""

    return zlib.crc32(f"{socket.gethostname()}:{os.getpid()}".encode())
