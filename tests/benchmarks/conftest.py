"""The benchmarks' mains set Optuna's log level for their own process; a test that runs one gives it back."""

import optuna
import pytest


@pytest.fixture(autouse=True)
def optuna_verbosity():
    level = optuna.logging.get_verbosity()
    yield
    optuna.logging.set_verbosity(level)
