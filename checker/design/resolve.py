"""Finding a design by what the user typed: a built-in name or ``file.py:Name``."""

from __future__ import annotations

import ast
import difflib
import hashlib
import importlib.abc
import importlib.util
import inspect
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

import attrs

from shardcheck import model
from shardcheck.checker.design.guard import innermost_line
from shardcheck.checker.errors import USER_CODE_FAILURES, DesignLoadError


@attrs.frozen
class DesignRef:
    """Which design a run used: a built-in name, or a class in a user's file; and the mutant."""

    name: str
    mutant: str | None = None
    file: str | None = None

    def spec(self) -> str:
        """The DESIGN argument that names this design again."""
        base = f"{self.file}:{self.name}" if self.file else self.name
        return f"{base}:{self.mutant}" if self.mutant else base


def parse_design_spec(text: str) -> DesignRef:
    """Split ``name[:mutant]`` or ``path.py:Name[:mutant]``."""
    if ".py:" in text:
        path, _, rest = text.partition(".py:")
        name, _, mutant = rest.partition(":")
        if not name:
            raise DesignLoadError(f"{text!r}: name the design in the file, as {path}.py:MyDesign")
        return DesignRef(name, mutant or None, path + ".py")
    if text.endswith(".py"):
        raise DesignLoadError(
            f"{text!r}: name the design inside the file too, as {text}:MyDesign"
        )
    name, _, mutant = text.partition(":")
    return DesignRef(name, mutant or None, None)


def _suggest(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


OLD_NAMES = ("model", "checker")
"""The top-level modules shardcheck installed before ``import shardcheck`` was its one
import name (``shardcheck.model``, ``shardcheck.checker``)."""


def _old_import(file: Path, exc: BaseException, line: int) -> str | None:
    """Why a design file failed to load, when the cause is an import of shardcheck's old
    top-level names: the line, the import, and what to write instead.

    Blamed when the failure was raised at such an import (no module ``model``, a module
    ``model`` that is not ours, or one that raised while importing), or when a module
    bound to an old name turned out to lack what the file used from it.
    """
    try:
        tree = ast.parse(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return None
    olds = [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)
            and _rewritten(node) is not None]
    at_fault = [n for n in olds if n.lineno <= line <= (n.end_lineno or n.lineno)]
    held = getattr(exc, "obj", None)
    if not at_fault and isinstance(exc, AttributeError) and inspect.ismodule(held):
        top = held.__name__.split(".")[0]
        at_fault = [n for n in olds if top in _tops(n)]
    if not at_fault:
        return None
    node = min(at_fault, key=lambda n: n.lineno)
    instead = _rewritten(node)
    tops = _tops(node)
    names = " and ".join(f"`{t}`" for t in tops)
    return (f"line {node.lineno}: `{ast.unparse(node)}` uses the old import "
            f"name{'s' if len(tops) > 1 else ''} {names} (shardcheck now installs only "
            f"`shardcheck`); write `{instead}` instead"
            # What it found instead, unless it found nothing: the name may be the user's own.
            + ("" if isinstance(exc, ModuleNotFoundError) and exc.name in OLD_NAMES else
               f" (it raised {type(exc).__name__}: {exc})"))


def _tops(node: ast.Import | ast.ImportFrom) -> list[str]:
    """The old top-level names an import statement names."""
    modules = [a.name for a in node.names] if isinstance(node, ast.Import) else (
        [node.module] if node.module and node.level == 0 else [])
    return sorted({m.split(".")[0] for m in modules} & set(OLD_NAMES))


def _rewritten(node: ast.Import | ast.ImportFrom) -> str | None:
    """The import statement written against ``shardcheck``; None when it imports no old
    top-level name."""
    if not _tops(node):
        return None
    if isinstance(node, ast.ImportFrom):
        return ast.unparse(ast.ImportFrom(f"shardcheck.{node.module}", node.names, 0))
    statements = []
    for alias in node.names:
        parent, _, last = f"shardcheck.{alias.name}".rpartition(".")
        if alias.name.split(".")[0] not in OLD_NAMES:
            statements.append(f"import {ast.unparse(alias)}")
        elif alias.asname is None and "." in alias.name:  # binds the old top-level name
            statements.append(f"from shardcheck import {alias.name.split('.')[0]}")
        else:
            statements.append(ast.unparse(ast.ImportFrom(parent, [ast.alias(last, alias.asname)],
                                                         0)))
    return "; ".join(dict.fromkeys(statements))


class SiblingFinder(importlib.abc.MetaPathFinder):
    """Finds the modules beside a user's design file (``import helpers`` for
    ``helpers.py`` or ``helpers/`` in the same folder), as Python does for a script.

    It sits last on ``sys.meta_path``: it only supplies a name nothing else can, so a
    sibling never shadows the standard library, an installed package or shardcheck's own
    modules, and it leaves ``sys.path`` alone.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        """The spec of a top-level module in the folder, or None."""
        if path is not None or "." in fullname:
            return None
        package = self.folder / fullname / "__init__.py"
        if package.is_file():
            return importlib.util.spec_from_file_location(
                fullname, package, submodule_search_locations=[str(package.parent)])
        module = self.folder / f"{fullname}.py"
        if module.is_file():
            return importlib.util.spec_from_file_location(fullname, module)
        return None


def _find_siblings(folder: Path) -> None:
    """Let the design files in ``folder`` import their siblings, from now on."""
    if not any(isinstance(f, SiblingFinder) and f.folder == folder for f in sys.meta_path):
        sys.meta_path.append(SiblingFinder(folder))


def load_design_file(path: str, name: str) -> model.Design:
    """Import a user's design from ``path`` under a private module name, then pick ``name``.

    The private name (derived from the file's resolved path) keeps a user's
    ``model.py`` or ``checker.py`` from shadowing ours, and two files with the same
    name from shadowing each other. The file may import modules beside it
    (``SiblingFinder``).
    """
    file = Path(path)
    if not file.is_file():
        raise DesignLoadError(f"design file {path} does not exist")
    resolved = file.resolve()
    _find_siblings(resolved.parent)
    module_name = "shardcheck_user_" + hashlib.blake2b(
        str(resolved).encode(), digest_size=8).hexdigest()
    module = sys.modules.get(module_name)
    if module is None:
        spec = importlib.util.spec_from_file_location(module_name, resolved)
        if spec is None or spec.loader is None:
            raise DesignLoadError(f"design file {path} cannot be imported as Python")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except USER_CODE_FAILURES as exc:  # the user's code: any failure is theirs to see
            del sys.modules[module_name]
            raised = innermost_line(exc, (str(resolved),))
            line = 0 if raised is None else raised[1]
            old = _old_import(resolved, exc, line)
            if old is not None:
                raise DesignLoadError(f"design file {path} {old}") from None
            where = f" (line {line})" if line else ""
            raise DesignLoadError(
                f"design file {path} failed to load{where}: {type(exc).__name__}: {exc}"
            ) from None
    obj = getattr(module, name, None)
    if obj is None:
        found = [n for n, v in vars(module).items() if inspect.isclass(v) and
                 v.__module__ == module_name]
        raise DesignLoadError(
            f"design file {path} has no {name!r}{_suggest(name, found)}"
            + (f" (classes in it: {', '.join(found)})" if found else "")
        )
    if inspect.isclass(obj):
        try:
            obj = obj()
        except USER_CODE_FAILURES as exc:
            raise DesignLoadError(
                f"{path}:{name} could not be created with no arguments: {exc}"
            ) from None
    if not isinstance(obj, model.Design):
        missing = [m for m in ("name", "summary", "initial", "actions", "step", "is_terminal",
                               "outcome", "properties", "mutants") if not hasattr(obj, m)]
        raise DesignLoadError(
            f"{path}:{name} is not a design: it lacks {', '.join(missing)} "
            "(see the Design protocol in model/api.py and docs/tutorial.md)"
        )
    return obj


def design_title(design: model.Design) -> str:
    """How a report names a design: its name and summary, or for a subclass of another
    design that keeps the base's ``name``, the subclass and its docstring's first line."""
    cls = type(design)
    owner = next((c for c in cls.__mro__ if "name" in vars(c)), cls)
    if owner is cls:
        return f"{design.name}: {design.summary}"
    doc = (inspect.getdoc(cls) or "").strip().splitlines()
    first = doc[0] if doc and cls.__doc__ is not None else "(no docstring)"
    return f"{cls.__name__}, a variant of {design.name}: {first}"


def resolve_design(text: str | DesignRef) -> tuple[model.Design, DesignRef]:
    """The design (or mutant) the user named, and a reference that names it again."""
    ref = parse_design_spec(text) if isinstance(text, str) else text
    if ref.file is not None:
        base = load_design_file(ref.file, ref.name)
    else:
        builtins = model.builtin_designs()
        found = builtins.get(ref.name)
        if found is None:
            raise DesignLoadError(
                f"unknown design {ref.name!r}{_suggest(ref.name, sorted(builtins))} "
                f"(built-in designs: {', '.join(sorted(builtins))}; or give path/to/file.py:Name)"
            )
        base = found
    if ref.mutant is None:
        return base, ref
    mutants = {m.name: m for m in base.mutants()}
    mutant = mutants.get(ref.mutant)
    if mutant is None:
        if not mutants:
            raise DesignLoadError(f"design {ref.name!r} has no mutants")
        raise DesignLoadError(
            f"design {ref.name!r} has no mutant {ref.mutant!r}"
            f"{_suggest(ref.mutant, sorted(mutants))} (mutants: {', '.join(sorted(mutants))})"
        )
    return mutant.design, ref
