"""The protocol benchmark's report: rank agreement of the old and new step times, and fit's time per step over each."""

import argparse

import numpy as np
import pytest

from benchmarks.protocol import report, spearman


def test_spearman_is_about_ranks_not_values() -> None:
    assert spearman(np.array([1.0, 2.0, 3.0]), np.array([10.0, 200.0, 3000.0])) == pytest.approx(1.0)
    assert spearman(np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0])) == pytest.approx(-1.0)


def test_the_report_has_the_correlation_the_median_ratio_and_a_line_per_fit_check() -> None:
    rows = [{"macs": 1_000, "old_ms": 2.0, "new_ms": 1.0, "fit_ms": None},
            {"macs": 2_000_000, "old_ms": 4.0, "new_ms": 3.0, "fit_ms": 3.3},
            {"macs": 3_000, "old_ms": 8.0, "new_ms": 2.0, "fit_ms": None}]
    args = argparse.Namespace(seed=7, train_steps=100, fit_repeats=3)
    lines = report(rows, args=args, wall_s=61.4).splitlines()
    assert "(seed 7," in lines[0] and "100-step budget" in lines[0] and "over 3 fresh" in lines[0]
    assert lines[1].startswith("Spearman rank correlation, old vs new protocol: 0.500")
    assert lines[2] == "median ratio new / old: 0.500; step times 1.00 to 3.00 ms"
    fit_lines = lines[5:-1]
    assert len(fit_lines) == 1 and fit_lines[0].split() == ["2,000,000", "4.00", "3.00", "3.30", "1.100", "0.825"]
    assert lines[-1] == "benchmark wall time: 61 s"
