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


def check_positive(**values: float) -> None:
    """Refuse a value that is not a positive number (a bool is not a number here) with a one-line error."""
    for name, value in values.items():
        if isinstance(value, bool) or not value > 0:
            raise ArchoptError(f"`{name}` must be positive, but got {value!r}.")


def check_positive_int(**values: object) -> None:
    """Refuse a value that is not a positive integer (a bool is not one) with a one-line error."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ArchoptError(f"`{name}` must be a positive integer, but got {value!r}.")


def first_line(error: BaseException, *, limit: int = 300) -> str:
    """The first non-empty line of an error's message (its type when there is none): for the user's one-line errors."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0][:limit] if lines else type(error).__name__


def squeezed(error: BaseException, *, limit: int = 300) -> str:
    """The whole message on one line (runs of whitespace as one space): for a failed trial's reason, where
    TensorFlow's and Keras' multi-line messages keep their key detail on a later line."""
    text = " ".join(str(error).split())
    return text[:limit] if text else type(error).__name__
