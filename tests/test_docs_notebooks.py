"""The notebooks keep the cell order the README describes and are documented: one literal-only
``parameters`` cell whose names match ``report --list`` and the README; no outputs; no code."""

from __future__ import annotations

import ast
import itertools
import json
import re
from pathlib import Path
from typing import Any

import papermill
import pytest
from click.testing import CliRunner

from okta_alerts.cli import main
from okta_alerts.reports.runner import HIDDEN_TAG, NOTEBOOKS_DIR

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
COMMON = {
    "data_dir": None,
    "end": None,
    "window_hours": 24,
    "baseline_days": 14,
    "send_notifications": False,
    "rules": None,
}
README_SECTION = "## Analysis notebooks and reports"


def cells(path: Path) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text(encoding="utf-8"))["cells"])


def source(cell: dict[str, Any]) -> str:
    text = cell["source"]
    return text if isinstance(text, str) else "".join(text)


def tags(cell: dict[str, Any]) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def parameters_cell(path: Path) -> dict[str, Any]:
    tagged = [cell for cell in cells(path) if "parameters" in tags(cell)]
    assert len(tagged) == 1, f"{path.name} needs exactly one cell tagged 'parameters'"
    return tagged[0]


def literal_assignments(code: str) -> dict[str, Any]:
    """Every statement must be ``name = <literal>``; returns the names and values."""
    values = {}
    for statement in ast.parse(code).body:
        assert isinstance(statement, ast.Assign), ast.unparse(statement)
        assert len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name)
        values[statement.targets[0].id] = ast.literal_eval(statement.value)  # literals only
    return values


def test_the_three_notebooks_exist() -> None:
    assert [p.stem for p in NOTEBOOKS] == ["assignment_errors", "explore", "lockouts"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_one_literal_only_parameters_cell_with_the_common_parameters(path: Path) -> None:
    cell = parameters_cell(path)
    values = literal_assignments(source(cell))
    assert {name: values[name] for name in COMMON} == COMMON
    assert list(values)[: len(COMMON)] == list(COMMON)
    for line in source(cell).splitlines():
        assert re.search(r"\S  # \S", line), f"{line!r} needs a trailing '# meaning' comment"
    inspected = papermill.inspect_notebook(str(path))
    assert list(inspected) == list(values)
    assert all(p["help"] for p in inspected.values())


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_cell_order(path: Path) -> None:
    nb = cells(path)
    kinds = [cell["cell_type"] for cell in nb]
    assert kinds[0] == "markdown" and source(nb[0]).startswith("# "), "title and purpose first"
    imports = ast.parse(source(nb[1])).body
    assert imports and all(isinstance(s, ast.Import | ast.ImportFrom) for s in imports)
    assert "parameters" in tags(nb[2])
    assert "make_window(" in source(nb[3]) and "okta_alerts.connect(" in source(nb[3])
    body = nb[4:-2]
    assert all(c["cell_type"] == "markdown" or "cells." not in source(c) for c in body)
    assert source(nb[-2]).startswith("cells.alerting_cell(send_notifications")
    assert source(nb[-1]).startswith("cells.record_figures(") and HIDDEN_TAG in tags(nb[-1])
    for before, cell in itertools.pairwise(nb[4:-1]):
        if cell["cell_type"] == "code":
            assert before["cell_type"] == "markdown", f"give {source(cell)[:40]!r} a heading"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_outputs_and_no_code_that_belongs_in_the_library(path: Path) -> None:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    forbidden = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.For, ast.While, ast.Try)
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        assert cell.get("outputs") == [] and cell.get("execution_count") is None
        tree = ast.parse(source(cell))
        assert not [n for n in ast.walk(tree) if isinstance(n, forbidden)], source(cell)
        if "parameters" not in tags(cell):
            assert len(source(cell).splitlines()) <= 8, "long code belongs in okta_alerts"


def test_report_list_shows_every_parameter() -> None:
    result = CliRunner().invoke(main, ["report", "--list"])
    assert result.exit_code == 0, result.output
    sections = re.split(r"^(?=\w+: )", result.output, flags=re.M)
    listed = {s.split(":", 1)[0]: re.findall(r"^\s+-p (\w+)", s, flags=re.M) for s in sections if s}
    for path in NOTEBOOKS:
        assert listed[path.stem] == list(literal_assignments(source(parameters_cell(path))))


def test_readme_documents_the_notebooks_and_their_parameters() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    if README_SECTION not in readme:
        pytest.skip(f"README.md has no '{README_SECTION}' section yet")
    section = readme.split(README_SECTION, 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `(\w+)` \|", section, flags=re.M))
    names = set()
    for path in NOTEBOOKS:
        assert f"notebooks/{path.name}" in section
        names |= set(literal_assignments(source(parameters_cell(path))))
    assert documented == names
    assert "okta-alerts report --list" in section
