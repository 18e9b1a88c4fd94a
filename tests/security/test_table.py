"""The README's "Who can do what" table and this suite stay one-to-one: every line names a test here, every test
here is named by a line."""

from __future__ import annotations

import ast
import re
from pathlib import Path

HERE = Path(__file__).parent
README = HERE.parents[1] / "README.md"


def _lines_of_the_table() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Who can do what", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| ") and "`test_" in line]


def _tests_here() -> set[str]:
    found = set()
    for path in HERE.glob("test_*.py"):
        if path.name == Path(__file__).name:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found |= {
            f"{path.name}::{node.name}"
            for node in tree.body
            if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef) and node.name.startswith("test_")
        }
    return found


def test_every_line_of_the_table_has_its_test_and_every_test_its_line() -> None:
    named = [re.findall(r"`(test_\w+\.py::test_\w+)`", line) for line in _lines_of_the_table()]
    assert all(len(names) == 1 for names in named), named
    in_table = [names[0] for names in named]
    assert len(in_table) >= 20
    assert len(set(in_table)) == len(in_table)  # one test per line
    assert set(in_table) == _tests_here()
