"""A CI suite: named checks with expected verdicts, and a corpus of traces to replay.

A suite lives in the user's repository, as the ``[tool.shardcheck]`` table of
``pyproject.toml`` or the top level of a ``shardcheck.toml``::

    corpus = "traces"                      # default: traces/ beside the suite file

    [checks.block-stm-counter]
    design = "block-stm"                   # built-in, or "path/to/design.py:Name[:mutant]"
    workload = "counter:txs=2,keys=1"
    workers = 2                            # default 2
    strategy = "explore"                   # or "fuzz"; default explore
    max_states = 200000                    # budget (explore): max_states, max_depth,
    time_limit = 120                       #   time_limit; (fuzz): examples, time_limit, seed
    expect = "pass"                        # or "violation", with property = "NAME"

    [checks.scan-keys-only]
    design = "block-stm:scan-keys-only"
    workload = "audit:txs=2"
    expect = "violation"
    property = "serial-equivalence"

A budget that runs out makes a check *inconclusive*, which fails the suite unless the
check says ``allow_inconclusive = true``; even then it is reported as inconclusive,
never as a pass.

Everything is validated when the file is loaded, before anything runs: an error is one
line that names the file, the check and the field (``SuiteError``, exit code 2).
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import attrs

from shardcheck import model
from shardcheck.checker.design import Judge, load_workload, parse_design_spec, resolve_design
from shardcheck.checker.errors import (
    BadInput,
    ShardcheckError,
    read_user_file,
    time_limit_problem,
)

Strategy = Literal["explore", "fuzz"]
Expect = Literal["pass", "violation"]

SUITE_FILE = "shardcheck.toml"
PYPROJECT = "pyproject.toml"
DEFAULT_CORPUS = "traces"
DEFAULT_WORKERS = 2
DEFAULT_EXAMPLES = 200
"""Fuzz examples when a fuzz check gives none: enough for the built-in mutants, quick."""

TOP_FIELDS = ("corpus", "checks")
CHECK_FIELDS = ("design", "workload", "workload_strategy", "workers", "strategy",
                "max_states", "max_depth", "time_limit", "examples", "seed", "step_bound",
                "criteria", "expect", "property", "allow_inconclusive")
EXPLORE_ONLY = ("max_states", "max_depth")
FUZZ_ONLY = ("examples", "seed", "workload_strategy")


class SuiteError(BadInput):
    """A suite file that cannot be used; the message names the file, check and field."""


@attrs.frozen(kw_only=True)
class Budget:
    """How much a check may spend. None: no bound of that kind."""

    max_states: int | None = None
    max_depth: int | None = None
    time_limit: float | None = None
    examples: int | None = None
    seed: int = 0

    def describe(self) -> str:
        """A short phrase for tables and reports."""
        parts = []
        if self.max_states is not None:
            parts.append(f"{self.max_states:,} states")
        if self.max_depth is not None:
            parts.append(f"depth {self.max_depth}")
        if self.examples is not None:
            parts.append(f"{self.examples:,} examples, seed {self.seed}")
        if self.time_limit is not None:
            parts.append(f"{self.time_limit:g}s")
        return ", ".join(parts) or "unbounded"


@attrs.frozen(kw_only=True)
class Check:
    """One named check: what to run, within which budget, and the verdict it must give."""

    name: str
    design: str
    """The design spec as the suite writes it (reports show this)."""
    resolved_design: str
    """The same spec with a file path made absolute (relative to the suite file)."""
    workload: str | None
    workload_strategy: str | None
    workers: int
    strategy: Strategy
    budget: Budget
    step_bound: int
    criteria: tuple[str, ...] | None
    expect: Expect
    property: str | None
    """The property whose violation is expected, when ``expect`` is ``violation``."""
    allow_inconclusive: bool

    def expectation(self) -> str:
        """What the check must give, in words: ``pass`` or ``violation of NAME``."""
        return "pass" if self.expect == "pass" else f"violation of {self.property}"

    def describe(self) -> str:
        """Design, workload and workers on one line."""
        return f"{self.design} on {self.workload_text()}, {self.workers} worker(s)"

    def workload_text(self) -> str:
        """The workload spec, or the workload strategy of a fuzz check, as written."""
        return self.workload or self.workload_strategy or ""


@attrs.frozen(kw_only=True)
class Suite:
    """A loaded, validated suite: where it came from, its checks and its corpus."""

    path: Path
    checks: tuple[Check, ...]
    corpus: Path
    corpus_given: bool = False
    """Whether the suite names its corpus (then it must exist) or took the default."""
    design_files: frozenset[Path] = frozenset()
    """Design files the checks name: the ones corpus traces may replay with."""

    def only(self, names: tuple[str, ...]) -> Suite:
        """The suite restricted to the named checks (in suite order); unknown names fail."""
        if not names:
            return self
        known = [c.name for c in self.checks]
        for name in names:
            if name not in known:
                raise SuiteError(f"{self.path}: --only {name!r}: no such check"
                                 f"{_suggest(name, known)} (checks: {', '.join(known)})")
        return attrs.evolve(self, checks=tuple(c for c in self.checks if c.name in names))


def _suggest(word: str, options: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def find_suite(start: Path | None = None) -> Path:
    """The suite file in ``start`` (default: the current directory).

    ``shardcheck.toml`` wins over ``pyproject.toml``; a pyproject counts only when it
    has a ``[tool.shardcheck]`` table.
    """
    directory = start or Path(".")
    own = directory / SUITE_FILE
    if own.is_file():
        return own
    pyproject = directory / PYPROJECT
    if pyproject.is_file() and "shardcheck" in _read_toml(pyproject).get("tool", {}):
        return pyproject
    raise SuiteError(f"no suite here: neither {SUITE_FILE} nor a [tool.shardcheck] table in "
                     f"{PYPROJECT}; write one (see docs/ci.md) or pass --suite FILE")


def _read_toml(path: Path) -> dict[str, Any]:
    text = read_user_file(path, "suite", SuiteError)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(f"{path}: not valid TOML: {exc}") from None


def load_suite(path: str | Path | None = None) -> Suite:
    """Read and validate a suite; ``None`` finds it in the current directory."""
    file = find_suite() if path is None else Path(path)
    data = _read_toml(file)
    if file.name == PYPROJECT:
        table = data.get("tool", {}).get("shardcheck")
        if table is None:
            raise SuiteError(f"{file}: no [tool.shardcheck] table")
        prefix = "tool.shardcheck."
    else:
        table, prefix = data, ""
    if not isinstance(table, dict):
        raise SuiteError(f"{file}: {prefix or 'the top level'} must be a table")
    return _suite(file, table, prefix)


def _suite(file: Path, table: Mapping[str, Any], prefix: str) -> Suite:
    for key in table:
        if key not in TOP_FIELDS:
            raise SuiteError(f"{file}: field {prefix}{key!r}: unknown{_suggest(key, TOP_FIELDS)} "
                             f"(known: {', '.join(TOP_FIELDS)})")
    base = file.parent
    corpus = table.get("corpus", DEFAULT_CORPUS)
    if not isinstance(corpus, str) or not corpus:
        raise SuiteError(f"{file}: field {prefix}corpus: must be a directory name, got "
                         f"{corpus!r}")
    checks_table = table.get("checks")
    if checks_table is None:
        raise SuiteError(f"{file}: no checks: add a [{prefix}checks.NAME] table")
    if not isinstance(checks_table, dict):
        raise SuiteError(f"{file}: field {prefix}checks: must be a table of named checks")
    checks = tuple(_check(file, name, entry, f"{prefix}checks")
                   for name, entry in checks_table.items())
    files = frozenset(Path(ref.file).resolve() for ref in
                      (parse_design_spec(c.resolved_design) for c in checks)
                      if ref.file is not None)
    return Suite(path=file, checks=checks, corpus=base / corpus,
                 corpus_given="corpus" in table, design_files=files)


class _Fields:
    """Reads one check's fields, each failure naming file, check and field."""

    def __init__(self, file: Path, name: str, entry: Mapping[str, Any]) -> None:
        self.file = file
        self.name = name
        self.entry = entry

    def fail(self, field: str | None, message: str) -> SuiteError:
        where = f"{self.file}: check {self.name!r}"
        return SuiteError(f"{where}: field {field!r}: {message}" if field
                          else f"{where}: {message}")

    def get(self, field: str, kind: type | tuple[type, ...], what: str) -> Any:
        value = self.entry.get(field)
        if value is None:
            return None
        # TOML booleans are ints to Python; a count of `true` is a mistake, not 1.
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise self.fail(field, f"must be {what}, got {value!r}")
        if not isinstance(value, kind):
            raise self.fail(field, f"must be {what}, got {value!r}")
        return value

    def positive(self, field: str, kind: type | tuple[type, ...] = int) -> Any:
        value = self.get(field, kind, "a positive number" if kind is not int
                         else "a positive integer")
        if value is not None and value <= 0:
            raise self.fail(field, f"must be positive, got {value!r}")
        return value

    def choice(self, field: str, choices: tuple[str, ...], default: str | None) -> Any:
        value = self.get(field, str, f"one of {', '.join(choices)}")
        if value is None:
            if default is None:
                raise self.fail(field, f"missing: give one of {', '.join(choices)}")
            return default
        if value not in choices:
            raise self.fail(field, f"must be one of {', '.join(choices)}, got {value!r}"
                            f"{_suggest(value, choices)}")
        return value


def _check(file: Path, name: str, entry: Any, where: str) -> Check:
    fields = _Fields(file, name, entry if isinstance(entry, dict) else {})
    if not isinstance(entry, dict):
        raise fields.fail(None, f"[{where}.{name}] must be a table of fields")
    for key in entry:
        if key not in CHECK_FIELDS:
            raise fields.fail(key, f"unknown{_suggest(key, CHECK_FIELDS)}")
    strategy = fields.choice("strategy", ("explore", "fuzz"), "explore")
    for key in EXPLORE_ONLY if strategy == "fuzz" else FUZZ_ONLY:
        if key in entry:
            raise fields.fail(key, f"does not apply to strategy {strategy!r}")
    design, resolved = _design(fields, file.parent)
    workload, workload_strategy = _workloads(fields, strategy)
    workers = fields.positive("workers") or DEFAULT_WORKERS
    budget = Budget(max_states=fields.positive("max_states"),
                    max_depth=fields.positive("max_depth"),
                    time_limit=_time_limit(fields),
                    examples=(fields.positive("examples") or DEFAULT_EXAMPLES)
                    if strategy == "fuzz" else None,
                    seed=_seed(fields))
    step_bound = fields.positive("step_bound") or 10_000
    criteria = _criteria(fields)
    expect = fields.choice("expect", ("pass", "violation"), None)
    prop = fields.get("property", str, "a property name")
    if expect == "pass" and prop is not None:
        raise fields.fail("property", "only a check that expects a violation names a property")
    if expect == "violation" and prop is None:
        raise fields.fail("property", "missing: name the property the violation is of")
    allow = fields.get("allow_inconclusive", bool, "true or false") or False
    check = Check(name=name, design=design, resolved_design=resolved, workload=workload,
                  workload_strategy=workload_strategy, workers=workers,
                  strategy=strategy, budget=budget, step_bound=step_bound, criteria=criteria,
                  expect=expect, property=prop, allow_inconclusive=allow)
    if prop is not None:
        _known_property(fields, check)
    return check


def _time_limit(fields: _Fields) -> float | None:
    value = fields.get("time_limit", (int, float), "a number of seconds")
    if value is None:
        return None
    problem = time_limit_problem(float(value))
    if problem is not None:
        raise fields.fail("time_limit", problem)
    return float(value)


def _seed(fields: _Fields) -> int:
    seed = fields.get("seed", int, "an integer of 0 or more")
    if seed is not None and seed < 0:
        raise fields.fail("seed", f"must be 0 or more, got {seed}")
    return seed or 0


def _design(fields: _Fields, base: Path) -> tuple[str, str]:
    text = fields.get("design", str, "a design spec such as block-stm or path/to/file.py:Name")
    if text is None:
        raise fields.fail("design", "missing: name a built-in design or path/to/file.py:Name")
    try:
        ref = parse_design_spec(text)
        if ref.file is not None:
            # Relative to the suite file, so `shardcheck ci` works from any directory.
            ref = attrs.evolve(ref, file=str((base / ref.file).resolve()))
        resolve_design(ref)
    except ShardcheckError as exc:
        raise fields.fail("design", str(exc)) from None
    return text, ref.spec()


def _workloads(fields: _Fields, strategy: str) -> tuple[str | None, str | None]:
    workload = fields.get("workload", str, "a workload spec such as counter:txs=2,keys=1")
    drawn = fields.get("workload_strategy", str, "a workload strategy such as counter:txs=2-6")
    if workload is not None and drawn is not None:
        raise fields.fail("workload_strategy", "give workload or workload_strategy, not both")
    if workload is None and drawn is None:
        hint = " (or workload_strategy)" if strategy == "fuzz" else ""
        raise fields.fail("workload", f"missing: give a workload spec{hint}")
    if workload is not None:
        # Kept as written (reports show it so); a run builds it again the same way.
        _validate_with(fields, "workload", workload, load_workload)
    else:
        _validate_with(fields, "workload_strategy", drawn, _workload_strategy)
    return workload, drawn


def _workload_strategy(spec: str) -> object:
    # Imported here: the fuzzer pulls in hypothesis, which explore-only suites never need.
    from shardcheck.checker.fuzz import strategies

    return strategies.workload_strategy(spec)


def _validate_with(fields: _Fields, field: str, value: str,
                   validate: Callable[[str], object]) -> None:
    try:
        validate(value)
    except (ShardcheckError, model.WorkloadError) as exc:
        raise fields.fail(field, str(exc)) from None


def _criteria(fields: _Fields) -> tuple[str, ...] | None:
    value = fields.get("criteria", list, f"a list of criteria ({', '.join(model.CRITERIA)})")
    if value is None:
        return None
    for item in value:
        if item not in model.CRITERIA:
            raise fields.fail("criteria", f"unknown criterion {item!r}"
                              f"{_suggest(str(item), model.CRITERIA)} "
                              f"(known: {', '.join(model.CRITERIA)})")
    return tuple(value)


def _known_property(fields: _Fields, check: Check) -> None:
    """A check can only expect a violation of a property its design is checked against."""
    design, _ = resolve_design(check.resolved_design)
    workload = load_workload(check.workload or model.default_workload(design))
    names = Judge(design, model.Config(workload, check.workers), check.step_bound,
                  check.criteria).names()
    if check.property not in names:
        raise fields.fail("property", f"{check.property!r} is not checked for "
                          f"{check.design}{_suggest(check.property or '', names)} "
                          f"(checked: {', '.join(names)})")
