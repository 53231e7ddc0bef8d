"""The memory benchmark's pure parts: a process tree's resident memory, the finished trials it polls, the search it
launches."""

import argparse
import os
import subprocess
import sys
from pathlib import Path

import optuna

from benchmarks.memory import EVERY, finished, search_command, tree_rss_mb


def test_a_tree_s_memory_counts_its_children() -> None:
    alone = tree_rss_mb(os.getpid())
    assert alone > 1  # MiB: this interpreter with pytest loaded
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        own = tree_rss_mb(child.pid)
        assert own > 0 and tree_rss_mb(os.getpid()) >= own  # the child's memory is in its parent's tree
    finally:
        child.communicate()
    assert tree_rss_mb(child.pid) == 0  # a process that ended holds nothing


def test_finished_counts_ended_trials_of_the_memory_study_and_zero_before_it_exists(tmp_path) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    assert finished(storage) == 0
    study = optuna.create_study(study_name="memory", storage=storage, directions=["maximize", "minimize"])
    study.tell(study.ask(), [0.5, 1.0])
    study.tell(study.ask(), state=optuna.trial.TrialState.FAIL)
    study.ask()  # still running
    assert finished(storage) == 2


def test_the_search_is_the_user_s_search_into_the_run_folder() -> None:
    args = argparse.Namespace(trials=300, trials_per_process=20, train_steps=20, run=Path("/tmp/run"),
                              out=Path("memory.txt"))
    command = search_command(args)
    assert command[1:4] == ["-m", "optimizer.cli", "search"]
    assert command[command.index("--out") + 1] == "/tmp/run" and "memory.txt" not in command
    assert int(command[command.index("--trials") + 1]) > args.trials + EVERY  # the repeat's trials fit in
