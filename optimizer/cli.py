"""The `archopt` command line: parse argv, run one sub-command, turn errors into exit codes.

This is the only place that knows about argv and exit codes. Each sub-command
lives in `optimizer.commands.<name>` and exposes ``add_parser(subparsers)``,
which registers its flags and sets ``run=<callable(args) -> int>``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import logging
import os
import sys
import textwrap

from optimizer import interrupts

COMMANDS = ("search", "export", "explain", "pareto", "retime", "report")
DESCRIPTION = "Search CNN architectures for the front of validation accuracy against training step time."
EXAMPLE = """examples:
  archopt search --trials 20 --train-steps 100 --out results/quick   # a short first try
  archopt search --timeout 8h        # overnight, into results/fashion_mnist-default
  archopt report results/fashion_mnist-default
  archopt export results/fashion_mnist-default --trial 47 --out models/trial-47

`archopt COMMAND --help` describes each command."""
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


class _HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Examples as written, long description lines wrapped; each flag's default shown, unless it has none or its help
    names it."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        def fill(paragraph: str) -> str:  # an example's indented lines stay as written
            if any(line.startswith(" ") for line in paragraph.splitlines()):
                return paragraph
            return textwrap.fill(" ".join(paragraph.split()), width, initial_indent=indent, subsequent_indent=indent)

        return "\n\n".join(fill(paragraph) for paragraph in text.split("\n\n"))

    def _get_help_string(self, action: argparse.Action) -> str | None:
        unset = action.default is None or action.default is False or action.default in ([], argparse.SUPPRESS)
        if unset or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """argparse, but its usage errors are one line and exit 2 like every other bad input."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:
        self.exit(EXIT_ERROR, f"archopt: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="archopt", description=DESCRIPTION, epilog=EXAMPLE)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"optimizer.commands.{name}").add_parser(subparsers)
    return parser


def _version() -> str:
    try:
        return importlib.metadata.version("archopt")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `archopt` console script; returns the exit code."""
    # TensorFlow's C++ start-up chatter (CUDA probing, CPU features) is noise; errors still surface.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing notices: Keras' business, not the user's.
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # a supervisor re-runs the same command in workers
    from optimizer.errors import ArchoptError

    with interrupts.as_keyboard_interrupt():  # a scheduler's SIGTERM stops a command as Ctrl-C does
        try:
            if not _only_supervises(args):
                _import_tensorflow_quietly()
            return int(args.run(args) or 0)
        except ArchoptError as error:
            print(f"archopt: error: {error}", file=sys.stderr)
            return EXIT_ERROR
        except KeyboardInterrupt:
            print("archopt: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        except Exception:
            if not interrupts.received():
                raise
            # The interrupt reached TensorFlow's C++ code, which raised another error for it.
            print("archopt: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED


def _only_supervises(args: argparse.Namespace) -> bool:
    from optimizer.search.supervisor import is_worker

    # --trials-per-process defaults to workers (None) with the optuna engine;
    # KerasTuner's runs in one process.
    workers = args.command == "search" and args.engine == "optuna" and args.trials_per_process != 0
    return workers and not is_worker()


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow with file descriptor 2 pointed at /dev/null.

    Its C++ start-up writes lines (CUDA probing on machines without a GPU) before any log level applies, so an
    error that must be one line would come with two lines of noise. Python errors are raised after the restore.
    """
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            importlib.import_module("tensorflow")
    finally:
        os.dup2(saved, 2)
        os.close(saved)


if __name__ == "__main__":
    sys.exit(main())
