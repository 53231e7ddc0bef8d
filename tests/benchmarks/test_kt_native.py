"""KerasTuner's per-trial overhead: what is left of each gap between trial starts once build and fit are taken out."""

import numpy as np

from benchmarks.kt_native import overheads


def test_overhead_is_the_gap_to_the_next_start_less_build_and_fit() -> None:
    clocks = {"start": [0.0, 10.0, 25.0], "build": [1.0, 2.0, 3.0], "fit": [8.0, 12.0, 9.0]}
    # The last trial has no next start, so it has no overhead.
    np.testing.assert_allclose(overheads(clocks), [10.0 - 1.0 - 8.0, 15.0 - 2.0 - 12.0])


def test_a_trial_whose_build_failed_has_no_fit_and_ends_the_pairs() -> None:
    clocks = {"start": [0.0, 10.0, 25.0], "build": [1.0, 2.0], "fit": [8.0]}
    np.testing.assert_allclose(overheads(clocks), [1.0])
