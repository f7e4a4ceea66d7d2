"""The seams hold: model/ is pure, checker/ is a stack of packages whose imports run downwards
only, each reached through its seam, and each heavy dependency lives in one place."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import networkx as nx

from .conftest import ROOT

FORBIDDEN_IN_MODEL = {"checker", "random", "time", "datetime", "secrets", "uuid", "os",
                      "click", "rich", "z3", "hypothesis", "networkx", "jsonschema"}
# Each heavy dependency and the only files (or folders, ending in /) that may import it.
HOMES = {
    "click": {"checker/cli/"},
    "rich": {"checker/cli/", "checker/history/report.py", "checker/ci/report.py"},
    "jsonschema": {"checker/trace/files.py"},
    "z3": {"checker/prove/solver.py"},
    "networkx": {"checker/history/dsg.py"},
    "distributed": {"checker/search/cluster.py"},
    "dask": {"checker/search/cluster.py"},
    "hypothesis": {"checker/fuzz/"},
    "playwright": set(),
}


def module_name(path: Path, root: Path) -> str:
    """The dotted name ``shardcheck.<folder>.<module>`` a file installs as."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(["shardcheck", *parts])


def imported(path: Path, name: str, modules_only: bool = False) -> Iterator[str]:
    """Every module a file imports, lazily or not, as absolute dotted names; unless
    ``modules_only``, each ``from X import y`` also yields ``X.y`` (y may be a module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    # What is imported only for the type checker never runs, so it cannot make a circle.
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and ast.unparse(block.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
                   for n in ast.walk(block)}
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            if base == "shardcheck":  # ``from shardcheck import model``: the seam itself
                yield from (f"{base}.{alias.name}" for alias in node.names)
                continue
            yield base
            if modules_only:
                continue
            # ``from package import submodule`` imports the submodule too.
            yield from (f"{base}.{alias.name}" for alias in node.names)


def import_graph(root: Path, folders: tuple[str, ...]) -> nx.DiGraph:
    """Modules of ``folders`` under ``root`` and who imports whom among them."""
    files = {module_name(p, root): p for folder in folders for p in (root / folder).rglob("*.py")}
    graph = nx.DiGraph()
    graph.add_nodes_from(files)
    for name, path in files.items():
        for target in imported(path, name):
            if target in files and target != name:
                graph.add_edge(name, target)
    return graph


def package_of(module: str) -> str:
    """``shardcheck.checker.search.explorer`` -> ``shardcheck.checker.search``."""
    parts = module.split(".")
    return ".".join(parts[:3])


def cycles(graph: nx.DiGraph) -> list[list[str]]:
    """The import circles of a graph, shortest first, each from its smallest name."""
    found = []
    for cycle in nx.simple_cycles(graph):
        start = cycle.index(min(cycle))
        found.append(cycle[start:] + cycle[:start])
    return sorted(found, key=lambda c: (len(c), c))


def package_graph(graph: nx.DiGraph) -> nx.DiGraph:
    """Which checker package imports which, from the module graph."""
    packages = nx.DiGraph()
    for a, b in graph.edges:
        if a.startswith("shardcheck.checker.") and b.startswith("shardcheck.checker."):
            pa, pb = package_of(a), package_of(b)
            if pa != pb:
                packages.add_edge(pa, pb)
    return packages


def test_model_imports_nothing_impure_and_nothing_from_checker() -> None:
    """No clocks, randomness, environment or checker code in the model."""
    for path in sorted((ROOT / "model").rglob("*.py")):
        names = {n.split(".")[0] for n in imported(path, module_name(path, ROOT))}
        names |= {n.split(".")[1] for n in imported(path, module_name(path, ROOT))
                  if n.startswith("shardcheck.") and n.count(".") >= 1}
        bad = names & FORBIDDEN_IN_MODEL
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_model_never_calls_the_salted_hash() -> None:
    """Fingerprints must not depend on PYTHONHASHSEED."""
    for path in sorted((ROOT / "model").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "hash", f"{path.relative_to(ROOT)} calls hash()"


def test_each_heavy_dependency_lives_in_one_place() -> None:
    """click only in the CLI, jsonschema only in trace files, rich only in what prints, z3
    only in the solver, networkx only in the dependency graph, hypothesis only in fuzz."""
    for path in sorted((ROOT / "checker").rglob("*.py")):
        relative = str(path.relative_to(ROOT))
        tops = {n.split(".")[0] for n in imported(path, module_name(path, ROOT))}
        for dependency, homes in HOMES.items():
            if dependency in tops:
                assert any(relative == h or (h.endswith("/") and relative.startswith(h))
                           for h in homes), f"{relative} imports {dependency}"


def test_no_module_imports_in_a_circle() -> None:
    """Neither model/ nor checker/ has an import circle, lazy imports included."""
    graph = import_graph(ROOT, ("model", "checker"))
    assert cycles(graph) == []


def test_checker_packages_form_a_stack() -> None:
    """No two checker packages import each other, even through a third."""
    assert cycles(package_graph(import_graph(ROOT, ("model", "checker")))) == []


def test_a_planted_circle_is_caught(tmp_path: Path) -> None:
    """The circle tests can fail: two packages that import each other are reported."""
    for package, other in (("alpha", "beta"), ("beta", "alpha")):
        folder = tmp_path / "checker" / package
        folder.mkdir(parents=True)
        (folder / "__init__.py").write_text(f"from .core import run_{package}\n")
        (folder / "core.py").write_text(
            f"def run_{package}():\n    from shardcheck.checker.{other} import run_{other}\n")
    graph = import_graph(tmp_path, ("checker",))
    assert cycles(package_graph(graph)) == [["shardcheck.checker.alpha",
                                             "shardcheck.checker.beta"]]
    assert cycles(graph) != []


def test_packages_are_reached_only_through_their_seam() -> None:
    """A checker module imports another package by its name, never a private module of it,
    and never imports upwards (``shardcheck`` or ``shardcheck.checker`` themselves)."""
    for path in sorted((ROOT / "checker").rglob("*.py")):
        name = module_name(path, ROOT)
        own = package_of(name)
        for target in imported(path, name, modules_only=True):
            if not target.startswith("shardcheck"):
                continue
            assert target not in ("shardcheck", "shardcheck.checker"), (
                f"{path.relative_to(ROOT)} imports {target} (upwards)")
            if target.startswith("shardcheck.model."):
                # ``from shardcheck import model`` is the one way in; submodules are private.
                raise AssertionError(f"{path.relative_to(ROOT)} imports {target}")
            if (name != "shardcheck.checker" and target.startswith("shardcheck.checker.")
                    and package_of(target) != own):
                depth = target.count(".")
                assert depth <= 2 or target == "shardcheck.checker.errors", (
                    f"{path.relative_to(ROOT)} imports {target}, a private module of "
                    f"{package_of(target)}: import it from the package")


def test_the_explorer_and_a_parallel_worker_import_no_heavy_dependency() -> None:
    """`import shardcheck.checker.search.parallel` (what every worker process runs) and
    `import shardcheck` leave hypothesis, z3, rich, click, jsonschema and networkx
    unimported: a worker pays for none of them."""
    heavy = ("hypothesis", "z3", "rich", "click", "jsonschema", "networkx", "distributed")
    probe = ("import sys, shardcheck, shardcheck.checker.search.parallel; "
             f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r})))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, cwd=ROOT.parent)
    assert out.stdout.strip() == "[]"
