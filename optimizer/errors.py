"""The two kinds of failure archopt tells apart, as KerasTuner does.

``CandidateFailed`` fails one trial and the study goes on; ``ArchoptError`` stops
the run with a one-line message for the user (bad input, missing data, an
unreachable storage) and never a traceback.
"""


class ArchoptError(Exception):
    """Stop the run: the message is one line that names the bad value."""


class DataError(ArchoptError):
    """A dataset could not be found or read."""


class CandidateFailed(Exception):
    """This candidate cannot be built, timed or trained; only its trial fails."""
