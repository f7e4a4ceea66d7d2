"""The seams hold: model/ is pure, and each heavy dependency lives in one checker module."""

from __future__ import annotations

import ast
from pathlib import Path

from .conftest import ROOT

FORBIDDEN_IN_MODEL = {"checker", "random", "time", "datetime", "secrets", "uuid", "os",
                      "click", "rich", "z3", "hypothesis", "networkx", "jsonschema"}
HOMES = {
    "click": {"checker/cli.py", "checker/cli_history.py", "checker/cli_fuzz.py",
              "checker/cli_ci.py", "checker/cli_prove.py", "checker/cli_every_input.py"},
    "jsonschema": {"checker/trace.py"},
    "rich": {"checker/cli.py", "checker/report.py", "checker/progress.py",
             "checker/history_report.py", "checker/cli_history.py", "checker/cli_fuzz.py",
             "checker/cli_ci.py", "checker/ci_report.py", "checker/audit_report.py",
             "checker/cli_every_input.py"},
    "z3": {"checker/solver.py"},
    "networkx": {"checker/dsg.py"},
    "distributed": {"checker/cluster.py"},
    "dask": {"checker/cluster.py"},
    "hypothesis": {f"checker/fuzz/{name}.py" for name in
                   ("__init__", "campaign", "database", "schedules", "strategies", "api")},
}


def imports(path: Path) -> set[str]:
    """The top-level names of every module a file imports."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_model_imports_nothing_impure_and_nothing_from_checker() -> None:
    """No clocks, randomness, environment or checker code in the model."""
    for path in sorted((ROOT / "model").rglob("*.py")):
        bad = imports(path) & FORBIDDEN_IN_MODEL
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_model_never_calls_the_salted_hash() -> None:
    """Fingerprints must not depend on PYTHONHASHSEED."""
    for path in sorted((ROOT / "model").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "hash", f"{path.relative_to(ROOT)} calls hash()"


def test_each_heavy_dependency_lives_in_one_place() -> None:
    """click only in the CLI, jsonschema only in traces, rich only in what prints, z3 only
    in the solver module, networkx only in the dependency graph."""
    for path in sorted((ROOT / "checker").rglob("*.py")):
        relative = str(path.relative_to(ROOT))
        for dependency, homes in HOMES.items():
            if dependency in imports(path):
                assert relative in homes, f"{relative} imports {dependency}"


def test_checker_reaches_the_model_only_through_its_top_level() -> None:
    """checker/ imports `model`, never `model.designs.block_stm` and the like."""
    for path in sorted((ROOT / "checker").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("model."), (
                    f"{path.relative_to(ROOT)} imports {node.module}")


def test_the_explorer_and_a_parallel_worker_import_no_heavy_dependency() -> None:
    """`import checker.parallel` (what every worker process runs) and `import checker`
    leave hypothesis, z3, rich, click, jsonschema and networkx unimported: a worker
    pays for none of them."""
    import subprocess
    import sys

    heavy = ("hypothesis", "z3", "rich", "click", "jsonschema", "networkx", "distributed")
    probe = ("import sys, checker, checker.parallel, checker.explorer; "
             f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r})))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
