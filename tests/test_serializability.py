"""Serializability of histories: the example anomalies, brute force against the checker,
the laws between criteria, and design outcomes judged by their histories."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shardcheck import model
from shardcheck.checker.history.files import load_history
from shardcheck.checker.history.indexed import compile_history, replay_order
from shardcheck.checker.history.polygraph import check_view
from shardcheck.checker.history.records import History, HistoryTx, Read, Value, Write, from_outcome
from shardcheck.checker.history.serializability import check_history
from shardcheck.checker.search.explorer import SearchSettings, explore

from .conftest import ROOT

EXAMPLES = ROOT / "traces" / "histories"

# file -> criterion -> (status, the anomaly classes reported, in order)
EXPECTED: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    "serializable": {"serializable": ("holds", ()), "view-serializable": ("holds", ()),
                     "preset-order": ("holds", ())},
    "g0-write-cycle": {"serializable": ("violated", ("G0",)),
                       "view-serializable": ("violated", ("G0",))},
    "g1a-aborted-read": {"serializable": ("violated", ("G1a",)),
                         "view-serializable": ("violated", ("G1a",))},
    "g1b-intermediate-read": {"serializable": ("violated", ("G1b",))},
    "g1c-circular-flow": {"serializable": ("violated", ("G1c",)),
                          "view-serializable": ("violated", ("G1c",))},
    "g-single-read-skew": {"serializable": ("violated", ("G-single",)),
                           "view-serializable": ("violated", ("G-single",))},
    "g2-anti-dependency-cycle": {"serializable": ("violated", ("G2",))},
    "write-skew": {"serializable": ("violated", ("write-skew",))},
    "lost-update": {"serializable": ("violated", ("lost-update", "G-single")),
                    "view-serializable": ("violated", ("lost-update", "G-single")),
                    "preset-order": ("violated", ())},
    "blind-writes-view-only": {"serializable": ("violated", ("G-single",)),
                               "view-serializable": ("holds", ())},
    "cross-module": {"global-order": ("violated", ("cross-module",))},
    "preset-stale-read": {"serializable": ("holds", ()), "preset-order": ("violated", ())},
}


def test_every_example_history_has_an_expectation() -> None:
    """Each file under traces/histories/ is covered by the table below, and only those."""
    assert {p.stem for p in EXAMPLES.glob("*.json")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_history_gets_its_classification(name: str) -> None:
    """The anomaly each example was written to show is the one reported."""
    report = check_history(load_history(EXAMPLES / f"{name}.json"))
    verdicts = {v.criterion: v for v in report.verdicts}
    for criterion, (status, kinds) in EXPECTED[name].items():
        verdict = verdicts[criterion]
        assert verdict.status == status, (criterion, verdict.summary)
        assert tuple(a.kind for a in verdict.anomalies) == kinds, criterion


def test_a_cycle_is_spelled_out_edge_by_edge() -> None:
    """A write skew names both transactions, both keys and both anti-dependencies."""
    report = check_history(load_history(EXAMPLES / "write-skew.json"), ["serializable"])
    (anomaly,) = report.verdicts[0].anomalies
    assert [(e.src, e.dst, e.kind, e.key) for e in anomaly.cycle] == [
        ("T2", "T1", "rw", "x"), ("T1", "T2", "rw", "y")]
    assert "T2 read a version of x that T1 overwrote" in anomaly.lines()[1]


def test_preset_order_names_the_first_differing_read() -> None:
    """The stale read of a missed re-validation is reported with what it should have seen."""
    report = check_history(load_history(EXAMPLES / "preset-stale-read.json"), ["preset-order"])
    assert report.verdicts[0].summary == (
        "T1's op 1 read a = 5 from the initial store; in this order it reads 3 from T0")


# --- brute force --------------------------------------------------------------------

def brute_force_view_serializable(history: History) -> bool:
    """Some permutation of the committed transactions reproduces every read and the final
    writes: written independently of the checker, as the oracle."""
    committed = [t for t in history.transactions if t.status == "committed"]
    initial = dict(history.initial or ())
    final = dict(history.final) if history.final is not None else None
    last_version = {k: v[-1] for k, v in history.versions if v}
    for order in itertools.permutations(committed):
        state: dict[str, tuple[str | None, Value]] = {}
        ok = True
        for t in order:
            own: dict[str, Value] = {}
            for op in t.ops:
                if isinstance(op, Write):
                    own[op.key] = op.value
                    continue
                seen = (t.id, own[op.key]) if op.key in own else state.get(
                    op.key, (None, initial.get(op.key)))
                if seen != (op.writer, op.value):
                    ok = False
                    break
            if not ok:
                break
            state.update({k: (t.id, v) for k, v in own.items()})
        if not ok:
            continue
        if final is not None and any(state.get(k, (None, initial.get(k)))[1] != v
                                     for k, v in final.items()):
            continue
        if any(state.get(k, (None, None))[0] != w for k, w in last_version.items()):
            continue
        return True
    return False


KEYS = ("x", "y", "z")


@st.composite
def histories(draw: st.DrawFn, max_txs: int = 5) -> History:
    """Small histories: half from a real serial execution (so serializable), half with
    reads pointed at arbitrary writers, and some with aborts, versions and a final store."""
    n = draw(st.integers(1, max_txs))
    ids = [f"T{i}" for i in range(n)]
    status = {t: draw(st.sampled_from(["committed"] * 4 + ["aborted"])) for t in ids}
    plans = []
    for i in range(n):
        ops = draw(st.lists(st.tuples(st.sampled_from(["r", "w"]), st.sampled_from(KEYS)),
                            min_size=1, max_size=4))
        plans.append([(kind, key, 100 * (i + 1) + j) for j, (kind, key) in enumerate(ops)])
    serial = draw(st.booleans())
    order = draw(st.permutations(ids)) if serial else ids
    initial = {k: 0 for k in KEYS}
    state: dict[str, tuple[str | None, int]] = {k: (None, 0) for k in KEYS}
    finals: dict[str, dict[str, int]] = {
        t: {key: value for kind, key, value in plan if kind == "w"}
        for t, plan in zip(ids, plans, strict=True)}
    built: dict[str, HistoryTx] = {}
    for t in order:
        plan = plans[ids.index(t)]
        ops: list[Read | Write] = []
        own: dict[str, int] = {}
        for kind, key, value in plan:
            if kind == "w":
                ops.append(Write(key, value))
                own[key] = value
            elif key in own:
                ops.append(Read(key, own[key], t))
            elif serial:
                writer, seen = state[key]
                ops.append(Read(key, seen, writer))
            else:
                writers = [w for w in ids if w != t and key in finals[w]]
                writer_choice = draw(st.sampled_from([None, *writers]))
                seen = 0 if writer_choice is None else finals[writer_choice][key]
                ops.append(Read(key, seen, writer_choice))
        if status[t] == "committed" or not serial:
            state.update({k: (t, v) for k, v in own.items()})
        built[t] = HistoryTx(t, status[t], tuple(ops))
    if serial:  # a serial execution with aborts would not be one
        built = {t: HistoryTx(t, "committed", h.ops) for t, h in built.items()}
    txs = tuple(built[t] for t in ids)
    history = History(txs, initial=initial)
    committed = [t for t in txs if t.status == "committed"]
    if draw(st.booleans()):
        versions = {}
        for k in KEYS:
            writers = [t.id for t in committed if k in t.final_writes()]
            if serial:
                writers.sort(key=list(order).index)
            else:
                writers = list(draw(st.permutations(writers)))
            if writers:
                versions[k] = writers
        final = {k: built[v[-1]].final_writes()[k] for k, v in versions.items()}
        history = History(txs, initial=initial, versions=versions, final=final)
    ids_committed = [t.id for t in committed]
    preset_kind = draw(st.sampled_from(["none", "execution", "shuffled"]))
    if preset_kind != "none":
        preset = ([t for t in order if t in ids_committed] if preset_kind == "execution"
                  else list(draw(st.permutations(ids_committed))))
        history = History(txs, initial=history.initial, versions=history.versions,
                          final=history.final, preset=preset)
    return history


@settings(max_examples=300, deadline=None)
@given(histories())
def test_view_serializability_agrees_with_brute_force(history: History) -> None:
    """z3 after pruning, z3 alone and brute force over every order give one verdict, and
    every witness, re-executed, reproduces every read."""
    expected = brute_force_view_serializable(history)
    verdict = check_history(history, ["view-serializable"]).verdicts[0]
    assert verdict.status == ("holds" if expected else "violated"), verdict.summary
    if verdict.witness is not None:
        assert replay_order(history, verdict.witness) is None
    if not expected:
        assert verdict.anomalies, "a violation comes with its anomaly"


@settings(max_examples=150, deadline=None)
@given(histories(max_txs=4))
def test_pruning_and_search_never_change_the_view_verdict(history: History) -> None:
    """The serial search, the direct search after pruning, z3 after pruning and z3 on the
    whole polygraph agree."""
    report = check_history(history, ["view-serializable"])
    if any(a.kind in ("G1a", "G1b", "garbage-read", "internal", "final-state")
           for a in report.verdicts[0].anomalies):
        return  # decided before any polygraph is built
    ix = compile_history(history)

    def validate(order: tuple[str, ...]) -> str | None:
        return replay_order(history, order)

    default = check_view(ix, 30, validate)
    searched = check_view(ix, 30, validate, serial=False)
    solved = check_view(ix, 30, validate, search=False, serial=False)
    whole = check_view(ix, 30, validate, pruning=False, serial=False)
    assert default.status == searched.status == solved.status == whole.status


@settings(max_examples=300, deadline=None)
@given(histories())
def test_conflict_serializable_implies_view_serializable(history: History) -> None:
    """CSR is the stronger criterion, and preset-order (when it holds) is a VSR witness."""
    conflict, view, preset = check_history(
        history, ["serializable", "view-serializable", "preset-order"]).verdicts
    if preset.status == "holds":
        assert view.status == "holds"
    # The graph decides conflict serializability the long way; the preset shortcut must
    # agree with it.
    plain = History(history.transactions, initial=history.initial, versions=history.versions,
                    final=history.final)
    assert check_history(plain, ["serializable"]).verdicts[0].status == conflict.status
    if conflict.status == "holds":
        assert view.status == "holds"
        assert conflict.witness is not None
        assert replay_order(history, conflict.witness) is None
    if view.status == "violated":
        assert conflict.status in ("violated", "not-applicable")


def test_serial_executions_are_serializable_in_their_own_order() -> None:
    """A history recorded from a serial run, preset in that order, passes every criterion."""
    history = load_history(EXAMPLES / "serializable.json")
    statuses = {v.criterion: v.status for v in check_history(history).verdicts}
    assert statuses == {"serializable": "holds", "view-serializable": "holds",
                        "preset-order": "holds", "global-order": "not-applicable"}


def test_modules_each_serializable_but_not_together() -> None:
    """The cross-module cycle names each module's order; each projection alone passes."""
    history = load_history(EXAMPLES / "cross-module.json")
    for module in history.module_names():
        sub = check_history(history.project(module), ["view-serializable"])
        assert sub.verdicts[0].status == "holds"
    verdict = check_history(history, ["global-order"]).verdicts[0]
    assert verdict.status == "violated"
    assert "module bank orders T2 before T1" in verdict.summary
    assert "module dex orders T1 before T2" in verdict.summary


def test_a_module_that_is_not_serializable_is_named() -> None:
    """When one module's own history fails, global-order blames that module."""
    base = load_history(EXAMPLES / "write-skew.json")
    history = History(base.transactions, initial=base.initial,
                      modules={"x": "left", "y": "left"})
    assert history.module_names() == ("left",)
    two = History((*base.transactions, HistoryTx("T9", "committed", (Write("q", 1),))),
                  initial=base.initial, modules={"x": "left", "y": "left", "q": "right"})
    verdict = check_history(two, ["global-order"]).verdicts[0]
    assert verdict.status == "violated"
    assert verdict.summary.startswith("module left:")


def test_an_exhausted_solver_budget_is_inconclusive_not_a_pass() -> None:
    """With a budget z3 cannot meet the answer is inconclusive, never holds."""
    txs = []
    for i in range(120):
        ops: list[Read | Write] = [Write(f"k{(i * 7 + j) % 40}", i * 10 + j) for j in range(3)]
        txs.append(HistoryTx(f"T{i}", "committed", tuple(ops)))
    # Every key read once from its first writer, so every other writer has a choice.
    readers = []
    for k in range(40):
        writer = next(t for t in txs if any(op.key == f"k{k}" for op in t.ops))
        value = next(op.value for op in writer.ops if op.key == f"k{k}")
        readers.append(HistoryTx(f"R{k}", "committed", (Read(f"k{k}", value, writer.id),)))
    history = History(tuple(txs + readers), initial={f"k{k}": 0 for k in range(40)})
    ix = compile_history(history)
    result = check_view(ix, 0.001, lambda order: replay_order(history, order), pruning=False)
    assert result.status in ("inconclusive", "holds")
    if result.status == "inconclusive":
        assert "z3" in result.reason


# --- design outcomes ---------------------------------------------------------------

def test_block_stm_outcomes_pass_every_history_criterion() -> None:
    """Every terminal outcome of correct Block-STM on a small block is conflict and view
    serializable and equivalent to the block order."""
    design = model.builtin_designs()["block-stm"]
    config = model.Config(model.build_workload("counter:txs=2,keys=1"), 2)
    result = explore(design, config, SearchSettings(
        criteria=("serializable", "view-serializable", "preset-order")))
    assert result.verdict == "pass"


@pytest.mark.parametrize(("mutant", "workload", "criterion"), [
    ("exists-unrecorded", "registry:txs=2", "view-serializable"),
    ("not-found-ignores-version", "condwrite:txs=3,mode=vanish", "preset-order"),
])
def test_mutants_break_history_criteria(mutant: str, workload: str, criterion: str) -> None:
    """A mutant's wrong outcome shows up as a history that fails the criterion."""
    base = model.builtin_designs()["block-stm"]
    design = next(m.design for m in base.mutants() if m.name == mutant)
    config = model.Config(model.build_workload(workload), 2)
    result = explore(design, config, SearchSettings(criteria=(criterion,)))
    assert result.verdict == "violation"
    assert result.violation is not None and result.violation.property == criterion


def test_the_history_of_a_serial_outcome() -> None:
    """from_outcome records writers, versions in commit order, the preset and modules."""
    workload = model.build_workload("transfers:txs=3,accounts=2,modules=2")
    outcome = model.execute_serially(workload)
    history = from_outcome(outcome, workload)
    assert history.preset == ("T0", "T1", "T2")
    assert len(history.module_names()) == 2
    statuses = {v.criterion: v.status for v in check_history(history).verdicts}
    assert statuses == {"serializable": "holds", "view-serializable": "holds",
                        "preset-order": "holds", "global-order": "holds"}


def test_unknown_criterion_is_bad_input() -> None:
    """A criterion name that does not exist is refused with the list of real ones."""
    from shardcheck.checker.errors import BadInput
    with pytest.raises(BadInput, match="choose from serializable"):
        check_history(History(()), ["linearizable"])


def test_examples_directory_exists() -> None:
    """The examples ship with the repository."""
    assert Path(EXAMPLES).is_dir()


@st.composite
def order_problems(draw: st.DrawFn) -> tuple[int, list[tuple[int, int]],
                                              list[tuple[tuple[int, int], tuple[int, int]]]]:
    """A small DAG (edges go from lower to higher node) and random two-sided choices."""
    m = draw(st.integers(2, 6))
    pairs = [(a, b) for a in range(m) for b in range(m) if a != b]
    edges = draw(st.lists(st.sampled_from([(a, b) for a, b in pairs if a < b]), max_size=6))
    choices = draw(st.lists(st.tuples(st.sampled_from(pairs), st.sampled_from(pairs)),
                            max_size=6))
    return m, edges, choices


@settings(max_examples=400, deadline=None)
@given(order_problems())
def test_order_search_agrees_with_z3_and_brute_force(
        problem: tuple[int, list[tuple[int, int]],
                       list[tuple[tuple[int, int], tuple[int, int]]]]) -> None:
    """The direct search, z3 and trying every permutation agree; a found order is one."""
    from shardcheck.checker.history.orders import search_order
    from shardcheck.checker.prove.solver import solve_order

    m, edges, choices = problem

    def fits(order: tuple[int, ...], sides: list[tuple[int, int]]) -> bool:
        pos = {u: i for i, u in enumerate(order)}
        return all(pos[a] < pos[b] for a, b in sides)

    expected = any(
        fits(order, edges) and all(fits(order, [one]) or fits(order, [other])
                                   for one, other in choices)
        for order in itertools.permutations(range(m)))
    found = search_order(m, edges, choices)
    answer = solve_order(m, edges, choices, timeout_s=30)
    assert found.status == ("sat" if expected else "unsat")
    assert answer.status == found.status
    if found.status == "sat":
        chosen = [one if first else other
                  for (one, other), first in zip(choices, found.first_side, strict=True)]
        assert any(fits(order, [*edges, *chosen]) for order in itertools.permutations(range(m)))


def test_order_search_gives_up_within_its_budget() -> None:
    """A budget of decisions is respected: the answer is gave-up, not a guess."""
    from shardcheck.checker.history.orders import search_order

    choices = [((i, i + 1), (i + 1, i)) for i in range(0, 10, 2)]
    assert search_order(12, [], choices, max_decisions=2).status == "gave-up"
    assert search_order(12, [], choices).status == "sat"


def test_explore_criterion_is_recorded_and_replayed(tmp_path: Path) -> None:
    """`explore --criterion` judges by the history, the trace records the choice, and
    replay judges the same way."""
    import json

    from .cli_helpers import flat, invoke

    trace = tmp_path / "t.json"
    result = invoke("explore", "block-stm:exists-unrecorded", "-w", "registry:txs=2",
                    "--criterion", "view-serializable", "-q", "--no-timeline",
                    "--trace-out", str(trace))
    assert result.exit_code == 1, result.output
    assert "violation of view-serializable" in flat(result.output)
    assert json.loads(trace.read_text())["config"]["criteria"] == ["view-serializable"]
    replayed = invoke("replay", str(trace), "--no-timeline")
    assert replayed.exit_code == 1
    assert "reproduced: violation of view-serializable" in flat(replayed.output)


def test_a_design_declares_its_criteria() -> None:
    """A design's `criteria` attribute replaces serial equivalence, and a bad name in it
    is reported against the design."""
    from shardcheck.checker.design.properties import Judge
    from shardcheck.checker.errors import BadInput

    base = model.builtin_designs()["serial"]
    config = model.Config(model.build_workload("counter:txs=2,keys=1"), 1)

    class Declares:
        """The serial design, judged by view serializability instead."""

        criteria = ("view-serializable",)

        def __getattr__(self, name: str) -> object:
            return getattr(base, name)

    judge = Judge(Declares(), config, 100)  # type: ignore[arg-type]
    assert judge.criteria == ("view-serializable",)
    assert "serial-equivalence" not in judge.names()

    class Misspells(Declares):
        """A criterion that does not exist."""

        criteria = ("view-serialisable",)

    with pytest.raises(BadInput, match="view-serialisable"):
        Judge(Misspells(), config, 100)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 9).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)),
                         max_size=20))))
def test_strongly_connected_components_agree_with_networkx(
        graph: tuple[int, list[tuple[int, int]]]) -> None:
    """Our iterative Tarjan finds exactly networkx's components."""
    import networkx as nx

    from shardcheck.checker.history.dsg import strongly_connected

    n, edges = graph
    adj: dict[int, list[int]] = {u: [] for u in range(n)}
    for a, b in edges:
        adj[a].append(b)
    reference = nx.DiGraph()
    reference.add_nodes_from(range(n))
    reference.add_edges_from(edges)
    expected = sorted(sorted(c) for c in nx.strongly_connected_components(reference))
    assert strongly_connected(adj) == expected


def test_the_dependency_graph_exports_to_networkx() -> None:
    """Every ww, wr and rw edge of a history is in the exported graph with its key."""
    from shardcheck.checker.history.dsg import to_networkx

    graph = to_networkx(compile_history(load_history(EXAMPLES / "write-skew.json")))
    edges = {(a, b, d["kind"], d["item"]) for a, b, d in graph.edges(data=True)}
    assert edges == {("T2", "T1", "rw", "x"), ("T1", "T2", "rw", "y")}
