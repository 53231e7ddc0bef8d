"""The package's layout: no import cycle, and every stage imports only the stages below it.

Every import counts, also one inside a function: a local import hides a dependency from the reader, it does not
remove it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "optimizer"
STAGES = ["data", "space", "measure", "trial", "study", "results", "search", "commands"]  # bottom to top


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, *, known: set[str]) -> set[str]:
    """The project's modules that ``path`` imports anywhere in its body (``from a import b`` counts a.b if a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name in known}


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: imported(path, known=set(paths)) - {name} for name, path in paths.items()}


def rank(module: str) -> int:
    """0 for the base modules (errors, defaults, the Optuna adapter), 1.. for the stages, the CLI on top."""
    parts = module.split(".")
    if parts[1:2] and parts[1] in STAGES:
        return 1 + STAGES.index(parts[1])
    return len(STAGES) + 1 if parts[1:] == ["cli"] else 0


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt, path + [nxt])):
                return cycle
        state[node] = 2
        return None

    return next((c for n in sorted(graph) if n not in state and (c := visit(n, [n]))), None)


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_import_cycle():
    assert find_cycle(import_graph()) is None


@pytest.mark.parametrize("module", sorted(import_graph()))
def test_stage_imports_only_lower_stages(module):
    graph = import_graph()
    upward = sorted(m for m in graph[module] if rank(m) > rank(module) and not m.startswith(f"{module}."))
    assert not upward, f"{module} (stage {rank(module)}) imports higher stages: {upward}"


def test_every_stage_says_what_it_may_import():
    for stage in STAGES[:-1]:
        doc = ast.get_docstring(ast.parse((PACKAGE / stage / "__init__.py").read_text())) or ""
        assert "Imports only" in doc, stage


def test_the_supervisor_and_the_cli_load_no_tensorflow():
    """The local imports that remain exist for this: a supervisor and `archopt --help` must not wait for TensorFlow."""
    import subprocess
    import sys

    code = ("import sys, optimizer.cli, optimizer.commands.search, optimizer.search.optuna_engine, "
            "optimizer.search.supervisor; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras', 'keras_tuner'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent, check=True)
    assert out.stdout.strip() == "[]"


def test_test_modules_share_helpers_only_through_tests_helpers():
    tests_root = PACKAGE.parent / "tests"
    for path in tests_root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tests."):
                assert not node.module.split(".")[-1].startswith(("test_", "conftest")), f"{path}: {node.module}"
