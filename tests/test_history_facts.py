"""The facts real systems record, each decided correctly with the reasoning in its docstring:
histories without version orders, partial orders, replaced versions, indeterminate
transactions, real time and sessions, list-append reads."""

from __future__ import annotations

from typing import Any

from shardcheck.checker.history.files import parse_history
from shardcheck.checker.history.records import History, HistoryTx, Read, Write
from shardcheck.checker.history.serializability import Verdict, check_history


def _tx(tid: str, *ops: Read | Write, **more: Any) -> HistoryTx:
    return HistoryTx(tid, more.pop("status", "committed"), ops, **more)


def _verdict(history: History, criterion: str = "serializable") -> Verdict:
    return check_history(history, [criterion]).verdicts[0]


def _doc(*txs: dict[str, Any], **header: Any) -> History:
    return parse_history({"format": "shardcheck-history", "version": 1, **header,
                          "transactions": list(txs)})


# ---------------------------------------------------------------- no version order


def test_reads_alone_close_a_g1c_without_any_version_order() -> None:
    """T1 and T2 each read the other's write of a different key: the two wr edges hold
    whatever the version orders, so no order can make the graph acyclic (once this was
    `not-applicable`)."""
    history = History((
        _tx("T1", Write("x", 1), Read("y", 2, "T2"), Write("z", 1)),
        _tx("T2", Write("y", 2), Read("x", 1, "T1"), Write("z", 2)),
    ), initial={"x": 0, "y": 0, "z": 0})
    verdict = _verdict(history)
    assert verdict.status == "violated"
    assert [a.kind for a in verdict.anomalies] == ["G1c"]


def lost_update_without_final() -> History:
    """T1 and T2 both read acct from the initial store and both write it; nothing says
    which version came last."""
    return History((
        _tx("T1", Read("acct", 10, None), Write("acct", 15)),
        _tx("T2", Read("acct", 10, None), Write("acct", 17)),
    ), initial={"acct": 10})


def test_a_lost_update_is_violated_under_both_version_orders() -> None:
    """With T1's version first, T2 read the initial one and missed it (T2 -rw-> T1, a
    G-single with T1 -ww-> T2); with T2's first, the mirror image. Every order closes a
    cycle, so the verdict is violated, with the lost update and both alternatives."""
    verdict = _verdict(lost_update_without_final())
    assert verdict.status == "violated"
    assert [a.kind for a in verdict.anomalies] == ["lost-update", "G-single", "G-single"]
    assert verdict.anomalies[1].message.startswith("with acct versions T1, T2: ")
    assert verdict.anomalies[2].message.startswith("with acct versions T2, T1: ")


def test_a_verdict_that_depends_on_the_version_order_says_which() -> None:
    """T3 read T1's x and wrote y, which T2 (also a blind writer of x) read: with T1's
    version of x first the graph is acyclic, with T2's first T2 -ww-> T1 -wr-> T3 -wr-> T2
    is a cycle. Nothing records the order, so the verdict is not applicable, naming it."""
    history = History((
        _tx("T1", Write("x", 1)),
        _tx("T2", Read("y", 3, "T3"), Write("x", 2)),
        _tx("T3", Read("x", 1, "T1"), Write("y", 3)),
    ), initial={"x": 0, "y": 0})
    verdict = _verdict(history)
    assert verdict.status == "not-applicable"
    assert ("with x versions T1, T2 leaves the graph acyclic, with x versions T2, T1 does "
            "not (G1c)") in verdict.summary


def test_blind_writes_nobody_reads_hold_under_every_order() -> None:
    """Two blind writes of x that no one reads: either version order gives an acyclic
    graph, so serializability holds without the order."""
    history = History((_tx("T1", Write("x", 1)), _tx("T2", Write("x", 2))),
                      initial={"x": 0})
    verdict = _verdict(history)
    assert verdict.status == "holds"
    assert "under each of the 2 version orders" in verdict.summary


# ---------------------------------------------------------------- recorded facts


def test_replaces_gives_the_version_order_of_blind_writes() -> None:
    """Blind writes whose `replaces` name their predecessors: T2 replaced T1, T3 replaced
    T2, so x's versions run T1, T2, T3. T4 read T1's x, which T2 overwrote (T4 -rw-> T2),
    and T2's y (T2 -wr-> T4): G-single, decided without a `versions` entry."""
    history = _doc(
        {"id": "T1", "ops": [{"op": "write", "key": "x", "value": 1, "replaces": None}]},
        {"id": "T2", "ops": [{"op": "write", "key": "x", "value": 2, "replaces": "T1"},
                             {"op": "write", "key": "y", "value": 2}]},
        {"id": "T3", "ops": [{"op": "write", "key": "x", "value": 3, "replaces": "T2"}]},
        {"id": "T4", "ops": [{"op": "read", "key": "x", "value": 1, "from": "T1"},
                             {"op": "read", "key": "y", "value": 2, "from": "T2"}]},
        initial={"x": 0, "y": 0})
    verdict = _verdict(history)
    assert verdict.status == "violated"
    assert [a.kind for a in verdict.anomalies] == ["G-single"]
    assert {(e.src, e.dst, e.kind) for e in verdict.anomalies[0].cycle} == {
        ("T4", "T2", "rw"), ("T2", "T4", "wr")}


def test_two_writes_replacing_one_version_are_incompatible() -> None:
    """T2 and T3 each say they replaced T1's x: one version order cannot hold both."""
    history = _doc(
        {"id": "T1", "ops": [{"op": "write", "key": "x", "value": 1}]},
        {"id": "T2", "ops": [{"op": "write", "key": "x", "value": 2, "replaces": "T1"}]},
        {"id": "T3", "ops": [{"op": "write", "key": "x", "value": 3, "replaces": "T1"}]})
    verdict = _verdict(history)
    assert verdict.status == "violated"
    assert verdict.anomalies[0].kind == "incompatible-order"


def test_a_partial_version_order_with_an_aborted_writer() -> None:
    """`versions` as chains: T1 before the aborted A before T3, and T2 before T3. The
    aborted writer is skipped but keeps T1 before T3; with the read of T1 by T2 (so T1
    before T2) the order is T1, T2, T3, and T2 -wr-> T4 -... decides it acyclic."""
    history = _doc(
        {"id": "T1", "ops": [{"op": "write", "key": "x", "value": 1}]},
        {"id": "A", "status": "aborted", "ops": [{"op": "write", "key": "x", "value": 9}]},
        {"id": "T2", "ops": [{"op": "read", "key": "x", "value": 1, "from": "T1"},
                             {"op": "write", "key": "x", "value": 2}]},
        {"id": "T3", "ops": [{"op": "write", "key": "x", "value": 3}]},
        initial={"x": 0}, versions={"x": [["T1", "A", "T3"], ["T2", "T3"]]})
    verdict = _verdict(history)
    assert verdict.status == "holds", verdict.summary
    assert verdict.witness == ("T1", "T2", "T3")


def test_a_total_version_order_may_list_an_aborted_writer() -> None:
    """A database that installed, then discarded, an aborted transaction's version may
    list it; the committed writers keep their order around it."""
    history = _doc(
        {"id": "T1", "ops": [{"op": "write", "key": "x", "value": 1}]},
        {"id": "A", "status": "aborted", "ops": [{"op": "write", "key": "x", "value": 9}]},
        {"id": "T2", "ops": [{"op": "write", "key": "x", "value": 2}]},
        initial={"x": 0}, versions={"x": ["T1", "A", "T2"]})
    assert _verdict(history).status == "holds"


def test_facts_that_contradict_each_other_are_cyclic_versions() -> None:
    """The recorded order says T1 before T2; T1's write says it replaced T2's version."""
    history = _doc(
        {"id": "T1", "ops": [{"op": "write", "key": "x", "value": 1, "replaces": "T2"}]},
        {"id": "T2", "ops": [{"op": "write", "key": "x", "value": 2}]},
        versions={"x": [["T1", "T2"]]})
    verdict = _verdict(history)
    assert verdict.status == "violated"
    assert verdict.anomalies[0].kind == "cyclic-versions"
    assert "replaces, versions put x's versions in a circle" in verdict.anomalies[0].message


# ---------------------------------------------------------------- indeterminate


def test_an_indeterminate_write_someone_read_counts_as_committed() -> None:
    """T2 never heard back, but T3 read its x: T2 committed. Counted so, the history is
    serializable (T2 then T3), and the report says why T2 counts as committed."""
    history = History((
        _tx("T2", Write("x", 2), status="indeterminate"),
        _tx("T3", Read("x", 2, "T2")),
    ), initial={"x": 0})
    report = check_history(history, ["serializable"])
    assert report.verdicts[0].status == "holds"
    assert report.verdicts[0].witness == ("T2", "T3")
    assert report.assumed == ("T2 is counted as committed: T3 read its x",)


def test_an_indeterminate_transaction_nothing_needs_counts_as_not_committed() -> None:
    """T2 (indeterminate) read y before T1 wrote it and wrote x after T1 read it: were it
    committed, T1 -rw-> T2 -rw-> T1 would be a write skew. Nothing shows that it
    committed, so it counts as not committed and the history holds."""
    history = History((
        _tx("T1", Read("x", 0, None), Write("y", 1)),
        _tx("T2", Read("y", 0, None), Write("x", 2), status="indeterminate"),
    ), initial={"x": 0, "y": 0})
    report = check_history(history, ["serializable"])
    assert report.verdicts[0].status == "holds"
    assert report.assumed[0].startswith("T2 is counted as not committed")


def test_an_indeterminate_write_that_was_read_can_close_a_cycle() -> None:
    """T2 (indeterminate) read y before T1 wrote it, and T3 read T2's x: T2 committed,
    which makes T1 -rw(x)... T2 -rw(y)-> T1 -rw(x)-> T2 a write skew with T1."""
    history = History((
        _tx("T1", Read("x", 0, None), Write("y", 1)),
        _tx("T2", Read("y", 0, None), Write("x", 2), status="indeterminate"),
        _tx("T3", Read("x", 2, "T2")),
    ), initial={"x": 0, "y": 0})
    report = check_history(history, ["serializable"])
    assert report.verdicts[0].status == "violated"
    assert [a.kind for a in report.verdicts[0].anomalies] == ["write-skew"]
    assert report.assumed == ("T2 is counted as committed: T3 read its x",)


# ---------------------------------------------------------------- time and sessions


def stale_read() -> History:
    """T1 wrote x = 1 and ended at time 1; T2 began at 2 and still read the initial x."""
    return History((
        _tx("T1", Write("x", 1), start=0, end=1, process="a"),
        _tx("T2", Read("x", 0, None), start=2, end=3, process="b"),
    ), initial={"x": 0})


def test_a_stale_read_is_serializable_but_not_strictly() -> None:
    """T2 before T1 explains every read, so the history is serializable; but T1 ended
    before T2 began, so strict serializability orders T1 first, and T2 -rw-> T1 closes a
    cycle with that real-time edge: G-single-realtime."""
    report = check_history(stale_read(), ["serializable", "strict-serializable"])
    plain, strict = report.verdicts
    assert plain.status == "holds" and plain.witness == ("T2", "T1")
    assert strict.status == "violated"
    (anomaly,) = strict.anomalies
    assert anomaly.kind == "G-single-realtime"
    assert {e.kind for e in anomaly.cycle} == {"rw", "realtime"}
    assert any(e.why == "T1 ended at 1 before T2 started at 2" for e in anomaly.cycle)


def test_overlapping_transactions_are_not_ordered_by_time() -> None:
    """When T2 began before T1 ended, real time orders neither: strictly serializable."""
    history = History((
        _tx("T1", Write("x", 1), start=0, end=2),
        _tx("T2", Read("x", 0, None), start=1, end=3),
    ), initial={"x": 0})
    assert _verdict(history, "strict-serializable").status == "holds"


def test_a_session_that_does_not_see_its_own_earlier_write() -> None:
    """Process a ran T1 (x = 1) and then T2, which read the initial x: serializable (T2
    first) but not in session order: G-single-process."""
    history = History((
        _tx("T1", Write("x", 1), process="a"),
        _tx("T2", Read("x", 0, None), process="a"),
    ), initial={"x": 0})
    report = check_history(history, ["serializable", "session"])
    assert report.verdicts[0].status == "holds"
    assert report.verdicts[1].status == "violated"
    assert report.verdicts[1].anomalies[0].kind == "G-single-process"


def test_time_and_session_criteria_need_their_facts() -> None:
    """Without times or processes the two criteria are not applicable, and the default run
    leaves them out."""
    history = History((_tx("T1", Write("x", 1)),), initial={"x": 0})
    report = check_history(history, ["strict-serializable", "session"])
    assert [v.status for v in report.verdicts] == ["not-applicable", "not-applicable"]
    assert [v.criterion for v in check_history(history).verdicts] == [
        "serializable", "view-serializable", "preset-order", "global-order"]
    assert [v.criterion for v in check_history(stale_read()).verdicts][-2:] == [
        "strict-serializable", "session"]


# ---------------------------------------------------------------- list-append


def _list_history(*txs: list[tuple[str, str, Any]]) -> History:
    return _doc(*({"id": f"T{i + 1}", "ops": [{"op": op, "key": key, "value": value}
                                             for op, key, value in ops]}
                  for i, ops in enumerate(txs)), value_type="list-append")


def test_list_reads_name_every_writer_and_their_order() -> None:
    """T3 read x = [1, 2]: T1 appended 1 before T2 appended 2, though both appends were
    blind. T4's append of 4 is in no read, so its version came later (T2 -ww-> T4). T4
    itself read [1], T1's version, which T2's overwrote (T4 -rw-> T2): a G-single that no
    register history without versions could show. T2 also read T4's y (T4 -wr-> T2), a
    G1c with T2 -ww-> T4."""
    history = _list_history(
        [("append", "x", 1)],
        [("read", "y", [5]), ("append", "x", 2)],
        [("read", "x", [1, 2])],
        [("read", "x", [1]), ("append", "x", 4), ("append", "y", 5)])
    assert history.by_id()["T3"].ops[0] == Read("x", 2, "T2")
    verdict = _verdict(history)
    assert verdict.status == "violated"
    assert [a.kind for a in verdict.anomalies][:2] == ["G1c", "G-single"]


def test_list_reads_that_are_no_prefix_of_each_other_are_incompatible() -> None:
    """[1, 2] and [1, 3] cannot both be versions of one list."""
    history = _list_history([("append", "x", 1)], [("append", "x", 2)],
                            [("append", "x", 3)], [("read", "x", [1, 2])],
                            [("read", "x", [1, 3])])
    verdict = _verdict(history)
    assert verdict.status == "violated"
    assert verdict.anomalies[0].kind == "incompatible-order"


def test_list_reads_show_duplicates_and_their_own_appends() -> None:
    """A list with one element twice is `duplicate-elements`; a transaction that appended
    2 and then read a list without it is `internal`."""
    history = _list_history([("append", "x", 1)], [("read", "x", [1, 1])],
                            [("read", "x", [1]), ("append", "x", 2), ("read", "x", [1])])
    kinds = [a.kind for a in _verdict(history).anomalies]
    assert "duplicate-elements" in kinds and "internal" in kinds


def test_a_serial_list_append_history_holds() -> None:
    """Appends read back in the order they were made: serializable, with that order."""
    history = _list_history([("append", "x", 1)], [("read", "x", [1]), ("append", "x", 2)],
                            [("read", "x", [1, 2])])
    verdict = _verdict(history)
    assert verdict.status == "holds"
    assert verdict.witness == ("T1", "T2", "T3")


def test_a_lost_update_on_a_busy_key_is_violated_though_its_orders_are_too_many() -> None:
    """Fifty read-modify-writes of x in a chain, and T50 that read T25's version too: the
    writers after the fork can interleave in more orders than are tried one by one, but
    the polygraph over x's writers shows none works (T50 and T26 each must follow the
    other), so serializable is violated rather than not applicable."""
    txs = [_tx("T0", Read("x", 0, None), Write("x", 1))]
    txs += [_tx(f"T{i}", Read("x", i, f"T{i - 1}"), Write("x", i + 1)) for i in range(1, 50)]
    txs.append(_tx("T50", Read("x", 26, "T25"), Write("x", 99)))
    verdict = _verdict(History(tuple(txs), initial={"x": 0}))
    assert verdict.status == "violated", verdict.summary
    assert [a.kind for a in verdict.anomalies] == ["lost-update", "unsatisfiable"]
    assert set(verdict.anomalies[1].transactions) == {"T26", "T50"}
