"""Building one candidate model from a search space: the single place Keras state is reset."""

from __future__ import annotations

import gc
from typing import Any, Callable

import keras
import keras_tuner as kt
import optuna

from optimizer.errors import ArchoptError, CandidateFailed, squeezed
from optimizer.space.hparams import OptunaHyperParameters

BuildFn = Callable[[kt.HyperParameters], Any]
DEFAULT_LEARNING_RATE = 1e-3


def reset_keras() -> None:
    """Drop every graph, layer name and cached function of earlier candidates.

    Called before each build (and by an --around space before it loads the model): hundreds of trials in one process
    would otherwise accumulate Keras' global state and memory.
    """
    # free_memory=False: Keras' own collection would come on top of ours. A full collection walks
    # every object TensorFlow and Keras created at import (0.4-0.6 s a trial on the 2-core CPU);
    # those live as long as the process, so the first reset moves them out of the collector's sight
    # (gc.freeze) and later ones take ~0.01 s.
    keras.backend.clear_session(free_memory=False)
    gc.collect()
    if not gc.get_freeze_count():
        gc.freeze()


def compile_default(model: keras.Model, *, learning_rate: float = DEFAULT_LEARNING_RATE) -> None:
    """Adam and sparse cross-entropy on integer labels, unless the space compiled the model itself."""
    if not model.compiled:
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )


def build_candidate(build: BuildFn, hp: kt.HyperParameters) -> keras.Model:
    """Build and compile one candidate; a candidate that cannot be built fails only its trial."""
    reset_keras()
    try:
        model = build(hp)
    except kt.errors.FatalError as error:
        raise ArchoptError(f"the search space stopped the run: {error}") from error
    except Exception as error:  # any build error is this candidate's, never the study's.
        raise CandidateFailed(f"build failed: {type(error).__name__}: {squeezed(error, limit=500)}") from error
    if not isinstance(model, keras.Model):
        raise CandidateFailed(f"build returned {type(model).__name__}, but a keras.Model was expected.")
    compile_default(model)
    return model


def rebuild(build: BuildFn, params: dict[str, Any]) -> keras.Model:
    """The candidate a trial with ``params`` built, freshly initialized: for exports, re-timings and benchmarks."""
    return build_candidate(build, OptunaHyperParameters(optuna.trial.FixedTrial(params)))
