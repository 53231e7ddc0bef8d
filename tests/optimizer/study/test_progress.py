"""The console of a search: Optuna's log lines and warnings go to the run folder's log file, and -v shows them too."""

import warnings

import optuna
import pytest

from optimizer.study.progress import LOG_FILE, console_log, log_to


def log_and_warn(message: str) -> None:
    optuna.logging.get_logger("optuna.study.study").info(f"Trial 0 finished: {message}")
    warnings.warn(f"experimental: {message}", optuna.exceptions.ExperimentalWarning, stacklevel=1)


@pytest.mark.parametrize("verbose", [False, True])
def test_optuna_lines_and_warnings_go_to_the_log_file_held_until_the_folder_exists(tmp_path, capfd, verbose):
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        with console_log(verbose=verbose):
            log_and_warn("before the folder")  # held: the run folder does not exist yet
            log_to(tmp_path / LOG_FILE)
            log_and_warn("after")
    log = (tmp_path / LOG_FILE).read_text()
    assert log.index("Trial 0 finished: before the folder") < log.index("Trial 0 finished: after")
    assert "ExperimentalWarning: experimental: after" in log and log.startswith("[I 20")
    console = capfd.readouterr().err
    assert ("Trial 0 finished: after" in console) == verbose and ("ExperimentalWarning" in console) == verbose


def test_the_console_is_optunas_again_after_the_search(tmp_path, capfd):
    with console_log(), warnings.catch_warnings():
        log_to(tmp_path / LOG_FILE)
    optuna.logging.get_logger("optuna.study.study").info("Trial 1 finished")
    assert "Trial 1 finished" in capfd.readouterr().err
