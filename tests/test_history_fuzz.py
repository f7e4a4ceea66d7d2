"""The loader and every criterion under random and adversarial histories: each document
is answered (a report, every cycle in it real and closed, every witness replaying) or
rejected as bad input (exit 2), within a time and a memory bound per history, and never
with a traceback.

Documents come from three strategies: well-formed histories with every optional fact
drawn at random (times, processes, indeterminate and aborted transactions, partial and
total version orders, replaced versions, list-append values), adversarial reads-from
shapes (reads from a circle of read-modify-writes, from the reader itself, from aborted
or never-written versions, a key read twice from different writers), and malformed
documents (any field replaced by arbitrary JSON). Hypothesis is derandomized in CI
(tests/conftest.py), so the same inputs run every time.
"""

from __future__ import annotations

import json
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shardcheck.checker.errors import BadInput
from shardcheck.checker.history.files import parse_history
from shardcheck.checker.history.indexed import check_references, replay_order
from shardcheck.checker.history.serializability import CRITERIA, Report, check_history
from shardcheck.checker.history.settle import settle

from .cli_helpers import invoke

TIME_BOUND_S = 5.0
"""Seconds one history may take, loader and every criterion together (most take
milliseconds; the bound is generous for a loaded CI machine)."""

MEMORY_BOUND = 64 * 2**20
"""Peak bytes Python may allocate for one history (tracemalloc's count)."""

EXAMPLES = 600

IDS = ["T1", "T2", "T3", "T4", "T5", 6, 7]
KEYS = ["x", "y", "z"]

_ids = st.sampled_from(IDS)
_keys = st.sampled_from(KEYS)
_values = st.one_of(st.integers(-1, 6), st.sampled_from(["a", "b"]), st.none())
_json: st.SearchStrategy[Any] = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
              st.text(max_size=4)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=8)


def _register_op() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.fixed_dictionaries({"op": st.just("read"), "key": _keys, "value": _values},
                              optional={"from": st.one_of(st.none(), _ids)}),
        st.fixed_dictionaries({"op": st.just("write"), "key": _keys, "value": _values},
                              optional={"replaces": st.one_of(st.none(), _ids)}))


def _list_op() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.fixed_dictionaries({"op": st.just("read"), "key": _keys,
                               "value": st.one_of(st.none(), st.lists(st.integers(0, 6),
                                                                      max_size=4))}),
        st.fixed_dictionaries({"op": st.just("append"), "key": _keys,
                               "value": st.integers(0, 6)}))


def _transactions(op: st.SearchStrategy[dict[str, Any]]
                  ) -> st.SearchStrategy[list[dict[str, Any]]]:
    tx = st.fixed_dictionaries(
        {"id": _ids, "ops": st.lists(op, max_size=4)},
        optional={"status": st.sampled_from(["committed", "aborted", "indeterminate"]),
                  "start": st.integers(0, 6), "end": st.integers(0, 6),
                  "process": st.sampled_from(["a", "b", 1])})
    return st.lists(tx, max_size=6, unique_by=lambda t: str(t["id"]))


_versions = st.dictionaries(_keys, st.one_of(
    st.lists(_ids, max_size=4), st.lists(st.lists(_ids, max_size=3), min_size=1, max_size=2)),
    max_size=2)
_store = st.dictionaries(_keys, _values, max_size=3)

well_formed = st.one_of(
    st.fixed_dictionaries(
        {"format": st.just("shardcheck-history"), "version": st.just(1),
         "transactions": _transactions(_register_op())},
        optional={"initial": _store, "final": _store, "versions": _versions,
                  "preset": st.lists(_ids, max_size=6, unique=True),
                  "modules": st.dictionaries(_keys, st.sampled_from(["m", "n"]), max_size=3)}),
    st.fixed_dictionaries(
        {"format": st.just("shardcheck-history"), "version": st.just(1),
         "value_type": st.just("list-append"), "transactions": _transactions(_list_op())},
        optional={"versions": _versions}))


@st.composite
def adversarial(draw: st.DrawFn) -> dict[str, Any]:
    """Reads-from shapes that once broke the checker, and their relatives: every read
    names a writer of the history (often the reader itself, an aborted one, or one in a
    circle of read-modify-writes) with the value it wrote, or nearly."""
    n = draw(st.integers(2, 6))
    ids = [f"T{i}" for i in range(n)]
    status = [draw(st.sampled_from(["committed"] * 3 + ["aborted", "indeterminate"]))
              for _ in ids]
    txs = []
    for i, tid in enumerate(ids):
        ops: list[dict[str, Any]] = []
        for _ in range(draw(st.integers(1, 4))):
            key = draw(_keys)
            if draw(st.booleans()):
                source = draw(st.sampled_from([None, *ids, ids[(i + 1) % n]]))
                value = 0 if source is None else int(source[1:]) * 10 + KEYS.index(key)
                value += draw(st.sampled_from([0, 0, 0, 1]))
                ops.append({"op": "read", "key": key, "value": value, "from": source})
            else:
                ops.append({"op": "write", "key": key,
                            "value": i * 10 + KEYS.index(key)})
        txs.append({"id": tid, "status": status[i], "ops": ops})
    doc: dict[str, Any] = {"format": "shardcheck-history", "version": 1,
                           "initial": dict.fromkeys(KEYS, 0), "transactions": txs}
    if draw(st.booleans()):
        doc["final"] = {k: draw(st.integers(0, 60)) for k in draw(st.sets(_keys, max_size=2))}
    return doc


@st.composite
def malformed(draw: st.DrawFn) -> Any:
    """A well-formed document with one field, anywhere, replaced by arbitrary JSON."""
    doc = draw(well_formed)
    paths: list[tuple[Any, ...]] = []

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        paths.append(path)
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, (*path, i))

    walk(doc, ())
    path = draw(st.sampled_from(paths))
    junk = draw(_json)
    if not path:
        return junk
    target = doc
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = junk
    return doc


documents = st.one_of(well_formed, adversarial(), malformed())


def _answer(doc: Any) -> Report | None:
    """The report, or None when the document is bad input; anything else fails."""
    try:
        history = parse_history(doc)
        check_references(history)
    except BadInput:
        return None
    try:
        return check_history(history, list(CRITERIA), timeout_s=2)
    except BadInput:
        return None


def _judged(doc: Any) -> Any:
    """The history the criteria judged (indeterminate transactions settled)."""
    return settle(parse_history(doc)).history


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    """Imports z3 before the clock starts: the first question that reaches it pays 1 s."""
    import shardcheck.checker.prove.solver  # noqa: F401


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.filter_too_much])
@given(documents)
def test_every_history_is_answered_or_rejected_within_bounds(doc: Any) -> None:
    """Loader plus all six criteria: a report or bad input, within the bounds; every
    cycle reported closes and is simple, and every witness replays."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        report = _answer(doc)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < TIME_BOUND_S
    assert peak < MEMORY_BOUND
    if report is None:
        return
    assert [v.criterion for v in report.verdicts] == list(CRITERIA)
    history = _judged(doc)
    for verdict in report.verdicts:
        if verdict.status == "holds":
            assert verdict.witness is not None
            assert replay_order(history, verdict.witness) is None, verdict
        if verdict.status == "violated":
            assert verdict.anomalies, verdict
        for anomaly in verdict.anomalies:
            cycle = anomaly.cycle
            for edge, after in zip(cycle, cycle[1:] + cycle[:1], strict=True):
                assert edge.to_json()["to"] == after.src
            assert len({e.src for e in cycle}) == len(cycle)
            if any(e.kind in ("forced", "order") for e in cycle):
                assert anomaly.kind == "unsatisfiable"


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(documents)
def test_the_command_line_answers_with_an_exit_code_never_a_traceback(
        tmp_path: Path, doc: Any) -> None:
    """check-history on the same documents as files: exit 0, 1, 2 or 3, one error line
    for bad input, JSON that parses otherwise."""
    path = tmp_path / "h.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    result = invoke("check-history", str(path), "--format", "json", "--time-limit", "2")
    assert result.exit_code in (0, 1, 2, 3), result.output
    if result.exit_code == 2:
        assert len(result.stderr.strip().splitlines()) == 1
    else:
        assert json.loads(result.stdout)["verdicts"]
