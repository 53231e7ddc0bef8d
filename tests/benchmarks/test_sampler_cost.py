"""The sampler-cost benchmark's pure parts: synthetic trials of the default space's knobs, real proposals timed on a
small SQLite study, the table, and its stamped output."""

import numpy as np

from benchmarks.sampler_cost import KNOBS, main, measure, report, synthetic_trials
from optimizer.study.sampler_views import HISTORY_LIMIT


def test_synthetic_trials_have_the_knobs_their_blocks_use_within_their_ranges() -> None:
    trials = synthetic_trials(40, rng=np.random.default_rng(0))
    assert len(trials) == 40 and all(t.state.name == "COMPLETE" and len(t.values) == 2 for t in trials)
    for t in trials:
        blocks = t.params["num_blocks"]
        assert {k for k in t.params if k.startswith("filters_")} == {f"filters_{b}" for b in range(1, blocks + 1)}
        assert all(KNOBS[k]._contains(KNOBS[k].to_internal_repr(v)) for k, v in t.params.items())
    assert len({t.params["num_blocks"] for t in trials}) > 1  # the draws vary


def test_measure_gives_a_row_per_size_from_one_growing_study(tmp_path) -> None:
    rows = measure([6, 3], repeats=1, seed=0, folder=tmp_path)
    assert [n for n, _, _ in rows] == [3, 6] and all(plain > 0 and bounded > 0 for _, plain, bounded in rows)
    text = report(rows)
    assert f"TPE, last {HISTORY_LIMIT}" in text.splitlines()[0] and len(text.splitlines()) == 4


def test_the_output_is_stamped(tmp_path, capsys) -> None:
    out = tmp_path / "cost.txt"
    assert main(["--sizes", "2", "--repeats", "1", "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == f"# command: python -m benchmarks.sampler_cost --sizes 2 --repeats 1 --out {out}"
    assert lines[3:] == capsys.readouterr().out.splitlines() and lines[4].split()[0] == "2"


def test_the_pair_is_archopt_s_tpe_unbounded_and_bounded() -> None:
    import optuna

    from benchmarks.sampler_cost import tpe_pair
    from optimizer.study.sampler_views import RecentTrialsSampler

    plain, bounded = tpe_pair(seed=0)
    assert isinstance(plain, optuna.samplers.TPESampler) and isinstance(bounded, RecentTrialsSampler)
