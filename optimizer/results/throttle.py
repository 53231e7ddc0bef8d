"""The one throttle of the run folder's outputs: a file rewritten within an interval is not rewritten yet.

The file's own age decides, not a timestamp in memory, so the worker processes of one search (see ``supervisor``)
share one cadence and a resumed run picks it up where the last one left it.
"""

from __future__ import annotations

import time
from pathlib import Path


def written_within(path: Path, *, seconds: float) -> bool:
    """Whether ``path`` exists and was last written less than ``seconds`` ago."""
    try:
        return time.time() - Path(path).stat().st_mtime < seconds
    except FileNotFoundError:
        return False
