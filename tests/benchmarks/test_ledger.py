"""The benchmarks' resumable CSV: rows written one by one survive a restart, and only the missing ones are pending."""

import pandas as pd

from benchmarks.ledger import Ledger


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
    from benchmarks.ledger import log_line

    out = tmp_path / "log.txt"
    log_line({"trial": 3, "test": 0.92}, out=out, prefix="run ")
    log_line({"trial": 4}, out=out)
    assert out.read_text() == "run trial=3 test=0.92\ntrial=4\n"
    assert capsys.readouterr().out == "run trial=3 test=0.92\ntrial=4\n"
