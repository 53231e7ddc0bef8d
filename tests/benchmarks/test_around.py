"""The around benchmark's pure parts: edits against the original, the front it exports, speed-ups, targets."""

import pandas as pd

from benchmarks.around import close_calls, compare, edits, moves, pick_front, targets, with_reseeds


def test_edits_name_only_the_knobs_that_differ_from_the_original():
    original = {"conv1.stride": 1, "width": 1.0, "pool1.pool": "max", "flatten.to_gap": False}
    assert edits(dict(original), original) == "as written"
    variant = {"conv1.stride": 2, "width": 0.5, "flatten.to_gap": False}  # pool1.pool gone with the stride
    assert edits(variant, original) == "conv1.stride=2, width=0.5"


def test_pick_front_keeps_one_per_network_and_spreads_over_step_time_with_the_most_accurate():
    front = pd.DataFrame({"trial": range(10), "step_ms": [1, 1, 2, 3, 4, 5, 6, 7, 8, 9],
                          "accuracy": [0.5, 0.5, 0.6, 0.7, 0.72, 0.74, 0.76, 0.78, 0.8, 0.79],
                          "architecture": ["a", "a", *"bcdefghi"]})
    assert list(pick_front(front, cap=20)["trial"]) == [0, 2, 3, 4, 5, 6, 7, 8, 9]
    chosen = pick_front(front, cap=3)
    assert len(chosen) == 3 and chosen["trial"].iloc[0] == 0 and 8 in set(chosen["trial"])


def test_compare_and_targets_against_the_original():
    variants = compare(pd.DataFrame({"trial": [0, 4, 7, 9], "test_accuracy": [0.920, 0.917, 0.921, 0.900],
                                     "step_ms": [30.0, 9.0, 20.0, 5.0]}))
    variants["edits"] = ["as written", "conv1.stride=2", "flatten.to_gap=True", "conv1.stride=2, width=0.25"]
    assert variants.set_index("trial").loc[4, "speedup"] == 3.33
    assert variants.set_index("trial").loc[9, "points"] == -2.0
    fast, better = targets(variants)
    assert "trial 4 (3.33x, -0.30 points)" in fast and "trial 9" not in fast
    assert "trial 7 (1.50x, +0.10 points)" in better and "trial 4" not in better
    table = moves(variants).set_index("edit")
    assert table.loc["conv1.stride=2", "variants"] == 2
    assert table.loc["conv1.stride=2", "best_speedup_within_0.5_points"] == 3.33
    assert table.loc["flatten.to_gap=True", "best_points_when_faster"] == 0.1


def test_no_variant_meets_a_target_says_none():
    variants = compare(pd.DataFrame({"trial": [0, 1], "test_accuracy": [0.92, 0.80], "step_ms": [30.0, 40.0]}))
    variants["edits"] = ["as written", "width=1.5"]
    assert targets(variants) == ["at least 3x faster within 0.5 points: NONE", "faster and at least as accurate: NONE"]


def test_close_calls_are_the_variants_a_second_seed_could_flip_and_the_original():
    variants = compare(pd.DataFrame({"trial": [0, 1, 2, 3, 4, 5], "step_ms": [30.0, 9.0, 9.0, 20.0, 20.0, 40.0],
                                     "test_accuracy": [0.920, 0.916, 0.905, 0.921, 0.910, 0.920]}))
    # 1: 3.33x at -0.4 (near -0.5); 2: 3.33x at -1.5 (far); 3: faster at +0.1 (near 0);
    # 4: faster at -1.0; 5: slower
    assert close_calls(variants) == [0, 1, 3]
    assert close_calls(variants[variants["trial"].isin([0, 2, 4, 5])]) == []


def test_with_reseeds_averages_the_trials_trained_twice():
    exported = pd.DataFrame({"trial": [0, 1, 2], "test_accuracy": [0.920, 0.916, 0.905]})
    both = with_reseeds(exported, pd.DataFrame({"trial": [0, 1], "test_accuracy": [0.922, 0.910], "seed": [1, 1]}))
    assert list(both["test_accuracy"]) == [0.921, 0.913, 0.905] and list(both["seeds"]) == [2, 2, 1]
    assert list(with_reseeds(exported, None)["test_accuracy"]) == [0.920, 0.916, 0.905]
