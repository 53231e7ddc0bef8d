"""The sampler-cost replay: every finished run of a sampler is proposed again, trial by trial, and the figures land in
the stamped output."""

import optuna

from benchmarks.harness import DONE
from benchmarks.sampling import main, proposal_seconds
from optimizer.study.study import DIRECTIONS


def _finished_run(folder, *, trials: int) -> None:
    """A run folder as ``run_search`` leaves it: ``trials`` finished trials."""
    study = optuna.create_study(study_name="any", directions=list(DIRECTIONS),
                                storage=f"sqlite:///{folder / 'study.db'}")
    for i in range(trials):
        study.add_trial(optuna.trial.create_trial(
            params={"width": 8 * (i + 1)}, distributions={"width": optuna.distributions.IntDistribution(8, 64)},
            values=[0.5 + i / 100, 10.0 + i]))
    (folder / DONE).write_text("done\n")


def test_each_trial_is_proposed_again(tmp_path) -> None:
    _finished_run(tmp_path, trials=3)
    trials = optuna.load_study(study_name="any", storage=f"sqlite:///{tmp_path / 'study.db'}").trials
    seconds = proposal_seconds(trials, sampler="random", seed=0)
    assert len(seconds) == 3 and all(s >= 0 for s in seconds)


def test_only_finished_runs_of_a_sampler_are_replayed_and_the_output_is_stamped(tmp_path, capsys) -> None:
    runs = tmp_path / "runs"
    for name, done in [("random-seed0", True), ("random-seed1", False), ("tpe-seed0", True)]:
        (runs / name).mkdir(parents=True)
        _finished_run(runs / name, trials=2)
        if not done:
            (runs / name / DONE).unlink()
    out = tmp_path / "sampling.txt"
    assert main(["--runs", str(runs), "--samplers", "random", "--out", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("# command: python -m benchmarks.sampling --runs ")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert len(lines) == 1 and lines[0].startswith("random: proposal time per trial, median over each run's trials: ")
    per_run = lines[0].split("trials: ")[1].split(" s (median")[0]
    assert "," not in per_run and float(per_run) >= 0  # one figure: seed1 is unfinished, tpe is not asked for
    assert capsys.readouterr().out.strip() == lines[0]
