"""pareto.png's labels: the trial numbers that fit without overlapping, the most accurate always among them."""

import pandas as pd

from optimizer.results.plot import labelled, plot_front


def _front(points):
    return pd.DataFrame([{"trial": i, "step_time_ms": ms, "accuracy": acc, "state": "COMPLETE", "is_pareto": True}
                         for i, (ms, acc) in enumerate(points)])


def test_members_far_apart_are_all_labelled_and_crowded_ones_are_thinned():
    apart = _front([(5, 0.5), (20, 0.7), (100, 0.9)])
    assert sorted(labelled(apart, span=apart)) == [0, 1, 2]
    crowded = _front([(5, 0.5), (14.0, 0.849), (14.2, 0.850), (14.5, 0.851), (100, 0.9)])
    kept = labelled(crowded, span=crowded)
    assert 4 in kept and 0 in kept and len([i for i in kept if i in (1, 2, 3)]) == 1


def test_the_plot_is_written_with_thinned_labels(tmp_path):
    frame = _front([(5, 0.5), (14.0, 0.849), (14.2, 0.850), (100, 0.9)])
    plot_front(frame, tmp_path / "pareto.png", title="t")
    assert (tmp_path / "pareto.png").stat().st_size > 1000
