"""A design in a user's own file is explored, judged and replayed like a built-in one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shardcheck import model
from shardcheck.checker import (
    SearchSettings,
    explore,
    load_trace,
    replay,
    resolve_design,
    write_trace,
)
from shardcheck.checker.trace.files import Trace

from .conftest import USER_DESIGN

SPEC = f"{USER_DESIGN}:NaiveOcc"


def test_the_naive_scheduler_is_correct_with_one_worker() -> None:
    """With one worker there is no race: every schedule is serial."""
    design, _ = resolve_design(SPEC)
    result = explore(design, model.Config(model.build_workload("counter:txs=2,keys=1"), 1))
    assert (result.verdict, result.stats.states) == ("pass", 8)


def test_the_naive_scheduler_loses_an_update_with_two_workers(tmp_path: Path) -> None:
    """Two workers read the counter before either writes: found in 8 steps, and replayed."""
    design, ref = resolve_design(SPEC)
    workload = model.build_workload("counter:txs=2,keys=1")
    result = explore(design, model.Config(workload, 2), SearchSettings())
    assert result.violation is not None
    assert (result.violation.property, result.violation.step) == ("serial-equivalence", 8)
    trace = Trace(ref, workload.spec, 2, result.initial_fingerprint, result.path,
                  result.violation)
    path = tmp_path / "lost-update.trace.json"
    write_trace(trace, path)
    loaded = load_trace(path)
    assert loaded.design.file == str(USER_DESIGN)
    assert replay(loaded, str(USER_DESIGN)).verdict == "reproduced"


def test_a_user_file_named_model_py_does_not_shadow_ours(tmp_path: Path) -> None:
    """User files load under a private module name, so `model.py` is no clash."""
    clash = tmp_path / "model.py"
    clash.write_text(USER_DESIGN.read_text())
    design, _ = resolve_design(f"{clash}:NaiveOcc")
    assert design.name == "naive-occ"
    assert model.builtin_designs()["block-stm"].name == "block-stm"


def test_the_toy_design_in_the_protocol_docstring_runs() -> None:
    """The Design protocol's documented toy is a complete, working design."""
    doc = model.Design.__doc__ or ""
    code = doc[doc.index("import attrs"):]
    source = "\n".join(line.removeprefix(" " * 8) for line in code.splitlines())
    namespace: dict[str, object] = {}
    exec(source, namespace)
    toy = namespace["Toy"]()  # type: ignore[operator]
    result = explore(toy, model.Config(model.build_workload("transfers:txs=3"), 1))
    assert (result.verdict, result.stats.states) == ("pass", 4)


OLD_IMPORTS = {
    # statement, what the folder holds beside the design, what to write instead, its tail
    "no module named model": (
        "from model import Action, Design", {},
        "from shardcheck.model import Action, Design", ""),
    "a model.py that raises on import": (
        "import model", {"model.py": "raise RuntimeError('not shardcheck')\n"},
        "from shardcheck import model", " (it raised RuntimeError: not shardcheck)"),
    "a checker.py without the name": (
        "from checker.search import explore", {"checker.py": "VERSION = 1\n"},
        "from shardcheck.checker.search import explore",
        " (it raised ModuleNotFoundError: No module named 'checker.search'; 'checker' is not "
        "a package)"),
    "a dotted import across lines": (
        "import os, model.designs.bank \\\n    as bank", {},
        "import os; from shardcheck.model.designs import bank as bank", ""),
}


def run_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a fresh interpreter whose path starts with ``cwd`` (as ``python -c``
    puts it), so that a model.py or checker.py there is what ``import model`` finds."""
    return subprocess.run([sys.executable, "-c", "from shardcheck.checker.cli import main; "
                           "main()", *args], cwd=cwd, capture_output=True, text=True)


@pytest.mark.parametrize("case", OLD_IMPORTS)
def test_a_design_written_against_the_old_import_names_is_told_what_to_import(
        tmp_path: Path, case: str) -> None:
    """shardcheck used to install top-level `model` and `checker`: a design file that still
    imports them gets one line, exit 2, naming the import and what to write instead."""
    statement, beside, instead, tail = OLD_IMPORTS[case]
    for name, text in beside.items():
        (tmp_path / name).write_text(text)
    source = USER_DESIGN.read_text()
    anchor = "import attrs\n"
    (tmp_path / "occ.py").write_text(source.replace(anchor, f"{anchor}{statement}\n", 1))
    line = source[:source.index(anchor)].count("\n") + 2
    run = run_cli(tmp_path, "explore", "occ.py:NaiveOcc", "-q")
    assert run.returncode == 2, run.stderr
    error = run.stderr.strip()
    assert "\n" not in error and "Traceback" not in error, error
    written = " ".join(statement.replace("\\\n", " ").split())
    assert error.startswith(
        f"shardcheck: error: design file occ.py line {line}: `{written}` uses the old import "
        f"name `{'checker' if 'checker' in statement else 'model'}` (shardcheck now installs only "
        f"`shardcheck`); write `{instead}` instead{tail}"), error


def test_a_users_own_module_named_model_is_not_mistaken_for_the_old_name(
        tmp_path: Path) -> None:
    """`import model` that finds the user's own module is fine; a later failure in the
    design file is reported as itself."""
    (tmp_path / "model.py").write_text("SCALE = 2\n")
    (tmp_path / "occ.py").write_text("import model\n\nLIMIT = model.SCALE * undefined\n")
    run = run_cli(tmp_path, "explore", "occ.py:NaiveOcc", "-q")
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip() == ("shardcheck: error: design file occ.py failed to load "
                                  "(line 3): NameError: name 'undefined' is not defined")
