"""The timing benchmark's pure parts: which candidates it times, and how two processes' timings are compared."""

import math

import pytest

from benchmarks.timing import choose, figures


def test_the_varied_candidates_span_the_costs_and_the_random_ones_are_the_others() -> None:
    pool = [{"params": {"i": i}, "macs": m} for i, m in enumerate([50, 10, 40, 20, 30, 60, 70])]
    varied, random = choose(pool, varied=3, random=2, seed=0)
    assert [c["macs"] for c in varied] == [10, 40, 70]  # the cheapest, the median, the dearest
    assert len(random) == 2 and not {c["macs"] for c in random} & {10, 40, 70}
    assert choose(pool, varied=3, random=2, seed=0) == (varied, random)  # seeded


def test_figures_compare_the_varied_by_ratio_and_the_random_by_rank() -> None:
    first = [{"median_ms": ms, "wall_s": 2.0} for ms in [10.0, 20.0, 1.0, 2.0, 3.0, 4.0]]
    second = [{"median_ms": ms, "wall_s": 4.0} for ms in [11.0, 20.0, 1.5, 2.5, 3.5, 3.8]]
    numbers = figures(first, second, varied=2)
    assert numbers["median_ratio"] == pytest.approx((10 / 11 + 1) / 2)
    assert numbers["worst_disagreement"] == pytest.approx(1 / 11)
    assert numbers["random_candidates"] == 4 and numbers["spearman"] == pytest.approx(1.0)
    assert numbers["step_ms_range"] == [1.0, 20.0] and numbers["wall_s_per_model_median"] == 3.0
    assert math.isnan(figures(first[:4], second[:4], varied=2)["spearman"])  # two random ones rank nothing
