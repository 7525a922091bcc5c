"""The house rules that keep the code readable, checked like behaviour.

Modules stay under 400 lines and functions under 60 lines of code (docstrings, comments and
multi-line string data such as SQL do not count). An import inside a function is allowed only
for a heavy optional library kept off the notebooks' start-up path, with a ``deferred:`` reason
on the same line. The import directions are the contracts in ``pyproject.toml`` (import-linter).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted([*ROOT.glob("okta_alerts/**/*.py"), *ROOT.glob("receiver/**/*.py")])
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
DEFERRABLE = {"papermill", "nbformat", "nbconvert", "nbclient", "traitlets", "IPython", "apprise"}


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in paths]


@pytest.mark.parametrize("path", SOURCES, ids=_ids(SOURCES))
def test_module_size(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{lines} lines: split it by concept"


def code_lines(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines holding code in ``function``: not blank, not comments, not multi-line strings."""
    covered: set[int] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.stmt) and node is not function:
            covered.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    for node in ast.walk(function):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            end = node.end_lineno or node.lineno
            if end > node.lineno:  # docstrings and SQL: data, not logic
                covered -= set(range(node.lineno + 1, end + 1))
    return len(covered)


def functions() -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    found = []
    for path in SOURCES:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                found.append((f"{path.relative_to(ROOT)}:{node.name}", node))
    return found


def test_function_size() -> None:
    long = {name: n for name, f in functions() if (n := code_lines(f)) > MAX_FUNCTION_LINES}
    assert long == {}, f"functions over {MAX_FUNCTION_LINES} lines of code: cut them into steps"


def test_imports_inside_functions_are_deferred_heavy_libraries_with_a_reason() -> None:
    bad = []
    for path in SOURCES:
        text = path.read_text()
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    names = [a.name for a in inner.names] if isinstance(inner, ast.Import) else []
                    module = inner.module if isinstance(inner, ast.ImportFrom) else names[0]
                    top = (module or "").split(".")[0]
                    reason = "deferred:" in lines[inner.lineno - 1]
                    if top not in DEFERRABLE or not reason:
                        bad.append(f"{path.relative_to(ROOT)}:{inner.lineno} {module}")
    assert bad == [], "imports inside functions (move them to the top, or defer with a reason)"


def test_the_dependency_contract_holds() -> None:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-4000:]
