"""Finalists: a few distinct front members trained with the export recipe and scored on validation before a search
ends, so that the front's accurate end is ranked as the user will train it. Selection (``select``) is pure; fleets
claim finalists through a trial attribute (docs/finalists.md says how, and why the claim's race is harmless)."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import socket
import time
from pathlib import Path
from typing import Any, Sequence

import optuna
from optuna.trial import FrozenTrial, TrialState

from optimizer.defaults import SEARCH_SHARE
from optimizer.optuna_private import overwrite_values
from optimizer.results import front
from optimizer.results.finalist_record import ACCURACY, EPOCHS, RECIPE, WEIGHTS, is_scored
from optimizer.study.run_config import RunConfig
from optimizer.study.storage import GRACE_S, HEARTBEAT_S, alive, make_storage
from optimizer.trial.repeats import ARCHITECTURE

CLAIM = "finalist_claim"
FOLDER = "finalists"
CLAIM_SETTLE_S = 1.0  # between writing a claim and re-reading it (shared storages only)
SPREAD_POWER = 2  # target i of K sits at (i / K) ** SPREAD_POWER of the front's log step-time range, from the top


@dataclasses.dataclass(frozen=True)
class Member:
    """What selection needs of a front member."""

    number: int
    accuracy: float
    step_time_ms: float
    structure: str  # the built network's digest, else its knobs: equal for the same network


def select(members: Sequence[Member], *, k: int) -> list[int]:
    """Up to ``k`` structurally distinct members: the most accurate first, then spread in log step time.

    Target ``i`` (1 <= i < k) lies a fraction ``(i / k) ** SPREAD_POWER`` of the way down the log step-time range
    from the slowest member, so the targets crowd the accurate end and never reach the fastest, least accurate one;
    each takes the unpicked member nearest to it in log step time. Pure.
    """
    distinct: dict[str, Member] = {}
    for member in sorted(members, key=lambda m: (-m.accuracy, m.step_time_ms, m.number)):
        distinct.setdefault(member.structure, member)  # the most accurate of each network
    pool = list(distinct.values())
    if k <= 0 or not pool:
        return []
    if k >= len(pool):
        return [m.number for m in pool]
    logs = {m.number: math.log(max(m.step_time_ms, 1e-9)) for m in pool}
    top, bottom = max(logs.values()), min(logs.values())
    picked = [pool[0]]
    for i in range(1, k):
        target = top - (top - bottom) * (i / k) ** SPREAD_POWER
        rest = [m for m in pool if m not in picked]
        picked.append(min(rest, key=lambda m: (abs(logs[m.number] - target), -m.accuracy)))
    return [m.number for m in picked]


def members_of(trials: Sequence[FrozenTrial], *, device: str | None) -> list[Member]:
    """The front of this device class (all trials' fronts for None) as selection's members."""
    mine = [t for t in trials if device is None or str(t.user_attrs.get("device", device)) == str(device)]
    numbers = front.pareto_numbers(mine)
    return [
        Member(t.number, t.values[0], t.values[1], str(t.user_attrs.get(ARCHITECTURE) or json.dumps(t.params,
                                                                                                   sort_keys=True)))
        for t in mine
        if t.number in numbers
    ]


def worker_id() -> dict:
    return {"host": socket.gethostname(), "pid": os.getpid()}


def claim_is_live(claim: Any, *, now: float, me: dict) -> bool:
    """Whether ``claim`` holds a finalist for another worker: not ours, refreshed within GRACE_S, its process alive."""
    if not isinstance(claim, dict) or {k: claim.get(k) for k in me} == me:
        return False
    if now - float(claim.get("time", 0)) > GRACE_S:
        return False
    return not (claim.get("host") == me["host"] and not alive(claim.get("pid")))


class Claims:
    """Claims of finalists in the study's storage, read past this process's cache of finished trials."""

    def __init__(self, study: optuna.Study, *, url: str, settle_s: float) -> None:
        self.study, self.settle_s, self.me = study, settle_s, worker_id()
        self.backend = make_storage(url)  # uncached: sees other workers' writes to finished trials
        self.study_id = self.backend.get_study_id_from_name(study.study_name)

    def attrs(self, number: int) -> dict:
        tid = self.backend.get_trial_id_from_study_id_trial_number(self.study_id, number)
        return self.backend.get_trial(tid).user_attrs

    def write(self, number: int) -> None:
        overwrite_values(self.study, {}, user_attrs={number: {CLAIM: {**self.me, "time": time.time()}}})

    def take(self, number: int, *, epochs: int) -> bool:
        """Claim finalist ``number`` unless it is scored or another worker holds it; True when this worker holds it."""
        attrs = self.attrs(number)
        if is_scored(attrs, epochs=epochs) or claim_is_live(attrs.get(CLAIM), now=time.time(), me=self.me):
            return False
        self.write(number)
        if self.settle_s:
            time.sleep(self.settle_s)
            return not claim_is_live(self.attrs(number).get(CLAIM), now=time.time(), me=self.me)
        return True

    def close(self) -> None:
        self.backend.engine.dispose()


def train_finalists(
    study: optuna.Study,
    *,
    config: RunConfig,
    run_dir: Path,
    k: int,
    epochs: int,
    device: str | None = None,
    deadline: float | None = None,
    shared: bool = False,
) -> list[int]:
    """Train and score the selected finalists this worker claims; returns the numbers it scored.

    ``deadline`` (``time.monotonic()``) stops starting finalists; those left are trained by the next run. ``shared``:
    other workers may run this study, so claims wait ``CLAIM_SETTLE_S`` before they are trusted.
    """
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    chosen = select(members_of(trials, device=device), k=k)
    by_number = {t.number: t for t in trials}
    todo = [n for n in chosen if not is_scored(by_number[n].user_attrs, epochs=epochs)]
    if not todo:
        return []
    claims = Claims(study, url=config.storage, settle_s=CLAIM_SETTLE_S if shared else 0.0)
    done: list[int] = []
    try:
        for i, number in enumerate(todo):
            if deadline is not None and time.monotonic() >= deadline:
                print(f"--timeout reached: {len(todo) - i} finalist(s) left for the next run of this search.")
                break
            if claims.take(number, epochs=epochs):
                if _train_one(study, by_number[number], config=config, run_dir=run_dir, epochs=epochs, claims=claims):
                    done.append(number)
    finally:
        claims.close()
    return done


def _train_one(study, trial: FrozenTrial, *, config: RunConfig, run_dir: Path, epochs: int, claims: Claims) -> bool:
    """Train one finalist as an export does, less the validation images; store its score, recipe and weights."""
    import keras  # TensorFlow only here: the supervisor imports the search module, which imports this one

    from optimizer.data.augment import for_dataset
    from optimizer.data.datasets import split_validation
    from optimizer.errors import CandidateFailed
    from optimizer.results.export import retrain
    from optimizer.results.rebuild import rebuild_model
    from optimizer.study.assemble import load_split
    from optimizer.trial.evaluation import validation_accuracy

    dataset, _ = load_split(config)
    # The run's validation images held out, all other training images kept (not just --train-size).
    split = split_validation(dataset, val_size=config.val_size, train_size=None, seed=config.seed)
    print(f"finalist trial {trial.number}: {epochs} epoch(s) on {len(split.x_train):,} training images, "
          f"validation {trial.values[0]:.4f} in the search ...", flush=True)
    keras.utils.set_random_seed(config.seed)  # the same initial weights as an export of this trial
    try:
        model = rebuild_model(config, trial.params, input_shape=dataset.input_shape, num_classes=dataset.num_classes)
        recipe = retrain(model, split.x_train, split.y_train, batch_size=config.budget.batch_size, epochs=epochs,
                         augmentation=for_dataset(config.dataset), seed=config.seed, verbose=0,
                         callbacks=[_heartbeat(claims, number=trial.number)])
        score = validation_accuracy(model, split)
    except CandidateFailed as error:
        print(f"finalist trial {trial.number} failed: {error}")
        return False
    path = Path(run_dir) / FOLDER / f"trial_{trial.number}.keras"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.keras")
    model.save(tmp)
    os.replace(tmp, path)  # a run killed mid-save leaves no half file under the final name
    recipe |= {"epochs": epochs, "batch_size": config.budget.batch_size, "train_images": len(split.x_train),
               "split": "training split less the validation images", "seed": config.seed}
    overwrite_values(study, {}, user_attrs={trial.number: {
        ACCURACY: score, EPOCHS: epochs, RECIPE: recipe, WEIGHTS: f"{FOLDER}/{path.name}",
    }})
    print(f"finalist trial {trial.number}: validation accuracy {score:.4f} after {epochs} epoch(s)", flush=True)
    keras.backend.clear_session()
    return True


def reserve_s(timeout: float | None, *, k: int, share: float = 1 - SEARCH_SHARE) -> float:
    """Seconds of ``timeout`` kept for the finalists: ``share`` of it (what the search leaves) when there are any to
    train, else none."""
    return 0.0 if timeout is None or k <= 0 else timeout * share


def _heartbeat(claims: Claims, *, number: int) -> Any:
    """A Keras callback that refreshes the claim every HEARTBEAT_S, so a live worker's claim never goes stale."""
    import keras

    class Heartbeat(keras.callbacks.Callback):
        last = time.monotonic()

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            if time.monotonic() - self.last >= HEARTBEAT_S:
                claims.write(number)
                self.last = time.monotonic()

    return Heartbeat()
