"""Export a chosen trial: retrain it on the whole training split, test it once, save it three ways."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from optimizer.data.augment import Augmentation, augment, for_dataset
from optimizer.defaults import EXPORT_EPOCHS
from optimizer.errors import ArchoptError, check_positive_int
from optimizer.results import finalist_record
from optimizer.results.rebuild import complete_trial, open_run, rebuild_model
from optimizer.results.retime import ATTR, first_step_time
from optimizer.study.assemble import load_split
from optimizer.trial.evaluation import accuracy, compile_for_outputs, recompute_batch_norm

SAVED_MODEL_SIGNATURE = "serving_default"


def export_trial(
    run_dir: Path, *, trial: int, out: Path, epochs: int = EXPORT_EPOCHS, augmented: bool = True,
    reuse_finalist: bool = False,
    storage: str | None = None,
) -> dict:
    """Write a SavedModel, model.keras and archopt.json for trial ``trial``; returns the JSON record.

    ``augmented`` retrains with the dataset's augmentation (``optimizer.data.augment``: flips for clothes and
    CIFAR-10, nothing for digits). ``reuse_finalist`` takes a finalist's weights, trained with the same recipe on the
    training split less validation, instead of retraining (``optimizer.results.finalists``).
    """
    check_positive_int(**{"--epochs": epochs})
    config, study = open_run(run_dir, storage=storage)
    frozen = complete_trial(study, number=trial)
    augmentation = for_dataset(config.dataset) if augmented else None
    weights = (  # refused before anything is written
        finalist_record.reusable_weights(frozen, run_dir=run_dir, epochs=epochs,
                                         augmentation=augmentation.describe() if augmentation else "none")
        if reuse_finalist else None
    )
    out = _make_folder(out)
    dataset, _ = load_split(config)
    keras.utils.set_random_seed(config.seed)
    model = rebuild_model(config, frozen.params, input_shape=dataset.input_shape, num_classes=dataset.num_classes)
    if weights is not None:
        schedule = _load_finalist(model, frozen, weights=weights)
    else:
        # The full training split (training + validation images): selection is over; the test set is
        # held back.
        schedule = retrain(
            model, dataset.x_train, dataset.y_train, batch_size=config.budget.batch_size, epochs=epochs,
            augmentation=augmentation, seed=config.seed,
        ) | {"weights": "retrained on the full training split"}
    record = _record(config, frozen, epochs=epochs, test_accuracy=accuracy(model, dataset.x_test, dataset.y_test))
    record |= schedule | step_time_record(study, frozen)
    save(model, out)
    (out / "archopt.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def _load_finalist(model: keras.Model, frozen, *, weights: Path) -> dict:
    """Load the finalist's weights into the rebuilt ``model``; returns its recipe for the record."""
    with warnings.catch_warnings():  # the finalist's trained optimizer state is not needed to serve or to test
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        model.load_weights(weights)
    model.optimizer.build(model.trainable_variables)  # saved whole, so that loading model.keras finds its variables
    recipe = frozen.user_attrs.get(finalist_record.RECIPE, {})
    keep = ("learning_rate", "learning_rate_schedule", "augmentation")
    return {k: recipe[k] for k in keep if k in recipe} | {
        "weights": "finalist (trained on training split less validation)",
        "finalist_validation_accuracy": frozen.user_attrs[finalist_record.ACCURACY],
        "finalist_train_images": recipe.get("train_images"),
    }


def retrain(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    batch_size: int,
    epochs: int,
    augmentation: Augmentation | None = None,
    seed: int = 0,
    verbose: int = 2,
    callbacks: Sequence[keras.callbacks.Callback] = (),
) -> dict:
    """Train a freshly built ``model`` as an export does; returns its schedule and augmentation for the record.

    The loss is chosen for what the model outputs, the learning rate decays to 0 along a cosine over the whole run,
    each epoch sees freshly augmented images (``augmentation``, drawn from ``seed``; None trains on ``x`` as it is), and
    the batch-norm statistics are recomputed for the final weights on the unaugmented training images.
    """
    compile_for_outputs(model, x)
    record = decay_learning_rate(model, steps=epochs * math.ceil(len(x) / batch_size))
    rng = np.random.default_rng(seed)
    for epoch in range(epochs):
        images = x if augmentation is None else augment(x, augmentation=augmentation, rng=rng)
        # One epoch per fit so each sees new copies; the cosine follows the optimizer's step count
        # across the calls.
        model.fit(images, y, batch_size=batch_size, initial_epoch=epoch, epochs=epoch + 1, verbose=verbose,
                  callbacks=list(callbacks))
    recompute_batch_norm(model, x, batch_size=batch_size)
    return record | {"augmentation": augmentation.describe() if augmentation else "none"}


def decay_learning_rate(model: keras.Model, *, steps: int) -> dict:
    """Recompile ``model`` with a cosine decay from its own learning rate to 0 over ``steps``; returns what it did.

    A constant rate leaves the weights wandering at the end of a short retraining; decaying it to 0 (as airbench and
    most fixed-budget recipes do) gained 1.0-2.6 points of test accuracy on front members after 5 epochs (README). An
    optimizer that already has a schedule keeps it: the space's author chose it. A fresh optimizer of the same class
    and settings takes the schedule: setting one on the built optimizer would untrack its rate variable, which a
    SavedModel then refuses to save.
    """
    config = model.optimizer.get_config()
    rate = config["learning_rate"]
    if not isinstance(rate, (int, float)):
        return {"learning_rate": "the model's own schedule"}
    decay = keras.optimizers.schedules.CosineDecay(initial_learning_rate=rate, decay_steps=steps)
    optimizer = type(model.optimizer).from_config(config | {"learning_rate": decay})
    model.compile(optimizer=optimizer, loss=model.loss, metrics=["accuracy"])
    return {"learning_rate": float(rate), "learning_rate_schedule": f"cosine decay to 0 over {steps} steps"}


def save(model: keras.Model, out: Path) -> None:
    """A TensorFlow SavedModel (serving_default takes image batches) and the .keras file beside it."""
    model.export(str(out), format="tf_saved_model", verbose=False)
    model.save(out / "model.keras")


def _record(config, frozen, *, epochs: int, test_accuracy: float) -> dict:
    keep = ("params", "macs", "step_time_ms", "accuracy", "device")
    return {
        "trial": frozen.number, "study": config.study, "dataset": config.dataset, "space": config.space,
        "knobs": frozen.params, "epochs": epochs, "test_accuracy": test_accuracy,
        "validation_accuracy": frozen.values[0], "step_time_ms": frozen.values[1],
        # How long the search trained it before scoring (successive halving: the top rung's steps).
        "search_steps_trained": frozen.user_attrs.get("steps_trained", config.budget.train_steps),
        "search_epochs": config.budget.epochs,
        **{k: v for k, v in frozen.user_attrs.items() if k in keep and k not in ("accuracy", "step_time_ms")},
    }


def step_time_record(study, frozen) -> dict:
    """The step time the CSVs show for this trial (its stored value), which timing it is, and the first timing."""
    retimed = str(frozen.number) in study.user_attrs.get(ATTR, {})
    return {"step_time_ms": frozen.values[1], "step_time_source": "re-timed" if retimed else "first",
            "step_time_first_ms": first_step_time(frozen)}


def _make_folder(out: Path) -> Path:
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ArchoptError(f"export folder `{out}` is not empty; choose a new folder.")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ArchoptError(f"cannot create export folder `{out}`: {error.strerror}.") from None
    return out


def serving_outputs(saved_model_dir: Path, images: np.ndarray) -> np.ndarray:
    """Run the SavedModel's serving_default signature, as a TF Serving client would."""
    loaded = tf.saved_model.load(str(saved_model_dir))
    signature = loaded.signatures[SAVED_MODEL_SIGNATURE]
    (output,) = signature(tf.constant(images, dtype=tf.float32)).values()
    return output.numpy()
