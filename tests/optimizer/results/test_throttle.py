"""The outputs' one throttle: a file's own age decides."""

import os
import time

from optimizer.results.throttle import written_within


def test_a_file_is_throttled_only_within_the_interval_of_its_last_write(tmp_path) -> None:
    path = tmp_path / "trials.csv"
    assert not written_within(path, seconds=10)  # never written: due
    path.write_text("trial\n")
    assert written_within(path, seconds=10)
    old = time.time() - 11
    os.utime(path, (old, old))  # as another worker process would have left it 11 s ago
    assert not written_within(path, seconds=10) and written_within(path, seconds=60)
