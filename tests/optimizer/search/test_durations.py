import pytest

from optimizer.search.durations import parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("30m", 1800), ("8h", 28800), ("1h30m", 5400), ("1.5h", 5400), ("2d", 172800), (" 45s ", 45)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "10x", "5m3", "-5m", "0", "h"])
def test_bad_durations_name_the_value(text: str) -> None:
    with pytest.raises(ValueError, match="`--timeout` must be"):
        parse_duration(text)
