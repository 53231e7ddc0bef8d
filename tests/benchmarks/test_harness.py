"""The benchmarks' harness: the resumable CSV (rows survive a restart, only missing ones are pending), a search launched
once, a run's study opened."""

import optuna
import pandas as pd

from benchmarks.harness import DONE, Ledger, finished_runs, run_search, run_study


def test_rows_added_are_on_disk_and_a_new_ledger_resumes_from_them(tmp_path) -> None:
    path = tmp_path / "rows.csv"
    ledger = Ledger(path, key="trial", columns=["accuracy"])
    assert list(ledger.frame.columns) == ["trial", "accuracy"] and ledger.missing([3, 1]) == [3, 1]
    ledger.add({"trial": 3, "accuracy": 0.9})
    assert pd.read_csv(path).to_dict("records") == [{"trial": 3, "accuracy": 0.9}]  # written at once
    again = Ledger(path, key="trial")
    assert again.missing([1, 3, 5]) == [1, 5]
    members = pd.DataFrame({"trial": [3, 4], "step_ms": [1.0, 2.0]})
    assert again.pending(members)["trial"].tolist() == [4]
    again.add({"trial": 4, "accuracy": 0.8})
    assert pd.read_csv(path)["trial"].tolist() == [3, 4] and again.pending(members).empty


def test_a_log_line_is_printed_and_appended(tmp_path, capsys) -> None:
    from benchmarks.harness import log_line

    out = tmp_path / "log.txt"
    log_line({"trial": 3, "test": 0.92}, out=out, prefix="run ")
    log_line({"trial": 4}, out=out)
    assert out.read_text() == "run trial=3 test=0.92\ntrial=4\n"
    assert capsys.readouterr().out == "run trial=3 test=0.92\ntrial=4\n"


def test_a_search_that_fails_is_not_marked_done_and_a_done_one_is_not_run_again(tmp_path) -> None:
    runs = tmp_path / "runs"
    folder = run_search(runs / "bad", args=["--dataset", "no_such_dataset"], log=tmp_path / "bad.log")
    assert not (folder / DONE).exists() and "no_such_dataset" in (tmp_path / "bad.log").read_text()
    assert finished_runs(runs) == {}
    (runs / "good").mkdir()
    (runs / "good" / DONE).write_text("earlier\n")
    assert run_search(runs / "good", args=["--dataset", "no_such_dataset"], log=tmp_path / "good.log") == runs / "good"
    assert not (tmp_path / "good.log").exists()  # a finished run is kept, not launched again
    assert finished_runs(runs) == {"good": runs / "good"}


def test_run_study_opens_the_folder_s_only_study(tmp_path) -> None:
    optuna.create_study(study_name="any-name", storage=f"sqlite:///{tmp_path / 'study.db'}").enqueue_trial({})
    assert run_study(tmp_path).study_name == "any-name" and len(run_study(tmp_path).trials) == 1


def test_an_output_is_stamped_then_echoed_lines_follow_and_append_keeps_earlier_sittings(tmp_path, capsys) -> None:
    import argparse

    from benchmarks.harness import add_out, echo, stamp, write_output

    parser = argparse.ArgumentParser()
    add_out(parser, default=tmp_path / "bench.txt")
    assert parser.parse_args([]).out == tmp_path / "bench.txt"
    assert parser.parse_args(["--out", "x.txt"]).out.name == "x.txt"
    header = stamp(module="benchmarks.bench", argv=["--out", "x.txt"])
    out = write_output(tmp_path / "new" / "bench.txt", "", header=header)  # the folder is made
    assert out.read_text() == header and header.startswith("# command: python -m benchmarks.bench --out x.txt\n")
    echo("a 1", out=out)
    echo("b 2\nc 3", out=out)
    assert out.read_text() == header + "a 1\nb 2\nc 3\n" and capsys.readouterr().out == "a 1\nb 2\nc 3\n"
    write_output(out, "d 4", header=header, append=True)
    assert out.read_text() == header + "a 1\nb 2\nc 3\n" + header + "d 4\n"
    write_output(out, "e 5\n", header="# h\n")
    assert out.read_text() == "# h\ne 5\n"
