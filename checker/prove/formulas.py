"""State formulas: the invariants ``shardcheck prove`` checks, and their small syntax.

A formula is an expression of the transaction language (the same operators with the
same meaning: absent keys read 0, ``//`` and ``%`` floor and give 0 on a zero divisor,
comparisons and ``and``/``or``/``not`` give 1 or 0, anything non-zero is true) whose
variables are *atoms* of a store instead of local variables:

    acct0                  the value of key acct0 (0 when absent); any identifier
    store["acct/0"]        the value of a key whose name is not an identifier
    exists("acct/0")       1 when the key is present, else 0
    sum("acct")            the sum over every present key starting with the prefix

plus integer literals, unary minus, ``+ - * // %``, ``min(a, b)``, ``max(a, b)``,
comparisons (chains such as ``0 <= x <= 10`` mean both), ``and``, ``or`` and ``not``.

Reusing the language's expressions means one evaluator (``model.evaluate``) and one
symbolic translation serve both programs and invariants, so they cannot disagree. The
text is parsed with Python's ``ast`` module and every node outside that list is
refused: nothing is ever evaluated by Python itself.
"""

from __future__ import annotations

import ast
from typing import Literal

import attrs

from shardcheck import model
from shardcheck.checker.errors import BadInput

AtomKind = Literal["value", "exists", "sum"]


@attrs.frozen
class Atom:
    """A fact about the store a formula refers to: a key's value or presence, a prefix sum."""

    kind: AtomKind
    name: str
    """The key (value, exists) or the prefix (sum)."""

    @property
    def var(self) -> str:
        """The variable that stands for this atom in the formula's expression."""
        # Quotes keep it apart from any program variable or key name.
        return f"{self.kind}({self.name!r})"

    def value_in(self, store: model.Store) -> int:
        """The atom's value in a concrete store."""
        if self.kind == "value":
            return store.get(self.name) or 0
        if self.kind == "exists":
            return int(store.get(self.name) is not None)
        return sum(v for k, v in store.values if k.startswith(self.name))


def _as_atoms(value: tuple[Atom, ...] | list[Atom]) -> tuple[Atom, ...]:
    return tuple(sorted(set(value), key=lambda a: (a.kind, a.name)))


@attrs.frozen
class StateFormula:
    """An integer-valued expression over atoms of one store; true when non-zero."""

    text: str
    expr: model.Expr
    atoms: tuple[Atom, ...] = attrs.field(converter=_as_atoms)

    def value_in(self, store: model.Store) -> int:
        """The formula's value in a concrete store."""
        return model.evaluate(self.expr, {a.var: a.value_in(store) for a in self.atoms})


InvariantKind = Literal["holds", "unchanged"]


@attrs.frozen
class Invariant:
    """What a transaction must preserve.

    ``holds``: if the formula is true (non-zero) before, it is true after.
    ``unchanged``: the formula has the same value before and after (conservation).
    """

    kind: InvariantKind
    formula: StateFormula
    description: str


_ARITHMETIC: dict[type[ast.operator], str] = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.FloorDiv: "//", ast.Mod: "%",
}
_COMPARE: dict[type[ast.cmpop], str] = {
    ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
}
SYNTAX_HELP = ("integers, key names, store[\"key\"], exists(\"key\"), sum(\"prefix\"), "
               "+ - * // %, min, max, comparisons, and, or, not")


def _bin(op: str, left: model.Expr, right: model.Expr) -> model.Expr:
    # BinOp's op is a Literal; every op we build comes from the tables above.
    return model.BinOp(op, left, right)  # type: ignore[arg-type]


MAX_TEXT = 10_000
"""The longest expression accepted: far beyond any invariant or program a person writes,
and short enough that parsing cannot exhaust the interpreter's stack."""

LOCALS_HELP = ("integers, variable names, + - * // %, min, max, comparisons, and, or, not")


class _Reader:
    """Turns a restricted Python expression tree into a formula, collecting its atoms.

    With ``locals``, names are a program's local variables (a block file's expressions)
    and the store atoms (``store[...]``, ``exists``, ``sum``) are refused.
    """

    def __init__(self, text: str, what: str = "invariant", locals: bool = False) -> None:
        self.text = text
        self.what = what
        self.locals = locals
        self.atoms: list[Atom] = []

    def fail(self, node: ast.AST, what: str) -> BadInput:
        allowed = LOCALS_HELP if self.locals else SYNTAX_HELP
        return BadInput(f"{self.what} {_shown(self.text)}: {what} (allowed: {allowed})")

    def atom(self, kind: AtomKind, name: str) -> model.Expr:
        found = Atom(kind, name)
        self.atoms.append(found)
        return model.Var(found.var)

    def string_argument(self, node: ast.Call | ast.Subscript, what: str) -> str:
        arg: ast.expr | None
        if isinstance(node, ast.Subscript):
            arg = node.slice
        else:
            arg = node.args[0] if len(node.args) == 1 and not node.keywords else None
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            raise self.fail(node, f"{what} takes one quoted string")
        return arg.value

    def read(self, node: ast.expr) -> model.Expr:
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return model.Const(node.value)
        if isinstance(node, ast.Name):
            return model.Var(node.id) if self.locals else self.atom("value", node.id)
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
                and node.value.id == "store" and not self.locals:
            return self.atom("value", self.string_argument(node, "store[...]"))
        if isinstance(node, ast.UnaryOp):
            operand = self.read(node.operand)
            if isinstance(node.op, ast.USub):
                return _bin("-", model.Const(0), operand)
            if isinstance(node.op, ast.UAdd):
                return operand
            if isinstance(node.op, ast.Not):
                return model.Not(operand)
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
            return _bin(_ARITHMETIC[type(node.op)], self.read(node.left), self.read(node.right))
        if isinstance(node, ast.BoolOp):
            op = "and" if isinstance(node.op, ast.And) else "or"
            values = [self.read(v) for v in node.values]
            result = values[0]
            for value in values[1:]:
                result = _bin(op, result, value)
            return result
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return self.call(node, node.func.id)
        raise self.fail(node, f"{ast.unparse(node)!r} is not allowed")

    def compare(self, node: ast.Compare) -> model.Expr:
        parts: list[model.Expr] = []
        left = self.read(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            if type(op) not in _COMPARE:
                raise self.fail(node, f"comparison {type(op).__name__} is not allowed")
            right = self.read(comparator)
            parts.append(_bin(_COMPARE[type(op)], left, right))
            left = right
        result = parts[0]
        for part in parts[1:]:
            result = _bin("and", result, part)
        return result

    def call(self, node: ast.Call, name: str) -> model.Expr:
        if name in ("exists", "sum") and not self.locals:
            kind: AtomKind = "exists" if name == "exists" else "sum"
            return self.atom(kind, self.string_argument(node, f"{name}(...)"))
        if name in ("min", "max"):
            if len(node.args) != 2 or node.keywords:
                raise self.fail(node, f"{name} takes two arguments")
            return _bin(name, self.read(node.args[0]), self.read(node.args[1]))
        raise self.fail(node, f"unknown function {name!r}")


def _shown(text: str) -> str:
    """The text as an error message quotes it: whole when short, cut when long."""
    return repr(text) if len(text) <= 80 else repr(text[:77] + "...")


def _read(reader: _Reader) -> model.Expr:
    text = reader.text
    if len(text) > MAX_TEXT:
        raise BadInput(f"{reader.what} is {len(text):,} characters long; the limit is "
                       f"{MAX_TEXT:,}: split it, or compute parts with let")
    try:
        tree = ast.parse(text.strip(), mode="eval")
        return reader.read(tree.body)
    except SyntaxError as exc:
        raise BadInput(f"{reader.what} {_shown(text)} does not parse: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise BadInput(f"{reader.what} {_shown(text)} is nested too deeply to read") from None


def parse_formula(text: str) -> StateFormula:
    """Parse ``text`` in the syntax above; raises ``BadInput`` with one readable line."""
    reader = _Reader(text)
    expr = _read(reader)
    return StateFormula(text.strip(), expr, reader.atoms)


def parse_expression(text: str, what: str) -> model.Expr:
    """An expression of the transaction language over local variables (``a - 2``,
    ``src >= amount and not frozen``); ``what`` names it in errors (a JSON path, say)."""
    return _read(_Reader(text, what, locals=True))


def nonnegative(prefix: str, keys: tuple[str, ...]) -> StateFormula:
    """Every key with ``prefix`` among ``keys`` holds a value >= 0 (absent keys read 0)."""
    chosen = [k for k in keys if k.startswith(prefix)]
    expr: model.Expr = model.Const(1)
    atoms = [Atom("value", k) for k in chosen]
    for atom in atoms:
        expr = _bin("and", expr, _bin(">=", model.Var(atom.var), model.Const(0)))
    return StateFormula(f"every {prefix}* >= 0", expr, atoms)


def conserved_sum(prefix: str) -> StateFormula:
    """The sum over present keys starting with ``prefix``."""
    atom = Atom("sum", prefix)
    return StateFormula(f"sum({prefix!r})", model.Var(atom.var), [atom])


def check_atoms(formula: StateFormula, keys: tuple[str, ...], workload: str) -> None:
    """Refuse a formula naming a key, or a prefix matching nothing, the workload does not name.

    The claim quantifies over those keys only, so a misspelt key would silently be an
    always-absent key and the answer would mean nothing.
    """
    for atom in formula.atoms:
        if atom.kind == "sum":
            if not any(k.startswith(atom.name) for k in keys):
                raise BadInput(f"no key of workload {workload} starts with {atom.name!r} "
                               f"(keys: {', '.join(keys)})")
        elif atom.name not in keys:
            raise BadInput(f"unknown key {atom.name!r} in {formula.text!r}: workload "
                           f"{workload} names {', '.join(keys)}")

