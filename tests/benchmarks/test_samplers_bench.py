"""The sampler benchmark's pure parts: which samplers it compares, and its verdict over curves and counts built
here (no search)."""

import pandas as pd

from benchmarks.samplers import available_samplers, main, verdict


def test_gp_is_compared_only_where_torch_and_scipy_import() -> None:
    assert available_samplers(find_spec=lambda name: object()) == ["tpe", "nsga2", "random", "gp"]
    assert available_samplers(find_spec=lambda name: None if name == "torch" else object()) == [
        "tpe", "nsga2", "random"]


def curves_frame() -> pd.DataFrame:
    rows = []
    for sampler, seed, values in [("tpe", 0, [0.1, 0.5]), ("tpe", 1, [0.3, 0.6]),
                                  ("random", 0, [0.2, 0.7]), ("random", 1, [0.2, 0.9])]:
        rows += [{"sampler": sampler, "seed": seed, "elapsed_s": 60.0 * (i + 1), "trials": 10 * (i + 1),
                  "hypervolume": v, "overhead_s_per_trial": 0.1} for i, v in enumerate(values)]
    return pd.DataFrame(rows)


def counts_frame() -> pd.DataFrame:
    return pd.DataFrame({"sampler": ["tpe", "tpe", "random", "random"], "seed": [0, 1, 0, 1],
                         "trials": [100, 120, 80, 90], "repeats": [2, 4, 0, 0], "repeat_share": [0.02, 0.04, 0, 0],
                         "distinct": [98, 116, 80, 90], "failed": [0, 1, 0, 0]})


def test_the_verdict_gives_each_samplers_final_and_mean_hypervolume_and_its_repeats() -> None:
    text = verdict(curves_frame(), counts_frame())
    assert "tpe: 2 seeds, final hypervolume median 0.5500 [0.5000, 0.6000], mean over the run 0.3750" in text
    assert "random: 2 seeds, final hypervolume median 0.8000 [0.7000, 0.9000], mean over the run 0.5000" in text
    assert "110 trials, 3 repeats (3.0%), 107 distinct networks, 0 failed" in text
    assert text.splitlines()[-1] == "best final median hypervolume: random (tpe: 0.5500)"


def test_a_verdict_over_no_run_says_so() -> None:
    assert verdict(curves_frame().iloc[:0], counts_frame().iloc[:0]) == "no finished run."


def test_a_summary_without_finished_runs_writes_empty_tables_and_stamps_the_command(tmp_path) -> None:
    assert main(["--out", str(tmp_path), "--summarize-only"]) == 0
    assert pd.read_csv(tmp_path / "samplers.csv").empty and not (tmp_path / "samplers.txt").exists()
    log = (tmp_path / "commands.log").read_text()
    assert log.startswith("# command: python -m benchmarks.samplers --out ") and "--summarize-only" in log
