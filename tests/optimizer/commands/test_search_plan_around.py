"""`--around MODEL` on the command line: recorded as the space `around/stage:MODEL` (or `around:MODEL` with one
global width), resolved, and also a baseline."""

from pathlib import Path

import pytest

from optimizer.errors import ArchoptError
from tests.helpers import search_plan


def test_around_records_the_model_resolved_as_space_and_baseline(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    plan = search_plan(tmp_path, "--around", "nets/mine.py:build")
    model = f"{Path('nets/mine.py').resolve()}:build"
    assert plan.config.space == f"around/stage:{model}" and plan.baselines == (model,)
    assert search_plan(tmp_path, "--around", "pkg.nets:build").config.space == "around/stage:pkg.nets:build"
    widths = ("--around-widths", "global")
    assert search_plan(tmp_path, "--around", "pkg.nets:build", *widths).config.space == "around:pkg.nets:build"
    assert search_plan(tmp_path, "--around", "m.keras").baselines == (str(tmp_path / "m.keras"),)


def test_around_names_the_default_run_folder_after_the_model(tmp_path) -> None:
    from optimizer import cli
    from optimizer.commands.search import plan_from_args

    for widths in ("stage", "global"):
        args = cli.build_parser().parse_args(
            ["search", "--around", "search_spaces.tutorial:build", "--around-widths", widths])
        assert plan_from_args(args).run_dir == Path("results/fashion_mnist-around_tutorial")


@pytest.mark.parametrize(
    ("extra", "match"),
    [(["--space", "search_spaces.examples:TinyCNN"], "drop `--space search_spaces.examples:TinyCNN`"),
     (["--engine", "keras-tuner"], "needs `--engine optuna`")],
)
def test_around_with_another_space_or_engine_is_refused(tmp_path, extra, match) -> None:
    with pytest.raises(ArchoptError, match=match):
        search_plan(tmp_path, "--around", "m.py:build", *extra)


def test_around_widths_without_around_is_refused(tmp_path) -> None:
    with pytest.raises(ArchoptError, match="`--around-widths global` sets the widths of an --around search"):
        search_plan(tmp_path, "--around-widths", "global")
