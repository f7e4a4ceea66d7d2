"""History files: JSON or JSON Lines in the versioned format of ``traces/history.schema.json``.

The loader checks each field as it converts it, so the first bad one is named with its
place in the file (``transactions[3].ops[1].value``) without a schema pass: a generic
validator took 58 s on a 100,000-transaction file that this reads in about two.
The schema is the published contract; the tests hold the two to the same answers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shardcheck.checker.errors import BadInput
from shardcheck.checker.history.indexed import check_references, collector_paused
from shardcheck.checker.history.records import History, HistoryTx, Op, Read, TxState, Value, Write

FORMAT = "shardcheck-history"
FORMAT_VERSION = 1
HEADER_FIELDS = ("format", "version", "description", "initial", "final", "versions", "preset",
                 "modules")
_UNSET = object()


class HistoryFileError(BadInput):
    """A history file is missing, unreadable or not in the format."""


def _whole(raw: Any) -> Any:
    # JSON Schema counts 2.0 as an integer; so do we.
    return int(raw) if isinstance(raw, float) and raw.is_integer() else raw


def _tx_id(raw: Any, where: str) -> str:
    raw = _whole(raw)
    if isinstance(raw, bool) or not isinstance(raw, (str, int)) or raw == "" or (
            isinstance(raw, int) and raw < 0):
        raise HistoryFileError(f"{where}: a transaction id is a non-empty string or a "
                               f"non-negative integer, not {json.dumps(raw)}")
    return f"T{raw}" if isinstance(raw, int) else raw


def _value(raw: Any, where: str) -> Value:
    raw = _whole(raw)
    if isinstance(raw, bool) or not (raw is None or isinstance(raw, (int, str))):
        raise HistoryFileError(f"{where}: a value is an integer, a string or null, not "
                               f"{json.dumps(raw)}")
    return raw


def _object(raw: Any, where: str, required: tuple[str, ...], allowed: tuple[str, ...]
            ) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise HistoryFileError(f"{where}: expected an object, got {type(raw).__name__}")
    for name in required:
        if name not in raw:
            raise HistoryFileError(f"{where}: missing required field {name!r}")
    for name in raw:
        if name not in allowed:
            raise HistoryFileError(f"{where}: unknown field {name!r}; allowed: "
                                   f"{', '.join(allowed)}")
    return raw


def _key(raw: Any, where: str) -> str:
    if not isinstance(raw, str) or not raw:
        raise HistoryFileError(f"{where}: a key is a non-empty string, not {json.dumps(raw)}")
    return raw


class _Parser:
    """Converts one document (or one header plus lines) into a History."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.header: dict[str, Any] = {}

    def read_header(self, raw: Any, where: str) -> None:
        fields = (*HEADER_FIELDS, "transactions")
        doc = _object(raw, where or "the document", ("format", "version"), fields)
        if doc["format"] != FORMAT:
            raise HistoryFileError(f"{where or 'the document'}.format: expected {FORMAT!r}, "
                                   f"got {json.dumps(doc['format'])}; is this a history file?")
        if type(_whole(doc["version"])) is not int or _whole(doc["version"]) != FORMAT_VERSION:
            raise HistoryFileError(f"{where or 'the document'}.version: this shardcheck reads "
                                   f"version {FORMAT_VERSION}, the file is version "
                                   f"{json.dumps(doc['version'])}")
        if "description" in doc and not isinstance(doc["description"], str):
            raise HistoryFileError(f"{where + '.' if where else ''}description: expected a "
                                   f"string, not {json.dumps(doc['description'])}")
        for name in ("initial", "final", "versions", "preset", "modules"):
            if name in doc and doc[name] is None:
                raise HistoryFileError(f"{name}: expected "
                                       f"{'a list' if name == 'preset' else 'an object'}, "
                                       "not null; leave the field out when it is unknown")
        self.header = doc

    def transaction(self, raw: Any, where: str) -> tuple[str, str, list[tuple[Any, ...]], str]:
        doc = _object(raw, where, ("id", "ops"), ("id", "status", "ops"))
        tid = _tx_id(doc["id"], f"{where}.id")
        status = doc.get("status", "committed")
        if status not in ("committed", "aborted"):
            raise HistoryFileError(f"{where}.status: 'committed' or 'aborted', not "
                                   f"{json.dumps(status)}")
        ops_raw = doc["ops"]
        if not isinstance(ops_raw, list):
            raise HistoryFileError(f"{where}.ops: expected a list of operations")
        ops: list[tuple[Any, ...]] = []
        for i, op in enumerate(ops_raw):
            at = f"{where}.ops[{i}]"
            kind = op.get("op") if isinstance(op, dict) else None
            if kind == "read":
                o = _object(op, at, ("key", "value"), ("op", "key", "value", "from"))
                writer: Any = _UNSET
                if "from" in o:
                    writer = None if o["from"] is None else _tx_id(o["from"], f"{at}.from")
                ops.append(("r", _key(o["key"], f"{at}.key"), _value(o["value"], f"{at}.value"),
                            writer, at))
            elif kind == "write":
                o = _object(op, at, ("key", "value"), ("op", "key", "value"))
                ops.append(("w", _key(o["key"], f"{at}.key"), _value(o["value"], f"{at}.value")))
            else:
                raise HistoryFileError(f"{at}.op: expected \"read\" or \"write\", got "
                                       f"{json.dumps(kind) if isinstance(op, dict) else op!r}")
        return tid, status, ops, where

    def build(self, txs: list[tuple[str, str, list[tuple[Any, ...]], str]]) -> History:
        h = self.header
        initial = self._store("initial")
        seen: dict[str, str] = {}
        for tid, _, _, where in txs:
            if tid in seen:
                raise HistoryFileError(f"{where}.id: {tid!r} is already the id of "
                                       f"{seen[tid]}")
            seen[tid] = where
        inferred = _writers_by_value(txs)
        transactions = []
        for tid, status, raw_ops, _ in txs:
            state: TxState = "aborted" if status == "aborted" else "committed"
            ops: list[Op] = []
            wrote: set[str] = set()
            own_values = {(op[1], op[2]) for op in raw_ops if op[0] == "w"}
            for op in raw_ops:
                if op[0] == "w":
                    ops.append(Write(op[1], op[2]))
                    wrote.add(op[1])
                    continue
                _, key, value, writer, at = op
                if writer is _UNSET:
                    writer = tid if key in wrote else _infer(key, value, inferred, initial, at,
                                                             tid, own_values)
                elif writer is not None and writer not in seen:
                    raise HistoryFileError(f"{at}.from: {writer!r} is not a transaction of "
                                           "this history")
                ops.append(Read(key, value, writer))
            transactions.append(HistoryTx(tid, state, tuple(ops)))
        versions = h.get("versions", {})
        if not isinstance(versions, dict):
            raise HistoryFileError("versions: expected an object mapping keys to lists of ids")
        version_pairs = []
        for key, order in versions.items():
            if not isinstance(order, list):
                raise HistoryFileError(f"versions.{key}: expected a list of transaction ids")
            ids = [_tx_id(x, f"versions.{key}[{i}]") for i, x in enumerate(order)]
            for i, x in enumerate(ids):
                if x not in seen:
                    raise HistoryFileError(f"versions.{key}[{i}]: {x!r} is not a transaction "
                                           "of this history")
            version_pairs.append((key, tuple(ids)))
        preset = h.get("preset")
        if preset is not None:
            if not isinstance(preset, list):
                raise HistoryFileError("preset: expected a list of transaction ids")
            preset = [_tx_id(x, f"preset[{i}]") for i, x in enumerate(preset)]
            for i, x in enumerate(preset):
                if x not in seen:
                    raise HistoryFileError(f"preset[{i}]: {x!r} is not a transaction of this "
                                           "history")
        modules = h.get("modules", {})
        if not isinstance(modules, dict) or not all(
                isinstance(m, str) and m for m in modules.values()):
            raise HistoryFileError("modules: expected an object mapping keys to module names")
        return History(tuple(transactions), initial=initial, versions=version_pairs,
                       final=self._store("final"), preset=preset, modules=modules)

    def _store(self, name: str) -> dict[str, Value] | None:
        raw = self.header.get(name)
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise HistoryFileError(f"{name}: expected an object mapping keys to values")
        return {key: _value(v, f"{name}.{key}") for key, v in raw.items()}


def _writers_by_value(txs: list[tuple[str, str, list[tuple[Any, ...]], str]]
                      ) -> dict[tuple[str, Value], list[str]]:
    out: dict[tuple[str, Value], list[str]] = {}
    for tid, _, ops, _ in txs:
        for op in ops:
            if op[0] == "w":
                writers = out.setdefault((op[1], op[2]), [])
                if tid not in writers:
                    writers.append(tid)
    return out


def _infer(key: str, value: Value, by_value: dict[tuple[str, Value], list[str]],
           initial: dict[str, Value] | None, at: str, reader: str,
           own_values: set[tuple[str, Value]]) -> str | None:
    """The writer of a read recorded without ``from``, when its value names one. Its own
    writes so far were settled before this is asked; a value only the reader itself writes
    later is a read of its own future write (reported as ``internal``)."""
    candidates = [w for w in by_value.get((key, value), ()) if w != reader]
    from_initial = initial is not None and initial.get(key, _UNSET) == value
    if not candidates and not from_initial and (key, value) in own_values:
        return reader
    if len(candidates) + from_initial > 1:
        names = [*candidates, *(["the initial store"] if from_initial else [])]
        shown = ", ".join(names[:3]) + (" and others" if len(names) > 3 else "")
        raise HistoryFileError(f"{at}: cannot tell who wrote {key} = {json.dumps(value)}: "
                               f"it could come from {shown}; record \"from\" on this read "
                               "or write unique values per key")
    return candidates[0] if candidates else None


def parse_history(doc: Any, source: str = "history") -> History:
    """A History from an already parsed JSON document."""
    parser = _Parser(source)
    try:
        parser.read_header(doc, "")
        raw = parser.header.get("transactions")
        if not isinstance(raw, list):
            raise HistoryFileError("transactions: expected a list of transactions")
        txs = [parser.transaction(t, f"transactions[{i}]") for i, t in enumerate(raw)]
        return parser.build(txs)
    except HistoryFileError as error:
        raise HistoryFileError(f"{source}: {error}") from None


def _lines(text: str) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as error:
                raise HistoryFileError(f"line {number}: not JSON ({error.msg} at column "
                                       f"{error.colno})") from None


def parse_history_lines(text: str, source: str = "history") -> History:
    """A History from JSON Lines: the header first, then one transaction per line."""
    parser = _Parser(source)
    try:
        lines = _lines(text)
        first = next(lines, None)
        if first is None:
            raise HistoryFileError("the file is empty; the first line is the header")
        parser.read_header(first[1], f"line {first[0]}")
        if "transactions" in parser.header:
            raise HistoryFileError(f"line {first[0]}: in JSON Lines the header has no "
                                   "\"transactions\"; put one transaction on each line")
        txs = [parser.transaction(doc, f"line {number}") for number, doc in lines]
        return parser.build(txs)
    except HistoryFileError as error:
        raise HistoryFileError(f"{source}: {error}") from None


def load_history(path: str | Path) -> History:
    """Read a history file; ``.jsonl``/``.ndjson`` files are JSON Lines, others JSON."""
    with collector_paused():
        history = _load(Path(path))
        try:
            check_references(history)
        except BadInput as error:
            raise HistoryFileError(f"{path}: {error}") from None
        return history


def _load(p: Path) -> History:
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise HistoryFileError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise HistoryFileError(f"{p}: cannot read it ({error})") from None
    if p.suffix in (".jsonl", ".ndjson"):
        return parse_history_lines(text, str(p))
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as error:
        hint = ("; for one transaction per line name the file .jsonl"
                if error.msg == "Extra data" else "")
        raise HistoryFileError(f"{p}: not JSON ({error.msg} at line {error.lineno}, column "
                               f"{error.colno}){hint}") from None
    return parse_history(doc, str(p))


def history_to_json(history: History, description: str | None = None) -> dict[str, Any]:
    """The JSON document of a history, every read with its writer spelled out."""
    doc: dict[str, Any] = {"format": FORMAT, "version": FORMAT_VERSION}
    if description:
        doc["description"] = description
    if history.initial is not None:
        doc["initial"] = dict(history.initial)
    if history.final is not None:
        doc["final"] = dict(history.final)
    if history.versions:
        doc["versions"] = {k: list(v) for k, v in history.versions}
    if history.preset is not None:
        doc["preset"] = list(history.preset)
    if history.modules:
        doc["modules"] = dict(history.modules)
    doc["transactions"] = [
        {"id": t.id, "status": t.status,
         "ops": [{"op": "read", "key": op.key, "value": op.value, "from": op.writer}
                 if isinstance(op, Read) else {"op": "write", "key": op.key, "value": op.value}
                 for op in t.ops]}
        for t in history.transactions]
    return doc
