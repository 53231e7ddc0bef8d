"""How many trials a search runs: 500 by default, but no limit under --timeout (a night is a night, however fast)."""

import optuna
import pytest

from optimizer.defaults import NO_TRIAL_LIMIT, TRIALS
from optimizer.study.progress import ProgressBar
from tests.helpers import search_plan


@pytest.mark.parametrize(
    ("flags", "n_trials"),
    [
        ((), TRIALS),
        (("--timeout", "8h"), NO_TRIAL_LIMIT),
        (("--timeout", "8h", "--trials", "20"), 20),
        (("--trials", "7"), 7),
    ],
)
def test_the_trial_limit_the_command_line_gives(tmp_path, flags, n_trials) -> None:
    assert search_plan(tmp_path, *flags).n_trials == n_trials


def test_without_a_limit_the_progress_bar_counts_trials(seed) -> None:
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=optuna.samplers.RandomSampler(seed=seed))
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1.0), n_trials=3)
    bar = ProgressBar(study, target=NO_TRIAL_LIMIT, timeout=3600.0, enabled=False)
    bar.update(study, study.trials[-1])
    assert bar.bar.total is None and bar.bar.n == 3
    bar.close()
