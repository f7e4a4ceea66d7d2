"""README.md as written: its two commands (CI runs the test one verbatim), the layout it
promises, and its "From Python" code, run wherever a user runs it."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

pytest_plugins = ["pytester"]

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


HOSTILE = {
    "model.py": "raise RuntimeError('this is the user\\'s model.py, not shardcheck\\'s')\n",
    "checker.py": "raise RuntimeError('this is the user\\'s checker.py, not shardcheck\\'s')\n",
}
"""A user's own top-level model and checker modules, which shardcheck must never import."""


def from_python() -> str:
    """README.md's "From Python" section, up to the next section."""
    start = README.index("\n## From Python\n")
    end = README.index("\n## ", start + 1)
    return README[start:end]


def python_blocks(text: str) -> list[str]:
    """The ```python blocks of ``text``, in order."""
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    """A folder whose model.py and checker.py raise on import."""
    for name, text in HOSTILE.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def run_python(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter in ``cwd``; ``python -c`` and a script there both put the
    folder first on the path, where ``import model`` would find the user's."""
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True)


def test_the_from_python_script_runs_beside_a_users_model_and_checker(hostile: Path) -> None:
    """The first block of "From Python", as `python -c` and as a script in that folder."""
    script = python_blocks(from_python().split("\n### ")[0])[0]
    assert "import shardcheck" in script
    (hostile / "from_python.py").write_text(script)
    for args in (("-c", script), ("from_python.py",)):
        run = run_python(hostile, *args)
        assert run.returncode == 0, run.stderr
        assert re.fullmatch(r"serial-equivalence \d+\n", run.stdout), run.stdout


def test_import_shardcheck_reaches_explore_beside_a_users_model_and_checker(
        hostile: Path) -> None:
    """`import shardcheck; shardcheck.explore` imports the checker, never the user's."""
    run = run_python(hostile, "-c", "import shardcheck; shardcheck.explore")
    assert run.returncode == 0, run.stderr
    # The folder really is hostile: a top-level import of either name fails there.
    for name in HOSTILE:
        refused = run_python(hostile, "-c", f"import {name.removesuffix('.py')}")
        assert "not shardcheck's" in refused.stderr


def test_the_pytest_suite_example_runs_with_its_command_line(
        pytester: pytest.Pytester) -> None:
    """"In your pytest suite": its test file, run with the options its command line
    gives (and --strict-markers), passes; the run names its seed and kept folder."""
    part = from_python().split("\n### In your pytest suite\n")[1]
    pytester.makepyfile(test_designs=python_blocks(part)[0])
    command = re.findall(r"```sh\n(pytest .*)\n```", part)[0].split()
    result = pytester.runpytest("--strict-markers", *command[1:])
    result.assert_outcomes(passed=1)
    kept = pytester.path / "shardcheck-traces"
    result.stdout.fnmatch_lines([f"shardcheck: fuzz_design seed 7, traces kept in {kept}"])
    assert [p.name for p in kept.iterdir()] == [
        "test_designs.py-test_block_stm_survives_fuzzing"]
