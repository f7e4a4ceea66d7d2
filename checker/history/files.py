"""History files: JSON or JSON Lines in the versioned format of ``traces/history.schema.json``.

The loader checks each field as it converts it, so the first bad one is named with its
place in the file (``transactions[3].ops[1].value``) without a schema pass: a generic
validator took 58 s on a 100,000-transaction file that this reads in about two.
The schema is the published contract; the tests hold the two to the same answers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from shardcheck.checker.errors import BadInput
from shardcheck.checker.history.indexed import check_references, collector_paused
from shardcheck.checker.history.records import (
    History,
    HistoryTx,
    Op,
    Read,
    Time,
    TxState,
    Value,
    Write,
)

FORMAT = "shardcheck-history"
FORMAT_VERSION = 1
HEADER_FIELDS = ("format", "version", "description", "value_type", "initial", "final",
                 "versions", "preset", "modules")
TX_FIELDS = ("id", "status", "start", "end", "process", "ops")
STATUSES = ("committed", "aborted", "indeterminate")
VALUE_TYPES = ("register", "list-append")
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
                               f"non-negative integer, not {_shown(raw)}")
    return f"T{raw}" if isinstance(raw, int) else raw


def _shown(raw: Any) -> str:
    """A value from the file in a message, cut short when it is long."""
    try:
        text = json.dumps(raw)
    except (TypeError, ValueError):
        text = repr(raw)
    return text if len(text) <= 60 else text[:57] + "..."


def _value(raw: Any, where: str) -> Value:
    raw = _whole(raw)
    if isinstance(raw, bool) or not (raw is None or isinstance(raw, (int, str))):
        raise HistoryFileError(f"{where}: a value is an integer, a string or null, not "
                               f"{_shown(raw)}")
    return raw


def _list_value(raw: Any, where: str) -> tuple[Value, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise HistoryFileError(f"{where}: a list-append read sees a list of values (or "
                               f"null for an empty key), not {_shown(raw)}")
    return tuple(_value(item, f"{where}[{i}]") for i, item in enumerate(raw))


def _time(raw: Any, where: str) -> Time:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
        raise HistoryFileError(f"{where}: a time is a finite number, not {_shown(raw)}")
    return _whole(raw)  # type: ignore[no-any-return]


def _process(raw: Any, where: str) -> str:
    raw = _whole(raw)
    if isinstance(raw, bool) or not isinstance(raw, (str, int)) or raw == "":
        raise HistoryFileError(f"{where}: a process is a non-empty string or an integer, "
                               f"not {_shown(raw)}")
    return str(raw)


def _object(raw: Any, where: str, required: tuple[str, ...], allowed: tuple[str, ...]
            ) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise HistoryFileError(f"{where}: expected an object, got {type(raw).__name__}")
    for name in required:
        if name not in raw:
            raise HistoryFileError(f"{where}: missing required field {name!r}")
    for name in raw:
        if name not in allowed:
            raise HistoryFileError(f"{where}: unknown field {name[:40]!r}; allowed: "
                                   f"{', '.join(allowed)}")
    return raw


def _key(raw: Any, where: str) -> str:
    if not isinstance(raw, str) or not raw:
        raise HistoryFileError(f"{where}: a key is a non-empty string, not {_shown(raw)}")
    return raw


class _Raw(NamedTuple):
    """One transaction as read, before references between transactions are resolved."""

    tid: str
    status: TxState
    ops: list[tuple[Any, ...]]
    where: str
    start: Time | None
    end: Time | None
    process: str | None


class _Parser:
    """Converts one document (or one header plus lines) into a History."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.header: dict[str, Any] = {}
        self.lists = False

    def read_header(self, raw: Any, where: str) -> None:
        fields = (*HEADER_FIELDS, "transactions")
        doc = _object(raw, where or "the document", ("format", "version"), fields)
        if doc["format"] != FORMAT:
            raise HistoryFileError(f"{where or 'the document'}.format: expected {FORMAT!r}, "
                                   f"got {_shown(doc['format'])}; is this a history file?")
        if type(_whole(doc["version"])) is not int or _whole(doc["version"]) != FORMAT_VERSION:
            raise HistoryFileError(f"{where or 'the document'}.version: this shardcheck reads "
                                   f"version {FORMAT_VERSION}, the file is version "
                                   f"{_shown(doc['version'])}")
        if "description" in doc and not isinstance(doc["description"], str):
            raise HistoryFileError(f"{where + '.' if where else ''}description: expected a "
                                   f"string, not {_shown(doc['description'])}")
        for name in ("initial", "final", "versions", "preset", "modules"):
            if name in doc and doc[name] is None:
                raise HistoryFileError(f"{name}: expected "
                                       f"{'a list' if name == 'preset' else 'an object'}, "
                                       "not null; leave the field out when it is unknown")
        value_type = doc.get("value_type", "register")
        if value_type not in VALUE_TYPES:
            raise HistoryFileError(f"value_type: 'register' or 'list-append', not "
                                   f"{_shown(value_type)}")
        self.lists = value_type == "list-append"
        if self.lists:
            for name in ("initial", "final"):
                if name in doc:
                    raise HistoryFileError(f"{name}: a list-append history starts every key "
                                           "empty and learns its lists from reads; leave "
                                           f"{name} out")
        self.header = doc

    def transaction(self, raw: Any, where: str) -> _Raw:
        doc = _object(raw, where, ("id", "ops"), TX_FIELDS)
        tid = _tx_id(doc["id"], f"{where}.id")
        status = doc.get("status", "committed")
        if status not in STATUSES:
            raise HistoryFileError(f"{where}.status: 'committed', 'aborted' or "
                                   f"'indeterminate', not {_shown(status)}")
        start = _time(doc["start"], f"{where}.start") if "start" in doc else None
        end = _time(doc["end"], f"{where}.end") if "end" in doc else None
        if start is not None and end is not None and end < start:
            raise HistoryFileError(f"{where}.end: {end:g} is before its start {start:g}")
        process = _process(doc["process"], f"{where}.process") if "process" in doc else None
        ops_raw = doc["ops"]
        if not isinstance(ops_raw, list):
            raise HistoryFileError(f"{where}.ops: expected a list of operations")
        ops = [self._op(op, f"{where}.ops[{i}]") for i, op in enumerate(ops_raw)]
        return _Raw(tid, status, ops, where, start, end, process)

    def _op(self, op: Any, at: str) -> tuple[Any, ...]:
        kind = op.get("op") if isinstance(op, dict) else None
        if kind == "read" and self.lists:
            o = _object(op, at, ("key", "value"), ("op", "key", "value"))
            return ("r", _key(o["key"], f"{at}.key"), _list_value(o["value"], f"{at}.value"),
                    _UNSET, at)
        if kind == "read":
            o = _object(op, at, ("key", "value"), ("op", "key", "value", "from"))
            writer: Any = _UNSET
            if "from" in o:
                writer = None if o["from"] is None else _tx_id(o["from"], f"{at}.from")
            return ("r", _key(o["key"], f"{at}.key"), _value(o["value"], f"{at}.value"),
                    writer, at)
        if kind == "write" and not self.lists:
            o = _object(op, at, ("key", "value"), ("op", "key", "value", "replaces"))
            replaced: Any = _UNSET
            if "replaces" in o:
                replaced = (None if o["replaces"] is None
                            else _tx_id(o["replaces"], f"{at}.replaces"))
            return ("w", _key(o["key"], f"{at}.key"), _value(o["value"], f"{at}.value"),
                    replaced, at)
        if kind == "append" and self.lists:
            o = _object(op, at, ("key", "value"), ("op", "key", "value"))
            return ("w", _key(o["key"], f"{at}.key"), _value(o["value"], f"{at}.value"),
                    _UNSET, at)
        expected = '"read" or "append"' if self.lists else '"read" or "write"'
        if kind in ("write", "append"):
            other = "register" if self.lists else "list-append"
            raise HistoryFileError(f"{at}.op: {_shown(kind)} belongs to {other} histories; "
                                   f"this one's value_type allows {expected}")
        raise HistoryFileError(f"{at}.op: expected {expected}, got "
                               f"{_shown(kind) if isinstance(op, dict) else _shown(op)}")

    def build(self, txs: list[_Raw]) -> History:
        h = self.header
        initial = self._store("initial")
        seen: dict[str, str] = {}
        for raw in txs:
            if raw.tid in seen:
                raise HistoryFileError(f"{raw.where}.id: {raw.tid!r} is already the id of "
                                       f"{seen[raw.tid]}")
            seen[raw.tid] = raw.where
        inferred = _writers_by_value(txs)
        transactions = []
        replaces: list[tuple[str, str, str | None]] = []
        for raw in txs:
            tid = raw.tid
            ops: list[Op] = []
            lists: list[tuple[Value, ...]] = []
            wrote: set[str] = set()
            own_values = {(op[1], op[2]) for op in raw.ops if op[0] == "w"}
            for op in raw.ops:
                if op[0] == "w":
                    _, key, value, replaced, at = op
                    if replaced is not _UNSET and key not in wrote:
                        if replaced is not None and replaced not in seen:
                            raise HistoryFileError(f"{at}.replaces: {replaced!r} is not a "
                                                   "transaction of this history")
                        replaces.append((tid, key, replaced))
                    ops.append(Write(key, value))
                    wrote.add(key)
                    continue
                _, key, value, writer, at = op
                if self.lists:
                    lists.append(value)
                    writer = _appender(key, value, inferred, at)
                    value = value[-1] if value else None
                elif writer is _UNSET:
                    writer = tid if key in wrote else _infer(key, value, inferred, initial, at,
                                                             tid, own_values)
                elif writer is not None and writer not in seen:
                    raise HistoryFileError(f"{at}.from: {writer!r} is not a transaction of "
                                           "this history")
                ops.append(Read(key, value, writer))
            transactions.append(HistoryTx(tid, raw.status, tuple(ops), start=raw.start,
                                          end=raw.end, process=raw.process,
                                          lists=tuple(lists)))
        versions, chains = self._versions(seen)
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
        if self.lists:
            # Every list starts empty: a read of an empty list is a read of the initial one.
            keys = {op.key for t in transactions for op in t.ops}
            initial = dict.fromkeys(sorted(keys))
        return History(tuple(transactions), initial=initial, versions=versions,
                       final=self._store("final"), preset=preset, modules=modules,
                       version_chains=chains, replaces=replaces,
                       value_type="list-append" if self.lists else "register")

    def _versions(self, seen: dict[str, str]
                  ) -> tuple[list[tuple[str, tuple[str, ...]]],
                             list[tuple[str, tuple[tuple[str, ...], ...]]]]:
        """Total version orders (a list of ids) and partial ones (a list of chains)."""
        versions = self.header.get("versions", {})
        if not isinstance(versions, dict):
            raise HistoryFileError("versions: expected an object mapping keys to lists of ids")
        total: list[tuple[str, tuple[str, ...]]] = []
        partial: list[tuple[str, tuple[tuple[str, ...], ...]]] = []

        def ids(order: list[Any], where: str) -> tuple[str, ...]:
            out = tuple(_tx_id(x, f"{where}[{i}]") for i, x in enumerate(order))
            for i, x in enumerate(out):
                if x not in seen:
                    raise HistoryFileError(f"{where}[{i}]: {x!r} is not a transaction of "
                                           "this history")
            return out

        for key, order in versions.items():
            where = f"versions.{key}"
            if not isinstance(order, list):
                raise HistoryFileError(f"{where}: expected a list of transaction ids (the "
                                       "whole order) or a list of lists (partial orders)")
            if order and all(isinstance(chain, list) for chain in order):
                partial.append((key, tuple(ids(chain, f"{where}[{i}]")
                                           for i, chain in enumerate(order))))
            elif any(isinstance(x, list) for x in order):
                raise HistoryFileError(f"{where}: either a list of ids or a list of lists "
                                       "of ids, not a mix of both")
            else:
                total.append((key, ids(order, where)))
        return total, partial

    def _store(self, name: str) -> dict[str, Value] | None:
        raw = self.header.get(name)
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise HistoryFileError(f"{name}: expected an object mapping keys to values")
        return {key: _value(v, f"{name}.{key}") for key, v in raw.items()}


def _writers_by_value(txs: list[_Raw]) -> dict[tuple[str, Value], list[str]]:
    out: dict[tuple[str, Value], list[str]] = {}
    for raw in txs:
        for op in raw.ops:
            if op[0] == "w":
                writers = out.setdefault((op[1], op[2]), [])
                if raw.tid not in writers:
                    writers.append(raw.tid)
    return out


def _appender(key: str, seen: tuple[Value, ...], by_value: dict[tuple[str, Value], list[str]],
              at: str) -> str | None:
    """Who appended the last element of a list read: the version the read saw."""
    if not seen:
        return None
    writers = by_value.get((key, seen[-1]), [])
    if len(writers) > 1:
        raise HistoryFileError(f"{at}: cannot tell who appended {_shown(seen[-1])} to {key}: "
                               f"{', '.join(writers[:3])} all did; append unique values "
                               "per key")
    return writers[0] if writers else None


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
        raise HistoryFileError(f"{at}: cannot tell who wrote {key} = {_shown(value)}: "
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
    lists = history.value_type == "list-append"
    if lists:
        doc["value_type"] = history.value_type
    if history.initial is not None and not lists:
        doc["initial"] = dict(history.initial)
    if history.final is not None and not lists:
        doc["final"] = dict(history.final)
    if history.versions or history.version_chains:
        doc["versions"] = {k: list(v) for k, v in history.versions}
        doc["versions"].update({k: [list(c) for c in chains]
                                for k, chains in history.version_chains})
    if history.preset is not None:
        doc["preset"] = list(history.preset)
    if history.modules:
        doc["modules"] = dict(history.modules)
    replaced = {(tid, key): by for tid, key, by in history.replaces}
    doc["transactions"] = [_tx_json(t, replaced, lists) for t in history.transactions]
    return doc


def _tx_json(t: HistoryTx, replaced: dict[tuple[str, str], str | None], lists: bool
             ) -> dict[str, Any]:
    out: dict[str, Any] = {"id": t.id, "status": t.status}
    for name in ("start", "end", "process"):
        if getattr(t, name) is not None:
            out[name] = getattr(t, name)
    ops: list[dict[str, Any]] = []
    observed = iter(t.lists)
    wrote: set[str] = set()
    for op in t.ops:
        if isinstance(op, Read):
            ops.append({"op": "read", "key": op.key, "value": list(next(observed))} if lists
                       else {"op": "read", "key": op.key, "value": op.value, "from": op.writer})
            continue
        item: dict[str, Any] = {"op": "append" if lists else "write", "key": op.key,
                                "value": op.value}
        if (t.id, op.key) in replaced and op.key not in wrote:
            item["replaces"] = replaced[t.id, op.key]
        wrote.add(op.key)
        ops.append(item)
    out["ops"] = ops
    return out
