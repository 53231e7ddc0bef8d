"""The command line itself: its version, each command's help, and defaults that have one home."""

import dataclasses
import importlib.metadata

import pytest

from optimizer import cli, defaults
from optimizer.study.run_config import RunConfig
from optimizer.trial.budget import Budget
from tests.helpers import search_plan

RUN_COMMANDS = ("export", "pareto", "retime", "report")  # the commands that read a run folder


def help_text(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_:
        cli.main([*argv, "--help"])
    assert exit_.value.code == 0
    return capsys.readouterr().out


def test_version_comes_from_the_package_metadata(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"archopt {importlib.metadata.version('archopt')}"


@pytest.mark.parametrize("command", [(), *((name,) for name in cli.COMMANDS)])
def test_every_help_opens_with_a_sentence_and_shows_an_example(capsys, command):
    text = help_text(capsys, *command)
    description = text.split("\n\n")[1]  # after the usage
    assert description[0].isupper() and description.rstrip().endswith("."), description
    examples = text[text.lower().rindex("example"):]
    assert f"archopt {command[0] if command else 'search'} " in examples, examples


@pytest.mark.parametrize("command", RUN_COMMANDS)
def test_the_run_folder_is_spelled_run_in_every_command(capsys, command):
    text = help_text(capsys, command)
    assert " RUN" in text.split("\n\n")[0] and "RUN_DIR" not in text and "run_dir" not in text
    assert "--storage URL" in text and "$ARCHOPT_DB" in text


def test_search_help_lists_choices_and_shows_defaults(capsys):
    text = " ".join(help_text(capsys, "search").split())  # argparse wraps lines anywhere
    assert "--dataset {mnist,fashion_mnist,cifar10}" in text and "--sampler {tpe,nsga2,gp,random}" in text
    for flag, default in (("--seed SEED", 0), ("--batch-size BATCH_SIZE", 64), ("--max-step-ms MAX_STEP_MS", 1000.0)):
        after = text[text.index(f"{flag} ", text.index("options:")):]
        assert f"(default: {default})" in after[: after.index(" --", 3)], flag


def test_the_epochs_and_the_train_steps_are_refused_together(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["search", "--epochs", "2", "--train-steps", "100"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1 and "not allowed with" in err, err


def test_search_defaults_are_the_budget_and_run_config_defaults(tmp_path):
    """One home for each default: a command line without flags measures what Budget() and RunConfig say."""
    config = search_plan(tmp_path).config
    assert config.budget == Budget()
    fields = {field.name: field.default for field in dataclasses.fields(RunConfig)}
    assert (config.val_size, config.train_size, config.seed) == (fields["val_size"], fields["train_size"], 0)


def test_the_sampler_names_are_the_samplers_module_names():
    from optimizer.study import samplers

    assert defaults.SAMPLERS == samplers.SAMPLERS and defaults.DEFAULT_SAMPLER == samplers.DEFAULT_SAMPLER
