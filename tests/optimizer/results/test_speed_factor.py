"""A re-timing's sitting: which trials are its controls, and the factor they measure (pure)."""

import math

import pytest

from optimizer.results.speed_factor import Retimed, controls, factor, scaled


def test_controls_are_off_the_front_spread_over_the_step_times_fastest_first() -> None:
    own = {n: float(ms) for n, ms in enumerate([5, 1, 9, 3, 7, 2, 8, 4, 6, 10])}
    assert controls(own, front=[1, 5], n=4) == [3, 0, 4, 2]  # of 3, 4, ..., 10 ms: those of 3, 5, 7 and 9 ms
    assert controls(own, front=[1, 5], n=20) == [3, 7, 0, 8, 4, 6, 2, 9]  # all of them when fewer than n
    assert controls(own, front=own, n=4) == [] and controls(own, front=[], n=0) == []
    assert controls({0: math.nan, 1: math.inf, 2: 0.0, 3: 2.0}, front=[]) == [3]  # only timings that measure
    with pytest.raises(ValueError, match="non-negative integer"):
        controls(own, front=[], n=-1)


def test_the_factor_is_the_median_ratio_of_the_controls_and_scales_a_whole_pass() -> None:
    rounds = {0: [20.0, 22.0, 21.0], 1: [30.0, 33.0, 90.0], 2: [8.0, 8.0, 8.0], "base": [12.0, 12.0, 13.0]}
    own = {0: 10.0, 1: 20.0, 2: 4.0}
    assert factor(rounds, own=own, keys=[1, 2]) == pytest.approx((33 / 20 + 8 / 4) / 2)  # medians 33 and 8
    assert factor(rounds, own=own, keys=[]) == 1.0  # no controls: the figures as timed
    pass_ = scaled(rounds, own=own, keys=[0, 1, 2])  # ratios 2.1, 1.65, 2.0: the sitting ran 2x slow
    assert {r.factor for r in pass_.values()} == {2.0}
    assert pass_["base"].step_time_ms == 6.0 and pass_[0].record() == {
        "step_time_ms": 10.5, "step_time_rounds_ms": [20.0, 22.0, 21.0], "sitting_factor": 2.0
    }
    assert Retimed([3.0, 1.0, 2.0]).step_time_ms == 2.0  # without a factor: the median round
