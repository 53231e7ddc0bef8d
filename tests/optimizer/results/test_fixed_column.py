"""trials.csv's fixed_s: a real search's trials record their cost outside the steps."""

import pandas as pd


def test_trials_csv_has_fixed_s_within_each_trials_wall_time(tiny_run):
    frame = pd.read_csv(tiny_run / "trials.csv")
    done = frame[frame["state"] == "COMPLETE"]
    assert len(done) >= 3
    assert (done["fixed_s"] > 0).all()
    # Outside the steps: under the trial's time plus the bookkeeping before it, at least its build.
    bookkeeping = done["bookkeeping_s"].fillna(0)
    assert (done["fixed_s"] < done["duration_s"] + bookkeeping).all()
    assert (done["fixed_s"] >= done["build_s"]).all()
    # Every trial after a process's first has bookkeeping before it; the first has none to count.
    assert done["bookkeeping_s"].iloc[1:].notna().all() and (done["bookkeeping_s"].iloc[1:] > 0).all()
