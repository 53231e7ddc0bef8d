"""Finding a run's trial and rebuilding its architecture."""

from pathlib import Path

import pytest

from optimizer.errors import ArchoptError
from optimizer.results.rebuild import trial_model


def test_a_folder_that_is_no_run_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ArchoptError, match="is not an archopt run folder: run.json is missing"):
        trial_model(tmp_path, trial=3)
