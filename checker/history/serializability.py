"""The serializability criteria, each a verdict with its witness or its anomalies.

``serializable``       conflict serializable (Adya PL-3): the dependency graph is acyclic.
``view-serializable``  some serial order gives every read the same writer and the store
                       the same final writes (weaker: blind writes may be reordered).
``preset-order``       the preset (block) order itself is such an order: what a
                       deterministic chain promises; one linear replay, no solver.
``global-order``       every module's sub-history is view serializable and one order
                       serves all of them, a cross-module transaction placed the same
                       way everywhere.
``strict-serializable``  serializable, with every transaction that ended before another
                       began ordered first (needs start and end times).
``session``            serializable, with each process's transactions in the order it ran
                       them (needs processes).

Indeterminate transactions are first settled (``settle``), so every criterion judges one
history; every witness order is replayed against it before it is reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import attrs

from shardcheck.checker.errors import BadInput, InternalError
from shardcheck.checker.history.anomalies import Anomaly, Edge
from shardcheck.checker.history.dsg import (
    ConflictResult,
    LabelledEdge,
    base_edges,
    decide_conflict,
    labelled_edges,
    lost_updates,
    missing_versions,
    process_edges,
    realtime_edges,
)
from shardcheck.checker.history.indexed import (
    Indexed,
    check_references,
    collector_paused,
    compile_history,
    replay_order,
)
from shardcheck.checker.history.indexed import structural_anomalies as find_structural
from shardcheck.checker.history.polygraph import (
    PolygraphStats,
    ViewResult,
    check_view,
    refute_orders,
)
from shardcheck.checker.history.records import History, Write
from shardcheck.checker.history.settle import settle

SERIALIZABLE = "serializable"
VIEW_SERIALIZABLE = "view-serializable"
PRESET_ORDER = "preset-order"
GLOBAL_ORDER = "global-order"
STRICT_SERIALIZABLE = "strict-serializable"
SESSION = "session"

CRITERIA: dict[str, str] = {
    SERIALIZABLE: "conflict serializable: the ww/wr/rw dependency graph is acyclic "
                  "(needs each key's version order)",
    VIEW_SERIALIZABLE: "some serial order gives every read the same writer and the store "
                       "the same final writes",
    PRESET_ORDER: "the preset (block) order gives every read the same writer and value "
                  "and the same final store",
    GLOBAL_ORDER: "each module's sub-history is serializable and one global order serves "
                  "them all",
    STRICT_SERIALIZABLE: "serializable, and a transaction that ended before another began "
                         "comes first (needs start and end times)",
    SESSION: "serializable, and each process's transactions come in the order it ran them "
             "(needs processes)",
}
"""Every criterion, with the one line ``--help`` and reports use."""

Status = Literal["holds", "violated", "inconclusive", "not-applicable"]

DEFAULT_SOLVER_TIMEOUT = 60.0


@attrs.frozen
class Verdict:
    """One criterion's answer: the witness order when it holds, the anomalies when not."""

    criterion: str
    status: Status
    summary: str
    witness: tuple[str, ...] | None = None
    anomalies: tuple[Anomaly, ...] = ()
    stats: PolygraphStats | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (no timings, so the same history gives the same bytes)."""
        out: dict[str, Any] = {"criterion": self.criterion, "status": self.status,
                               "summary": self.summary}
        if self.witness is not None:
            out["witness"] = list(self.witness)
        out["anomalies"] = [a.to_json() for a in self.anomalies]
        if self.stats is not None:
            out["polygraph"] = attrs.asdict(self.stats)
        return out


@attrs.frozen
class Report:
    """Every verdict asked for, in the order asked."""

    transactions: int
    committed: int
    keys: int
    verdicts: tuple[Verdict, ...]
    assumed: tuple[str, ...] = ()
    """How each indeterminate transaction was counted, and why."""

    def status(self) -> Status:
        """The worst verdict: violated, then inconclusive, then holds; not-applicable only
        when no criterion could be decided at all."""
        statuses = [v.status for v in self.verdicts]
        for s in ("violated", "inconclusive", "holds"):
            if s in statuses:
                return s
        return "not-applicable"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        out: dict[str, Any] = {"transactions": self.transactions, "committed": self.committed,
                               "keys": self.keys, "status": self.status()}
        if self.assumed:
            out["assumed"] = list(self.assumed)
        out["verdicts"] = [v.to_json() for v in self.verdicts]
        return out


class _Checker:
    """Shares the settled and compiled history and the structural checks between criteria."""

    def __init__(self, history: History, timeout_s: float) -> None:
        check_references(history)
        settled = settle(history)
        self.history = settled.history
        self.assumed = settled.assumed
        self.timeout_s = timeout_s
        self._structural: list[Anomaly] | None = None
        self._ix: Indexed | None = None
        self._view: ViewResult | None = None
        self._graphs: dict[str, ConflictResult] = {}
        self._conflict: Verdict | None = None
        self._preset: tuple[str | None] | None = None

    @property
    def structural(self) -> list[Anomaly]:
        if self._structural is None:
            self._structural = find_structural(self.history, self.ix)
        return self._structural

    @property
    def compiled(self) -> bool:
        return self._ix is not None

    @property
    def ix(self) -> Indexed:
        if self._ix is None:
            self._ix = compile_history(self.history)
        return self._ix

    def validate(self, order: Sequence[str]) -> str | None:
        return replay_order(self.history, order)

    def conflict(self) -> Verdict:
        return self._conflict_verdict()

    def _conflict_verdict(self) -> Verdict:
        if self._conflict is None:
            self._conflict = self._decide_conflict()
        return self._conflict

    def _decide_conflict(self) -> Verdict:
        if self._preset_orders_versions() and self._preset_problem() is None:
            # Every read sees the latest earlier write in the preset order and every key's
            # versions follow it, so each ww, wr and rw edge points forward in that order:
            # the graph is acyclic and the preset order is its witness, with no graph built.
            return Verdict(SERIALIZABLE, "holds", "every dependency follows the preset "
                           "order, which reproduces every read; it is the witness",
                           witness=tuple(self.history.preset or ()))
        return self._graph_verdict(SERIALIZABLE, ())

    def strict(self) -> Verdict:
        if not any(t.start is not None for t in self.history.committed()) or not any(
                t.end is not None for t in self.history.committed()):
            return Verdict(STRICT_SERIALIZABLE, "not-applicable", "the history records no "
                           "start and end times")
        return self._graph_verdict(STRICT_SERIALIZABLE, realtime_edges(self.ix))

    def session(self) -> Verdict:
        if not any(t.process is not None for t in self.history.committed()):
            return Verdict(SESSION, "not-applicable", "the history records no processes")
        return self._graph_verdict(SESSION, process_edges(self.ix))

    def _graph(self, criterion: str, extra: Sequence[LabelledEdge]) -> ConflictResult:
        """The dependency graph's answer (computed once per criterion)."""
        if criterion not in self._graphs:
            self._graphs[criterion] = decide_conflict(self.ix, extra)
        return self._graphs[criterion]

    def _refuted(self, criterion: str, extra: Sequence[LabelledEdge]) -> ConflictResult:
        """The graph's answer, and when too many version orders were open to try, the
        polygraph over the open keys' writers, which may still show that none works
        (asked for by the conflict criteria only: it costs what a view check does)."""
        result = self._graph(criterion, extra)
        if not result.open_keys:
            return result
        shared = [*base_edges(self.ix, result.open_keys), *extra]
        edges = list(labelled_edges(self.ix, lambda _: True, None, shared))
        found = refute_orders(self.ix, edges, result.open_keys)
        if found is not None:
            involved = {t for a in found for t in a.transactions}
            lost = [a for a in lost_updates(self.ix) if set(a.transactions) <= involved]
            result = attrs.evolve(result, anomalies=(*lost, *found), undecided="",
                                  open_keys=())
        else:
            result = attrs.evolve(result, open_keys=())
        self._graphs[criterion] = result
        return result

    def _graph_verdict(self, criterion: str, extra: Sequence[LabelledEdge]) -> Verdict:
        """The dependency graph (plus ``extra`` edges of time or session order) decides:
        acyclic under every version order the history allows, or cyclic under all."""
        result = self._refuted(criterion, extra)
        if self.structural:
            anomalies = (*self.structural, *result.anomalies)
            return Verdict(criterion, "violated", _anomaly_summary(anomalies),
                           anomalies=anomalies)
        if result.undecided:
            return Verdict(criterion, "not-applicable", f"{result.undecided} (record "
                           "\"versions\", or \"replaces\" on each write)")
        if result.witness is None:
            return Verdict(criterion, "violated", _anomaly_summary(result.anomalies),
                           anomalies=result.anomalies)
        self._check_witness(criterion, result.witness)
        edges = f"{result.edges:,} edge" + ("" if result.edges == 1 else "s")
        extra_words = {STRICT_SERIALIZABLE: " with real-time order",
                       SESSION: " with session order"}.get(criterion, "")
        every = (f" under each of the {result.orders} version orders the history allows"
                 if result.orders > 1 else "")
        return Verdict(criterion, "holds", f"acyclic dependency graph{extra_words} ({edges})"
                       f"{every}; the witness is a topological order", witness=result.witness)

    def view(self) -> Verdict:
        preset = self._view_from_preset()
        if preset is not None:
            return Verdict(VIEW_SERIALIZABLE, "holds", preset.reason, witness=preset.witness)
        if self.structural:
            return self._structural_verdict(VIEW_SERIALIZABLE)
        result = self._view_result()
        if result.status == "holds":
            return Verdict(VIEW_SERIALIZABLE, "holds", _view_summary(result),
                           witness=result.witness, stats=result.stats)
        if result.status == "inconclusive":
            return Verdict(VIEW_SERIALIZABLE, "inconclusive", result.reason, stats=result.stats)
        anomalies = (*self._lost_updates(result.anomalies), *result.anomalies)
        if not missing_versions(self.ix):
            # With every version order known the conflict graph's cycles name the real
            # dependencies; the polygraph's cycles may rest on orders it only forced.
            conflict = self._graph(SERIALIZABLE, ())
            if conflict.witness is None and conflict.anomalies:
                anomalies = conflict.anomalies
        return Verdict(VIEW_SERIALIZABLE, "violated", _anomaly_summary(anomalies),
                       anomalies=anomalies, stats=result.stats)

    def _lost_updates(self, anomalies: Sequence[Anomaly]) -> list[Anomaly]:
        involved = {t for a in anomalies for t in a.transactions}
        return [a for a in lost_updates(self.ix) if set(a.transactions) <= involved]

    def _view_result(self) -> ViewResult:
        if self._view is None:
            self._view = (self._view_from_preset() or self._view_from_conflict()
                          or check_view(self.ix, self.timeout_s, self.validate,
                                        focus=self._focus()))
        return self._view

    def _focus(self) -> frozenset[int] | None:
        """With every version order known and the dependency graph cyclic, its cycles:
        the view check tries the choices around them first."""
        if missing_versions(self.ix):
            return None
        result = self._graph(SERIALIZABLE, ())
        return result.cyclic if result.witness is None else None

    def _view_from_preset(self) -> ViewResult | None:
        """A preset order that reproduces every read and the final store is itself a view
        serializable order: one replay, nothing compiled."""
        if self.history.preset is None or self._preset_problem() is not None:
            return None
        return ViewResult("holds", tuple(self.history.preset), (), None,
                          reason="the preset order reproduces every read and the final "
                                 "store; it is the witness")

    def _view_from_conflict(self) -> ViewResult | None:
        """Conflict serializable implies view serializable: an acyclic dependency graph
        answers without building the polygraph, whose choices grow with the square of
        each key's writers."""
        if self.structural:
            return None
        result = self._graph(SERIALIZABLE, ())
        if result.witness is None or self.validate(result.witness) is not None:
            return None
        return ViewResult("holds", result.witness, (), None)

    def _preset_problem(self) -> str | None:
        """The preset order's first differing read (computed once), or None."""
        assert self.history.preset is not None
        if self._preset is None:
            self._preset = (replay_order(self.history, self.history.preset),)
        return self._preset[0]

    def _preset_orders_versions(self) -> bool:
        """Whether a preset is recorded, no other facts about versions are, and every key
        two transactions write has a recorded version order that follows it."""
        h = self.history
        if (h.preset is None or h.version_chains or h.replaces
                or h.value_type != "register"):
            return False
        position = {tid: i for i, tid in enumerate(h.preset)}
        recorded = h.versions_map()
        for order in recorded.values():
            places = [position[t] for t in order]
            if places != sorted(places):
                return False
        writers: dict[str, int] = {}
        for t in h.committed():
            for op in t.ops:
                if isinstance(op, Write):
                    writers[op.key] = writers.get(op.key, 0) + 1
        return all(count < 2 or key in recorded for key, count in writers.items())

    def preset(self) -> Verdict:
        if self.history.preset is None:
            return Verdict(PRESET_ORDER, "not-applicable", "the history records no preset "
                           "order")
        problem = self._preset_problem()
        if problem is not None:
            return Verdict(PRESET_ORDER, "violated", problem)
        return Verdict(PRESET_ORDER, "holds", "the preset order reproduces every read and "
                       "the final store", witness=tuple(self.history.preset))

    def global_order(self) -> Verdict:
        modules = self.history.module_names()
        if len(modules) < 2:
            return Verdict(GLOBAL_ORDER, "not-applicable", "the history names fewer than two "
                           "modules")
        if self.structural:
            return self._structural_verdict(GLOBAL_ORDER)
        for module in modules:
            sub = _Checker(self.history.project(module), self.timeout_s)
            verdict = sub.view()
            if verdict.status != "holds":
                return Verdict(GLOBAL_ORDER, verdict.status, f"module {module}: "
                               f"{verdict.summary}", anomalies=verdict.anomalies)
        result = self._view_result()
        if result.status == "holds":
            return Verdict(GLOBAL_ORDER, "holds", f"{len(modules)} modules, each "
                           "serializable, share one order", witness=result.witness)
        if result.status == "inconclusive":
            return Verdict(GLOBAL_ORDER, "inconclusive", result.reason)
        owner = self.history.module_map()
        anomalies = tuple(_cross_module(a, owner) for a in result.anomalies)
        return Verdict(GLOBAL_ORDER, "violated", _anomaly_summary(anomalies),
                       anomalies=anomalies)

    def _structural_verdict(self, criterion: str) -> Verdict:
        """Faults no order can explain, and beside them the dependency cycles every
        version order the history allows closes: every class present is reported."""
        anomalies = (*self.structural, *self._graph(SERIALIZABLE, ()).anomalies)
        return Verdict(criterion, "violated", _anomaly_summary(anomalies),
                       anomalies=anomalies)

    def _check_witness(self, criterion: str, witness: Sequence[str]) -> None:
        problem = self.validate(witness)
        if problem is not None:
            raise InternalError(f"the {criterion} witness failed its replay: {problem}")


def _view_summary(result: ViewResult) -> str:
    s = result.stats
    if s is None:
        return "conflict serializable, hence view serializable; the witness is its order"
    if s.settled_by == "serial search":
        built = (f"{s.choices:,} ordering choices pruned first; " if s.choices else
                 "no ordering choice built; ")
        return f"{built}a serial search found an order that replays every read"
    if s.residual:
        by = {"search": "a direct search",
              "graph order": "one topological order of the pruned graph"}.get(s.settled_by,
                                                                              s.settled_by)
        return (f"{s.choices:,} ordering choices, {s.choices - s.residual:,} settled by the "
                f"graph, {s.residual:,} by {by}")
    return f"{s.choices:,} ordering choices, all settled by the graph; no solver needed"


def _anomaly_summary(anomalies: Sequence[Anomaly]) -> str:
    if not anomalies:
        return "no serial order exists"
    kinds = sorted({a.kind for a in anomalies}, key=lambda k: [a.kind for a in anomalies]
                   .index(k))
    return f"{anomalies[0].message} ({', '.join(kinds)})"


def _cross_module(anomaly: Anomaly, owner: dict[str, str]) -> Anomaly:
    modules = {owner.get(e.key, "?") for e in anomaly.cycle}
    if len(modules) < 2:
        return anomaly
    edges = tuple(Edge(e.src, e.dst, e.kind, e.key, f"{e.why} [module {owner.get(e.key, '?')}]")
                  for e in anomaly.cycle)
    parts = ", ".join(f"module {owner.get(e.key, '?')} orders {e.src} before {e.dst} "
                      f"({e.key})" for e in anomaly.cycle)
    return Anomaly("cross-module", f"no single order across modules: {parts}",
                   anomaly.transactions, edges)


def default_criteria(history: History) -> list[str]:
    """The four criteria every history is judged by, plus strict serializability when it
    records times and session order when it records processes."""
    chosen = [SERIALIZABLE, VIEW_SERIALIZABLE, PRESET_ORDER, GLOBAL_ORDER]
    if any(t.start is not None or t.end is not None for t in history.transactions):
        chosen.append(STRICT_SERIALIZABLE)
    if any(t.process is not None for t in history.transactions):
        chosen.append(SESSION)
    return chosen


def check_history(history: History, criteria: Sequence[str] | None = None,
                  timeout_s: float = DEFAULT_SOLVER_TIMEOUT) -> Report:
    """Judge a history by each criterion (default: ``default_criteria``, the inapplicable
    ones said so)."""
    chosen = list(criteria) if criteria else default_criteria(history)
    for name in chosen:
        if name not in CRITERIA:
            raise BadInput(f"unknown criterion {name!r}; choose from {', '.join(CRITERIA)}")
    with collector_paused():
        checker = _Checker(history, timeout_s)
        run = {SERIALIZABLE: checker.conflict, VIEW_SERIALIZABLE: checker.view,
               PRESET_ORDER: checker.preset, GLOBAL_ORDER: checker.global_order,
               STRICT_SERIALIZABLE: checker.strict, SESSION: checker.session}
        verdicts = tuple(run[name]() for name in chosen)
        keys = len(checker.ix.keys) if checker.compiled else len(history.keys())
    return Report(len(history.transactions), len(checker.history.committed()), keys, verdicts,
                  checker.assumed)
