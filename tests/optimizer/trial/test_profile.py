"""The profile reads one real trial's own records (the search's Objective.evaluate), so it cannot drift from it."""

import keras
import numpy as np

from optimizer.data.datasets import Split
from optimizer.trial.budget import Budget
from optimizer.trial.objective import Objective
from optimizer.trial.profile import PARTS, format_profile, profile_candidate


def _build(hp) -> keras.Model:
    return keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(hp.Int("filters", 1, 8), 3),
                             keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])


def test_the_profile_is_the_trial_s_own_phases():
    rng = np.random.default_rng(0)
    x, y = rng.random((64, 8, 8, 1), dtype=np.float32), rng.integers(0, 3, 64)
    objective = Objective(build=_build, split=Split(x, y, x[:16], y[:16]),
                          budget=Budget(batch_size=8, timing_s=0.02, train_steps=20))
    row = profile_candidate(objective, {"filters": 4})
    assert set(PARTS) <= set(row) and all(row[p] >= 0 for p in PARTS)
    assert row["macs"] == 6 * 6 * 9 * 4 + 6 * 6 * 4 * 3  # the conv's and the dense kernel's MACs for one image
    assert row["step_ms"] > 0 and row["build"] > 0 and row["eval"] > 0
    table = format_profile({"tiny": row})
    assert table.splitlines()[2].startswith("tiny") and "fixed" in table.splitlines()[0]
