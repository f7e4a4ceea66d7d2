"""History files: examples, schema and loader agree; inference, ids, JSON Lines, round trip."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from shardcheck.checker.history.files import (
    HistoryFileError,
    history_to_json,
    load_history,
    parse_history,
    parse_history_lines,
)
from shardcheck.checker.history.records import History, HistoryTx, Op, Read, Value, Write

from .conftest import ROOT

SCHEMA_PATH = ROOT / "traces" / "history.schema.json"
EXAMPLES = sorted((ROOT / "traces" / "histories").glob("*.json"))
EXAMPLE_IDS = [p.name for p in EXAMPLES]


def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


VALIDATOR = _validator()


def _doc(**header: Any) -> dict[str, Any]:
    """A small valid history: T1 writes x = 1, T2 reads it (from T1) and writes y = 2."""
    doc: dict[str, Any] = {
        "format": "shardcheck-history",
        "version": 1,
        "initial": {"x": 0, "y": 0},
        "transactions": [
            {"id": "T1", "ops": [{"op": "write", "key": "x", "value": 1}]},
            {"id": "T2", "ops": [{"op": "read", "key": "x", "value": 1, "from": "T1"},
                                 {"op": "write", "key": "y", "value": 2}]},
        ],
    }
    doc.update(header)
    return doc


def _set(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """A copy of ``doc`` with the item at ``path`` replaced (or deleted when value is _DEL)."""
    out = copy.deepcopy(doc)
    target = out
    for step in path[:-1]:
        target = target[step]
    if value is _DEL:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return out


_DEL = object()


def _lines_text(doc: dict[str, Any], blank_lines: bool = False) -> str:
    """The JSON Lines form of a document: its header, then one transaction per line."""
    header = {k: v for k, v in doc.items() if k != "transactions"}
    lines = [json.dumps(header)] + [json.dumps(t) for t in doc["transactions"]]
    sep = "\n\n" if blank_lines else "\n"
    return sep.join(lines) + "\n"


def _load_error(path: Path) -> str:
    """The message of the HistoryFileError loading ``path`` raises (fails if it loads)."""
    with pytest.raises(HistoryFileError) as info:
        load_history(path)
    return str(info.value)


# ---------------------------------------------------------------- the examples


def test_there_are_examples() -> None:
    """traces/histories/ holds the example histories this file checks."""
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize("path", EXAMPLES, ids=EXAMPLE_IDS)
def test_example_validates_against_schema_and_loads(path: Path) -> None:
    """Every example is valid under the published schema and loads into a History."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    errors = [e.message for e in VALIDATOR.iter_errors(doc)]
    assert errors == []
    assert isinstance(doc.get("description"), str) and doc["description"].strip()
    history = load_history(path)
    assert len(history.transactions) == len(doc["transactions"])
    assert [t.id for t in history.transactions] == [str(t["id"]) for t in doc["transactions"]]
    assert all(len(t.ops) == len(raw["ops"])
               for t, raw in zip(history.transactions, doc["transactions"], strict=True))


@pytest.mark.parametrize("path", EXAMPLES, ids=EXAMPLE_IDS)
def test_example_written_back_is_schema_valid_and_equal(path: Path) -> None:
    """history_to_json of an example is schema valid and parses back to the same History."""
    history = load_history(path)
    doc = json.loads(json.dumps(history_to_json(history, "again")))
    assert list(VALIDATOR.iter_errors(doc)) == []
    assert doc["description"] == "again"
    assert parse_history(doc) == history


# ---------------------------------------------------------------- malformed documents

# (case id, document, location the message names, whether the JSON Schema can see it).
# The schema cannot express references between fields (an id that must exist, ids that
# must be unique); only the loader checks those, and the schema is shown to accept them.
_T = ("transactions",)
MALFORMED: list[tuple[str, Any, str, bool]] = [
    ("wrong-format", _doc(format="elle-history"), "format", True),
    ("wrong-version", _doc(version=2), "version", True),
    ("version-as-string", _doc(version="1"), "version", True),
    ("missing-format", _set(_doc(), ("format",), _DEL), "missing required field 'format'", True),
    ("not-an-object", [1, 2], "the document", True),
    ("transactions-not-a-list", _doc(transactions={"T1": []}), "transactions", True),
    ("unknown-top-level-field", _doc(txs=[]), "unknown field 'txs'", True),
    ("missing-id", _set(_doc(), (*_T, 1, "id"), _DEL), "transactions[1]", True),
    ("empty-id", _set(_doc(), (*_T, 0, "id"), ""), "transactions[0].id", True),
    ("negative-id", _set(_doc(), (*_T, 0, "id"), -1), "transactions[0].id", True),
    ("bool-id", _set(_doc(), (*_T, 0, "id"), True), "transactions[0].id", True),
    ("unknown-tx-field", _set(_doc(), (*_T, 1, "when"), 3), "unknown field 'when'", True),
    ("unknown-op-field", _set(_doc(), (*_T, 1, "ops", 0, "at"), 3),
     "transactions[1].ops[0]: unknown field 'at'", True),
    ("from-on-a-write", _set(_doc(), (*_T, 0, "ops", 0, "from"), None),
     "transactions[0].ops[0]: unknown field 'from'", True),
    ("bad-status", _set(_doc(), (*_T, 0, "status"), "reverted"), "transactions[0].status", True),
    ("ops-not-a-list", _set(_doc(), (*_T, 0, "ops"), {}), "transactions[0].ops", True),
    ("bad-op-kind", _set(_doc(), (*_T, 1, "ops", 0, "op"), "delete"),
     "transactions[1].ops[0].op", True),
    ("op-missing-kind", _set(_doc(), (*_T, 1, "ops", 0, "op"), _DEL),
     "transactions[1].ops[0].op", True),
    ("op-not-an-object", _set(_doc(), (*_T, 1, "ops", 1), "write"),
     "transactions[1].ops[1]", True),
    ("read-missing-value", _set(_doc(), (*_T, 1, "ops", 0, "value"), _DEL),
     "missing required field 'value'", True),
    ("empty-key", _set(_doc(), (*_T, 1, "ops", 1, "key"), ""), "transactions[1].ops[1].key", True),
    ("int-key", _set(_doc(), (*_T, 1, "ops", 1, "key"), 7), "transactions[1].ops[1].key", True),
    ("float-value", _set(_doc(), (*_T, 1, "ops", 0, "value"), 1.5),
     "transactions[1].ops[0].value", True),
    ("bool-value", _set(_doc(), (*_T, 1, "ops", 0, "value"), True),
     "transactions[1].ops[0].value", True),
    ("object-value", _set(_doc(), (*_T, 1, "ops", 0, "value"), {"n": 1}),
     "transactions[1].ops[0].value", True),
    ("list-value", _set(_doc(), (*_T, 0, "ops", 0, "value"), [1]),
     "transactions[0].ops[0].value", True),
    ("bad-from", _set(_doc(), (*_T, 1, "ops", 0, "from"), ""), "transactions[1].ops[0].from", True),
    ("float-initial", _doc(initial={"x": 0.5}), "initial.x", True),
    ("initial-not-an-object", _doc(initial=[0]), "initial", True),
    ("bool-final", _doc(final={"y": False}), "final.y", True),
    ("versions-not-an-object", _doc(versions=["T1"]), "versions", True),
    ("versions-entry-not-a-list", _doc(versions={"x": "T1"}), "versions.x", True),
    ("versions-bad-id", _doc(versions={"x": [""]}), "versions.x[0]", True),
    ("preset-not-a-list", _doc(preset="T1,T2"), "preset", True),
    ("preset-bad-id", _doc(preset=["T1", True]), "preset[1]", True),
    ("modules-non-string", _doc(modules={"x": 3}), "modules", True),
    ("modules-empty-name", _doc(modules={"x": ""}), "modules", True),
    ("modules-not-an-object", _doc(modules=["bank"]), "modules", True),
    ("unknown-status", _set(_doc(), (*_T, 0, "status"), "maybe"), "transactions[0].status",
     True),
    ("time-not-a-number", _set(_doc(), (*_T, 0, "start"), "noon"), "transactions[0].start",
     True),
    ("process-bool", _set(_doc(), (*_T, 0, "process"), True), "transactions[0].process",
     True),
    ("versions-mixed", _doc(versions={"x": ["T1", ["T2"]]}), "versions.x", True),
    ("append-in-a-register-history", _set(_doc(), (*_T, 0, "ops", 0, "op"), "append"),
     "transactions[0].ops[0].op", True),
    ("bad-value-type", _doc(value_type="set"), "value_type", True),
    ("list-append-with-initial", _doc(value_type="list-append"), "initial", True),
    ("write-in-a-list-history", _set(_set(_doc(value_type="list-append"), ("initial",), _DEL),
                                     (*_T, 0, "ops", 0, "op"), "write"),
     "transactions[0].ops[0].op", True),
    # References: beyond what a JSON Schema can say.
    ("end-before-start", _set(_set(_doc(), (*_T, 0, "start"), 5), (*_T, 0, "end"), 4),
     "transactions[0].end", False),
    ("replaces-unknown-tx", _set(_doc(), (*_T, 0, "ops", 0, "replaces"), "T9"),
     "transactions[0].ops[0].replaces", False),
    ("versions-chain-unknown-tx", _doc(versions={"x": [["T1", "T7"]]}), "versions.x[0][1]",
     False),
    ("from-unknown-tx", _set(_doc(), (*_T, 1, "ops", 0, "from"), "T9"),
     "transactions[1].ops[0].from", False),
    ("from-unknown-int-tx", _set(_doc(), (*_T, 1, "ops", 0, "from"), 9),
     "transactions[1].ops[0].from", False),
    ("duplicate-ids", _set(_doc(), (*_T, 1, "id"), "T1"), "transactions[1].id", False),
    ("duplicate-after-normalising", _set(_doc(), (*_T, 0, "id"), 2), "transactions[1].id",
     False),
    ("versions-unknown-tx", _doc(versions={"x": ["T1", "T7"]}), "versions.x[1]", False),
]


@pytest.mark.parametrize(("doc", "location", "schema_sees_it"),
                         [pytest.param(d, loc, s, id=name) for name, d, loc, s in MALFORMED])
def test_malformed_document_is_rejected_with_its_location(
        tmp_path: Path, doc: Any, location: str, schema_sees_it: bool) -> None:
    """The loader rejects each malformed document naming the place; the schema agrees."""
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    message = _load_error(path)
    assert message.startswith(f"{path}: "), message
    assert location in message, message
    assert "\n" not in message
    if schema_sees_it:
        assert not VALIDATOR.is_valid(doc), "the schema accepts what the loader rejects"
    else:
        assert VALIDATOR.is_valid(doc), "a reference rule the schema was not expected to see"


def test_the_base_document_is_valid() -> None:
    """The document the malformed cases start from is accepted by both loader and schema."""
    doc = _doc()
    assert VALIDATOR.is_valid(doc)
    history = parse_history(doc)
    assert history.by_id()["T2"].ops[0] == Read("x", 1, "T1")


# Documents the schema rejects and the loader currently accepts (or the reverse): the two
# are meant to give the same answers (checker/history_io.py's docstring).
DISAGREEMENTS = [
    pytest.param(_doc(version=True), id="version-true"),
    pytest.param(_doc(initial=None), id="initial-null"),
    pytest.param(_doc(final=None), id="final-null"),
    pytest.param(_doc(preset=None), id="preset-null"),
    pytest.param(_doc(description=5), id="description-not-a-string"),
    pytest.param(_set(_doc(), (*_T, 1, "ops", 1, "value"), 2.0), id="integral-float-value"),
    pytest.param(_set(_doc(), (*_T, 1, "id"), 2.0), id="integral-float-id"),
]


@pytest.mark.parametrize("doc", DISAGREEMENTS)
def test_loader_and_schema_agree_on_edge_cases(doc: dict[str, Any]) -> None:
    """The loader accepts a document exactly when the published schema does."""
    try:
        parse_history(doc)
        loads = True
    except HistoryFileError:
        loads = False
    assert loads == VALIDATOR.is_valid(doc)


def test_preset_naming_unknown_tx_is_rejected_with_its_location() -> None:
    """A preset naming no transaction of the history is rejected at preset[i], like versions."""
    with pytest.raises(HistoryFileError, match=r"preset\[1\]"):
        parse_history(_doc(preset=["T1", "T9"]))


def test_bad_json_names_line_and_column(tmp_path: Path) -> None:
    """A .json file that is not JSON is rejected with the line and column of the fault."""
    path = tmp_path / "broken.json"
    path.write_text('{\n  "format": "shardcheck-history",\n  "version": 1,,\n}\n',
                    encoding="utf-8")
    message = _load_error(path)
    assert message.startswith(f"{path}: not JSON"), message
    assert "line 3, column 16" in message, message


def test_json_lines_content_in_a_json_file_hints_at_the_suffix(tmp_path: Path) -> None:
    """JSON Lines saved as .json fails with a hint to name the file .jsonl."""
    path = tmp_path / "lines.json"
    path.write_text(_lines_text(_doc()), encoding="utf-8")
    message = _load_error(path)
    assert "line 2, column 1" in message and ".jsonl" in message, message


def test_missing_and_undecodable_files(tmp_path: Path) -> None:
    """A missing file and a file that is not UTF-8 are HistoryFileErrors naming the path."""
    missing = tmp_path / "nope.json"
    assert _load_error(missing) == f"{missing}: no such file"
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"description": "caf\xe9"}')
    assert _load_error(latin).startswith(f"{latin}: cannot read it")


# ---------------------------------------------------------------- JSON Lines


def test_jsonl_first_line_not_a_header(tmp_path: Path) -> None:
    """A JSON Lines file that starts with a transaction is rejected at line 1."""
    doc = _doc()
    text = "\n".join(json.dumps(t) for t in doc["transactions"]) + "\n"
    path = tmp_path / "h.jsonl"
    path.write_text(text, encoding="utf-8")
    message = _load_error(path)
    assert message.startswith(f"{path}: line 1"), message
    assert "format" in message
    # The schema (which describes the header plus the transactions) rejects it too.
    first, *rest = [json.loads(line) for line in text.splitlines()]
    assert not VALIDATOR.is_valid({**first, "transactions": rest})


def test_jsonl_header_with_transactions(tmp_path: Path) -> None:
    """A JSON Lines header that carries "transactions" is rejected, pointing at line 1."""
    path = tmp_path / "h.jsonl"
    path.write_text(json.dumps(_doc()) + "\n", encoding="utf-8")
    message = _load_error(path)
    assert message.startswith(f"{path}: line 1: "), message
    assert '"transactions"' in message


def test_jsonl_bad_json_names_line_and_column(tmp_path: Path) -> None:
    """A line of a JSON Lines file that is not JSON is named with its line and column."""
    lines = _lines_text(_doc()).splitlines()
    lines[2] = lines[2][:-1]  # drop the closing brace of the second transaction
    path = tmp_path / "h.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    message = _load_error(path)
    assert message.startswith(f"{path}: line 3: not JSON"), message
    assert f"column {len(lines[2]) + 1}" in message, message


def test_jsonl_field_error_names_the_line(tmp_path: Path) -> None:
    """A bad field in a JSON Lines transaction is located by line and field path."""
    doc = _set(_doc(), (*_T, 1, "ops", 0, "value"), 1.5)
    path = tmp_path / "h.jsonl"
    path.write_text(_lines_text(doc), encoding="utf-8")
    assert "line 3.ops[0].value" in _load_error(path)


def test_jsonl_empty_file(tmp_path: Path) -> None:
    """An empty (or blank) JSON Lines file is rejected, saying the header is missing."""
    path = tmp_path / "h.jsonl"
    path.write_text("\n  \n", encoding="utf-8")
    assert "empty" in _load_error(path)


def test_jsonl_duplicate_id_names_the_line(tmp_path: Path) -> None:
    """A duplicate id in a JSON Lines file is located by its line, not a JSON array index."""
    doc = _set(_doc(), (*_T, 1, "id"), "T1")
    path = tmp_path / "h.jsonl"
    path.write_text(_lines_text(doc), encoding="utf-8")
    message = _load_error(path)
    assert "line 3" in message and "transactions[" not in message, message


@pytest.mark.parametrize("path", EXAMPLES, ids=EXAMPLE_IDS)
def test_jsonl_loads_equal_to_json(tmp_path: Path, path: Path) -> None:
    """Each example written as JSON Lines (.jsonl and .ndjson) loads to the same History."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    expected = load_history(path)
    jsonl = tmp_path / (path.stem + ".jsonl")
    jsonl.write_text(_lines_text(doc), encoding="utf-8")
    ndjson = tmp_path / (path.stem + ".ndjson")
    ndjson.write_text(_lines_text(doc, blank_lines=True), encoding="utf-8")
    assert load_history(jsonl) == expected
    assert load_history(ndjson) == expected
    assert parse_history_lines(_lines_text(doc)) == expected


# ---------------------------------------------------------------- writer inference


def _writes(tid: str, *kvs: tuple[str, Value], status: str = "committed") -> dict[str, Any]:
    return {"id": tid, "status": status,
            "ops": [{"op": "write", "key": k, "value": v} for k, v in kvs]}


def _reads(tid: str, *kvs: tuple[str, Value]) -> dict[str, Any]:
    return {"id": tid, "ops": [{"op": "read", "key": k, "value": v} for k, v in kvs]}


def _history(*txs: dict[str, Any], **header: Any) -> History:
    return parse_history({"format": "shardcheck-history", "version": 1, **header,
                          "transactions": list(txs)})


def _read_writers(history: History, tid: str) -> list[str | None]:
    return [op.writer for op in history.by_id()[tid].ops if isinstance(op, Read)]


def test_inference_unique_values_name_their_writer() -> None:
    """Without "from", a value written once to a key names that writer."""
    h = _history(_writes("T1", ("x", 1), ("y", "a")), _writes("T2", ("x", 2)),
                 _reads("T3", ("x", 2), ("x", 1), ("y", "a")), initial={"x": 0, "y": "z"})
    assert _read_writers(h, "T3") == ["T2", "T1", "T1"]


def test_inference_initial_value_means_initial_store() -> None:
    """A value equal to the recorded initial one, and written by nobody, is the initial store."""
    h = _history(_writes("T1", ("x", 1)), _reads("T2", ("x", 0), ("y", None)),
                 initial={"x": 0, "y": None})
    assert _read_writers(h, "T2") == [None, None]


def test_inference_value_nobody_wrote_is_the_initial_store() -> None:
    """Without a recorded initial store, a value no transaction wrote comes from it."""
    h = _history(_writes("T1", ("x", 1)), _reads("T2", ("x", 7)))
    assert _read_writers(h, "T2") == [None]


def test_inference_same_value_per_key_only() -> None:
    """Values are matched per key: the same value on another key does not make it ambiguous."""
    h = _history(_writes("T1", ("x", 5)), _writes("T2", ("y", 5)), _reads("T3", ("y", 5)))
    assert _read_writers(h, "T3") == ["T2"]


def test_inference_own_earlier_write_wins() -> None:
    """A read after the transaction's own write of the key comes from itself, never ambiguous."""
    own = {"id": "T2", "ops": [{"op": "write", "key": "x", "value": 5},
                               {"op": "read", "key": "x", "value": 5}]}
    h = _history(_writes("T1", ("x", 5)), own)
    assert _read_writers(h, "T2") == ["T2"]


def test_inference_sees_aborted_and_intermediate_writes() -> None:
    """Aborted writers and overwritten (intermediate) values are candidates: G1a and G1b."""
    h = _history(_writes("T1", ("x", 1), status="aborted"), _writes("T2", ("y", 1), ("y", 2)),
                 _reads("T3", ("x", 1), ("y", 1)))
    assert _read_writers(h, "T3") == ["T1", "T2"]
    g1b = load_history(ROOT / "traces" / "histories" / "g1b-intermediate-read.json")
    assert _read_writers(g1b, "T2") == ["T1"]


def test_inference_ambiguous_writers_is_a_clear_error() -> None:
    """Two writers of the same value: the error names the read, both writers and "from"."""
    with pytest.raises(HistoryFileError) as info:
        _history(_writes("T1", ("x", 1)), _writes("T2", ("x", 1)), _reads("T3", ("y", 0), ("x", 1)),
                 initial={"x": 0, "y": 0})
    message = str(info.value)
    assert "transactions[2].ops[1]" in message
    assert "T1" in message and "T2" in message
    assert 'record "from"' in message


def test_inference_value_of_writer_and_initial_is_ambiguous() -> None:
    """A value both a writer and the initial store hold is ambiguous and says so."""
    with pytest.raises(HistoryFileError) as info:
        _history(_writes("T1", ("x", 0)), _reads("T2", ("x", 0)), initial={"x": 0})
    message = str(info.value)
    assert "transactions[1].ops[0]" in message
    assert "T1" in message and "the initial store" in message
    assert 'record "from"' in message


def test_explicit_from_settles_what_inference_cannot() -> None:
    """The same ambiguous read is accepted when it records "from" (null or an id)."""
    t3 = {"id": "T3", "ops": [{"op": "read", "key": "x", "value": 1, "from": "T2"},
                              {"op": "read", "key": "x", "value": 1, "from": None}]}
    h = _history(_writes("T1", ("x", 1)), _writes("T2", ("x", 1)), t3, initial={"x": 1})
    assert _read_writers(h, "T3") == ["T2", None]


# ---------------------------------------------------------------- ids


def test_integer_ids_are_normalised() -> None:
    """Integer ids become "T<n>" everywhere: ids, from, versions, preset."""
    doc = {"format": "shardcheck-history", "version": 1, "initial": {"x": 0},
           "versions": {"x": [0, "T1"]}, "preset": [0, 1],
           "transactions": [
               {"id": 0, "ops": [{"op": "write", "key": "x", "value": 1}]},
               {"id": 1, "ops": [{"op": "read", "key": "x", "value": 1, "from": 0},
                                 {"op": "write", "key": "x", "value": 2}]}]}
    assert VALIDATOR.is_valid(doc)
    h = parse_history(doc)
    assert [t.id for t in h.transactions] == ["T0", "T1"]
    assert h.by_id()["T1"].ops[0] == Read("x", 1, "T0")
    assert h.versions_map() == {"x": ("T0", "T1")}
    assert h.preset == ("T0", "T1")


def test_string_ids_are_kept_as_written() -> None:
    """String ids, including digit-only ones, are not rewritten."""
    h = _history(_writes("7", ("x", 1)), _writes("tx-a", ("y", 1)), _reads("b", ("x", 1)))
    assert [t.id for t in h.transactions] == ["7", "tx-a", "b"]
    assert _read_writers(h, "b") == ["7"]


def test_status_defaults_to_committed() -> None:
    """A transaction without "status" is committed; "aborted" is kept."""
    h = _history(_reads("T1", ("x", 0)), _writes("T2", ("x", 1), status="aborted"))
    assert [t.status for t in h.transactions] == ["committed", "aborted"]
    assert [t.id for t in h.committed()] == ["T1"]


# ---------------------------------------------------------------- round trip

_IDS = st.lists(st.text(alphabet="Tab01", min_size=1, max_size=3),
                min_size=1, max_size=4, unique=True)
_KEYS = st.sampled_from(["x", "y", "bank/acct", "é"])
_VALUES: st.SearchStrategy[Value] = st.one_of(
    st.none(), st.integers(min_value=-3, max_value=3),
    st.integers(min_value=2**53, max_value=2**70), st.text(alphabet="ab\"\\ ", max_size=3))


@st.composite
def histories(draw: st.DrawFn) -> History:
    """Small histories with every optional fact sometimes present."""
    ids = draw(_IDS)
    writer = st.one_of(st.none(), st.sampled_from(ids))
    op: st.SearchStrategy[Op] = st.one_of(
        st.builds(Write, _KEYS, _VALUES), st.builds(Read, _KEYS, _VALUES, writer))
    time = st.one_of(st.none(), st.integers(0, 5), st.floats(0, 5, allow_nan=False).map(
        lambda t: t + 0.5))
    txs = []
    for tid in ids:
        start = draw(time)
        end = draw(time)
        if start is not None and end is not None and end < start:
            start, end = end, start
        txs.append(HistoryTx(tid, draw(st.sampled_from(["committed", "aborted",
                                                       "indeterminate"])),
                             tuple(draw(st.lists(op, max_size=3))), start=start, end=end,
                             process=draw(st.one_of(st.none(), st.sampled_from(["p", "7"])))))
    replaces = []
    for t in txs:
        for key in dict.fromkeys(op.key for op in t.ops if isinstance(op, Write)):
            if draw(st.booleans()):
                replaces.append((t.id, key, draw(writer)))
    store = st.one_of(st.none(), st.dictionaries(_KEYS, _VALUES, max_size=3))
    versions = draw(st.dictionaries(_KEYS, st.lists(st.sampled_from(ids), max_size=3),
                                    max_size=2))
    chains = draw(st.dictionaries(_KEYS.filter(lambda k: k not in versions),
                                  st.lists(st.lists(st.sampled_from(ids), max_size=3),
                                           min_size=1, max_size=2), max_size=2))
    return History(
        transactions=tuple(txs),
        initial=draw(store),
        versions=versions,
        final=draw(store),
        preset=draw(st.one_of(st.none(), st.permutations(ids))),
        modules=draw(st.dictionaries(_KEYS, st.sampled_from(["bank", "dex"]), max_size=3)),
        version_chains=chains, replaces=replaces)


@st.composite
def list_histories(draw: st.DrawFn) -> History:
    """Small list-append histories: appends of unique values, reads of any lists of them."""
    ids = draw(_IDS)
    keys = ["x", "y"]
    txs = []
    counter = iter(range(1, 100))
    appended: dict[str, list[int]] = {k: [] for k in keys}
    plans = []
    for tid in ids:
        plan = draw(st.lists(st.tuples(st.sampled_from(["read", "append"]),
                                       st.sampled_from(keys)), max_size=3))
        ops: list[Op] = []
        for kind, key in plan:
            if kind == "append":
                value = next(counter)
                appended[key].append(value)
                ops.append(Write(key, value))
            else:
                ops.append(Read(key, None, None))
        plans.append((tid, ops))
    owner = {}
    for tid, ops in plans:
        for op in ops:
            if isinstance(op, Write):
                owner[(op.key, op.value)] = tid
    for tid, ops in plans:
        lists = []
        fixed: list[Op] = []
        for op in ops:
            if isinstance(op, Read):
                seen = tuple(draw(st.lists(st.sampled_from(appended[op.key]), unique=True,
                                           max_size=3))) if appended[op.key] else ()
                lists.append(seen)
                fixed.append(Read(op.key, seen[-1] if seen else None,
                                  owner[(op.key, seen[-1])] if seen else None))
            else:
                fixed.append(op)
        txs.append(HistoryTx(tid, "committed", tuple(fixed), lists=tuple(lists)))
    used = sorted({op.key for _, ops in plans for op in ops})
    return History(tuple(txs), initial=dict.fromkeys(used), value_type="list-append")


@settings(max_examples=150)
@given(st.one_of(histories(), list_histories()), st.one_of(st.none(), st.text(max_size=5)))
def test_round_trip_through_json(history: History, description: str | None) -> None:
    """history_to_json, serialised and parsed back, is schema valid and gives an equal History."""
    doc = json.loads(json.dumps(history_to_json(history, description)))
    assert VALIDATOR.is_valid(doc)
    assert parse_history(doc) == history
    lines = _lines_text(doc)
    assert parse_history_lines(lines) == history
