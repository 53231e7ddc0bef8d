"""The README and docs/ name only commands and flags the CLI has, and the README stays short and tested."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from optimizer.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Pages other branches are writing now; the README links them ahead.
PLACEHOLDERS: set[Path] = set()  # pages linked before they are written
LINK = re.compile(r"\]\(([^)\s]+)\)")
INVOCATION = re.compile(r"(?:^|(?<=[\s/;(]))archopt\s+([a-z][a-z-]*)(.*)")  # not POSTGRES_DB=archopt
FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")


def _commands() -> dict[str, set[str]]:
    """Each sub-command's option strings, read from the parser itself."""
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {name: {o for a in sub._actions for o in a.option_strings} for name, sub in subparsers.choices.items()}


def _code(text: str) -> list[str]:
    """Inline code spans and the lines of fenced blocks, continuation lines joined to the line they continue."""
    pieces = []
    for i, block in enumerate(re.split(r"^\s*```.*$", text, flags=re.M)):
        if i % 2:  # inside a fence
            for line in re.sub(r"\\\n", " ", block).splitlines():
                if pieces and line[:1].isspace() and line.lstrip().startswith("["):
                    pieces[-1] += " " + line  # a usage synopsis wrapped onto the next line
                else:
                    pieces.append(line)
        else:
            pieces += re.findall(r"`([^`\n]+)`", block)
    return pieces


def _invocations(text: str) -> list[tuple[str, list[str]]]:
    found = []
    for piece in _code(text):
        for match in INVOCATION.finditer(piece):
            found.append((match.group(1), FLAG.findall(match.group(2).split("&&")[0])))
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_documented_command_and_flag_exists(page: Path) -> None:
    commands = _commands()
    wrong = []
    for command, flags in _invocations(page.read_text()):
        if command not in commands:
            wrong.append(f"archopt {command}")
            continue
        wrong += [f"archopt {command} {flag}" for flag in flags if flag not in commands[command]]
    assert not wrong, f"{page.name} names what the CLI does not have: {sorted(set(wrong))}"


def test_the_check_finds_invocations() -> None:
    found = _invocations((ROOT / "README.md").read_text())
    assert ("search", ["--timeout", "--out"]) in found
    assert any(command == "export" for command, _ in found)
    assert _invocations("`archopt search --bogus 1`") == [("search", ["--bogus"])]
    assert _invocations("```sh\narchopt search --a \\\n    --b\n```") == [("search", ["--a", "--b"])]


def test_readme_is_short() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) <= 300


def test_readme_test_command_is_what_ci_runs() -> None:
    ci = [line for line in (ROOT / ".ci/run").read_text().splitlines() if line.startswith("apt-get ")]
    assert len(ci) == 1
    blocks = re.findall(r"```sh\n(.*?)\n```", (ROOT / "README.md").read_text(), flags=re.S)
    assert ci[0] in blocks


def _anchors(page: Path) -> set[str]:
    """GitHub's anchors for a page's headings (lower case, punctuation dropped, spaces to hyphens)."""
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.S | re.M)  # a shell comment is no heading
    headings = re.findall(r"^#+ (.+)$", text, flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("page", [*PAGES, ROOT / "results" / "README.md"], ids=lambda p: p.name)
def test_every_relative_link_and_anchor_exists(page: Path) -> None:
    broken = []
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # a web address
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if linked in PLACEHOLDERS and not linked.exists():
            continue
        if not linked.exists() or (anchor and linked.suffix == ".md" and anchor not in _anchors(linked)):
            broken.append(target)
    assert not broken, f"{page.name} links to what is not there: {broken}"


def test_anchors_follow_github(tmp_path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n## Re-timing the front: `archopt retime RUN_DIR`\n")
    anchors = _anchors(page)
    assert "re-timing-the-front-archopt-retime-run_dir" in anchors  # backquotes and colons dropped, _ kept
    assert "no-such-heading" not in anchors


def test_the_command_reference_lists_every_flag_of_every_command() -> None:
    reference = (ROOT / "docs" / "cli.md").read_text()
    missing = [f"{command} {flag}" for command, flags in _commands().items()
               for flag in sorted(flags - {"-h", "--help"})
               if f"`{flag}`" not in reference.split(f"## `archopt {command}`", 1)[-1]]
    assert not missing, f"docs/cli.md lacks: {missing}"
