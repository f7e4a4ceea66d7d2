"""README.md starts with the two commands, and CI runs the test one verbatim."""

from __future__ import annotations

import ast
import re

from .conftest import ROOT

README = (ROOT / "README.md").read_text()


def commands() -> list[str]:
    """The shell blocks before README's first heading after the title."""
    head = README.split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)\n```", head, re.S)


def test_readme_starts_with_exactly_two_commands() -> None:
    """One installs and runs the main job, one installs and runs the tests."""
    install, test = commands()
    assert install.endswith("shardcheck demo") and "\n" not in install
    assert test.endswith("python -m pytest") and "'.[test]'" in test


def test_ci_runs_readmes_test_command_verbatim() -> None:
    """A green CI means the README's test command works on a fresh checkout."""
    assert commands()[1] in (ROOT / ".ci" / "run").read_text().splitlines()


def test_checker_is_a_handful_of_subsystems_each_saying_what_it_is() -> None:
    """`ls checker/` shows at most ten entries, each a package with a one-line docstring
    (or the errors module): a newcomer can tell what each does from its name."""
    entries = sorted(p for p in (ROOT / "checker").iterdir() if p.name != "__pycache__")
    assert len(entries) <= 10, [p.name for p in entries]
    for entry in entries:
        source = entry / "__init__.py" if entry.is_dir() else entry
        doc = ast.get_docstring(ast.parse(source.read_text()))
        assert doc, f"{entry.name} has no docstring"
        assert len(doc.splitlines()[0]) <= 100
