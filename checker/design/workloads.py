"""What a run is given: a workload spec (``transfers:txs=4``) or the user's own block file.

A block file (JSON, or TOML) states a block the way a protocol engineer has it: the
initial store, the module that owns each key, the transactions as programs of the
transaction language, and any design parameters (fault budgets such as ``replays``).
Its format is published as ``traces/block.schema.json``; docs/variants.md shows one.
A mistake is reported with the path of the offending field, exit 2.

A block becomes a ``model.Workload`` whose spec is ``block:NAME#DIGEST``, the digest of
the block's canonical JSON, so equal specs mean equal blocks. The loaded documents are
kept per process (``block_document``): a trace embeds the document of its block, a
parallel search sends it to its worker processes, and ``load_workload`` on the spec
finds it again, so a run on a block file replays from the trace alone.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shardcheck import model
from shardcheck.checker.errors import BadInput, parse_json, read_user_file

BLOCK_FORMAT = "shardcheck-block/1"
BLOCK_SUFFIXES = (".json", ".toml")
MAX_TRANSACTIONS = 64

_LOADED: dict[str, tuple[model.Workload, dict[str, Any]]] = {}


def is_block_file(text: str) -> bool:
    """Whether a ``--workload`` value names a block file rather than a generator spec."""
    return text.strip().lower().endswith(BLOCK_SUFFIXES)


def load_workload(text: str) -> model.Workload:
    """The workload a user named: a block file, the spec of a block loaded earlier in this
    process, or a generator spec (``model.build_workload``)."""
    if is_block_file(text):
        return load_block_file(text)
    if text.startswith("block:"):
        found = _LOADED.get(text)
        if found is None:
            raise BadInput(f"workload {text!r} is a block file's, and its block is not loaded "
                           "here: give the block file itself (--workload path/to/block.json), "
                           "or replay the trace, which carries the block")
        return found[0]
    return model.build_workload(text)


def load_block_file(path: str) -> model.Workload:
    """Read, validate and register a block file."""
    text = read_user_file(path, "block", BadInput)
    where = f"block file {path}"
    if path.lower().endswith(".toml"):
        try:
            document: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise BadInput(f"{where} is not valid TOML: {exc}") from None
    else:
        document = parse_json(text, where, BadInput)
    if isinstance(document, dict) and "name" not in document:
        document = {**document, "name": _name_from(Path(path).stem)}
    return register_block(document, where)


def block_document(spec: str) -> dict[str, Any] | None:
    """The block file document behind a ``block:`` spec loaded in this process, else None."""
    found = _LOADED.get(spec)
    return None if found is None else found[1]


def register_block(document: Any, where: str = "block") -> model.Workload:
    """Validate a block document (a trace's embedded block, a file's content) and make its
    spec loadable in this process; the workload it describes."""
    block = _Block(document, where)
    workload = block.workload()
    _LOADED[workload.spec] = (workload, block.canonical)
    return workload


def _name_from(stem: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-")
    return name or "block"


class _Block:
    """One block document, checked field by field; errors name the JSON path."""

    def __init__(self, document: Any, where: str) -> None:
        self.where = where
        self.document = document
        self.canonical: dict[str, Any] = {}

    def fail(self, path: str, message: str) -> BadInput:
        return BadInput(f"{self.where}: {path or 'the top level'}: {message}")

    def object(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected an object, got {_kind(value)}")
        return value

    def integer(self, value: Any, path: str) -> int:
        # bool is an int in Python, not in a block file; huge literals are a typo.
        if type(value) is not int:
            raise self.fail(path, f"expected an integer, got {_kind(value)}")
        if abs(value) >= 2**63:
            raise self.fail(path, f"{value} is out of range (|value| < 2^63)")
        return value

    def string(self, value: Any, path: str, pattern: str | None = None) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(path, f"expected a non-empty string, got {_kind(value)}")
        if pattern is not None and not re.fullmatch(pattern, value):
            raise self.fail(path, f"{value!r} is not allowed here (it must match {pattern})")
        return value

    def workload(self) -> model.Workload:
        doc = self.object(self.document, "")
        allowed = {"format", "name", "store", "modules", "params", "transactions"}
        for key in doc:
            if key not in allowed:
                raise self.fail(key, f"unknown field (fields: {', '.join(sorted(allowed))})")
        if doc.get("format", BLOCK_FORMAT) != BLOCK_FORMAT:
            raise self.fail("format", f"expected {BLOCK_FORMAT!r}, got {doc.get('format')!r}")
        name = self.string(doc.get("name", "block"), "name", r"[A-Za-z0-9_-]{1,64}")
        store = {self.string(k, f"store.{k}", r"[^\s@,=]{1,128}"): self.integer(v, f"store.{k}")
                 for k, v in self.object(doc.get("store", {}), "store").items()}
        modules = {self.string(k, f"modules.{k}", r"[^\s@,=]{1,128}"):
                   self.string(v, f"modules.{k}", r"[A-Za-z0-9_/-]{1,64}")
                   for k, v in self.object(doc.get("modules", {}), "modules").items()}
        params: dict[str, int | str] = {}
        for k, v in self.object(doc.get("params", {}), "params").items():
            key = self.string(k, f"params.{k}", r"[a-z_][a-z0-9_]{0,31}")
            params[key] = v if isinstance(v, str) else self.integer(v, f"params.{k}")
        raw = doc.get("transactions")
        if not isinstance(raw, list) or not raw:
            raise self.fail("transactions", "expected a non-empty list of transactions")
        if len(raw) > MAX_TRANSACTIONS:
            raise self.fail("transactions", f"{len(raw)} transactions; at most "
                            f"{MAX_TRANSACTIONS} (exhaustive search needs small blocks)")
        block = tuple(self.transaction(i, tx) for i, tx in enumerate(raw))
        self.canonical = {"format": BLOCK_FORMAT, "name": name,
                          "store": dict(sorted(store.items())),
                          "modules": dict(sorted(modules.items())),
                          "params": dict(sorted(params.items())),
                          "transactions": [_tx_json(tx, raw[tx.index]) for tx in block]}
        digest = hashlib.blake2b(json.dumps(self.canonical, sort_keys=True).encode(),
                                 digest_size=4).hexdigest()
        spec = f"block:{name}#{digest}"
        return model.Workload(spec, block, model.Store(store, modules),
                              tuple(sorted(params.items())))

    def transaction(self, index: int, raw: Any) -> model.Transaction:
        path = f"transactions[{index}]"
        tx = self.object(raw, path)
        for key in tx:
            if key not in ("label", "program"):
                raise self.fail(f"{path}.{key}", "unknown field (fields: label, program)")
        label = self.string(tx.get("label", f"T{index}"), f"{path}.label")
        program = tx.get("program")
        if not isinstance(program, list) or not program:
            raise self.fail(f"{path}.program", "expected a non-empty list of statements")
        return model.Transaction(index, label, tuple(
            self.statement(stmt, f"{path}.program[{i}]") for i, stmt in enumerate(program)))

    def statement(self, raw: Any, path: str) -> model.Stmt:
        stmt = self.object(raw, path)
        kinds = [k for k in ("read", "exists", "scan", "let", "require", "write") if k in stmt]
        if len(kinds) != 1:
            raise self.fail(path, "a statement has exactly one of read, exists, scan, let, "
                            f"require, write (got {', '.join(sorted(stmt)) or 'none'})")
        kind = kinds[0]
        fields = {"read": {"as"}, "exists": {"as"}, "scan": {"as"}, "let": {"be"},
                  "require": {"reason"}, "write": {"value", "if"}}[kind] | {kind}
        for key in stmt:
            if key not in fields:
                raise self.fail(f"{path}.{key}", f"unknown field of a {kind} statement "
                                f"(fields: {', '.join(sorted(fields))})")
        name = r"[A-Za-z_][A-Za-z0-9_]{0,63}"
        key_pattern = r"[^\s]{1,128}"
        if kind in ("read", "exists", "scan"):
            target = self.string(stmt.get("as"), f"{path}.as", name)
            subject = self.string(stmt[kind], f"{path}.{kind}", key_pattern)
            if kind == "read":
                return model.Read(target, subject)
            if kind == "exists":
                return model.Exists(target, subject)
            return model.Scan(target, subject)
        if kind == "let":
            return model.Let(self.string(stmt["let"], f"{path}.let", name),
                             self.expr(stmt.get("be"), f"{path}.be"))
        if kind == "require":
            reason = stmt.get("reason", "require failed")
            return model.Require(self.expr(stmt["require"], f"{path}.require"),
                                 self.string(reason, f"{path}.reason"))
        key = self.string(stmt["write"], f"{path}.write", key_pattern)
        value = self.expr(stmt.get("value"), f"{path}.value")
        if "if" in stmt:
            return model.WriteIf(self.expr(stmt["if"], f"{path}.if"), key, value)
        return model.Write(key, value)

    def expr(self, raw: Any, path: str) -> model.Expr:
        if type(raw) is int:
            return model.Const(self.integer(raw, path))
        text = self.string(raw, path)
        # Imported here: the expression syntax is the one invariants use (checker.prove).
        from shardcheck.checker.prove import parse_expression

        try:
            return parse_expression(text, f"{self.where}: {path}")
        except BadInput:
            raise
        except Exception as exc:  # any failure to read the text is the file's
            raise self.fail(path, f"{text!r} cannot be read: {exc}") from None


def _tx_json(tx: model.Transaction, raw: Mapping[str, Any]) -> dict[str, Any]:
    """A transaction as the canonical document keeps it: its label and its statements as
    written (expressions as text), so the embedded block reads like the user's file."""
    return {"label": tx.label, "program": list(raw["program"])}


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)
