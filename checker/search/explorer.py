"""Exhaustive exploration: one explorer, breadth-first or depth-first by frontier policy.

The visited set holds 64-bit keys, never states: on the ordinary path a key is a BLAKE2b
hash of the state's canonical encoding (of its symmetry representative), so two states
can collide, and the result reports the probability that one did, as TLC does. A design
that offers the compact fast path (``model.Compact``) has its states packed into ints,
which are their own keys: no hashing, and no collision. Each state found gets a number;
two flat arrays hold, per number, the number of its parent and the index of the action
that reached it (8 bytes a state), so a violation's path is rebuilt by regenerating
actions, as TLC does, and no path or action object is kept.

Partial-order reduction (``SearchSettings.por``) is by sleep sets with state caching
(Godefroid, *Partial-Order Methods for the Verification of Concurrent Systems*, LNCS
1032, 1996, ch. 5): after a state's action ``t`` has been explored, every later sibling
branch carries ``t`` asleep for as long as it takes actions independent of ``t`` (other
actors, footprints without a conflict), so the same interleaving is not walked twice.
A state reached again with fewer actions asleep than it was explored with has exactly
those re-explored. Sleep sets prune transitions, never states: every reachable state is
still visited and judged, so every state property, terminal outcome and deadlock is
checked just as without the reduction (docs/performance.md). Breadth-first search then
no longer promises a shortest counterexample. The reduction needs actions, so the
compact path does not use it; it has persistent sets instead, where the packing names
them (``model.Persistent``), which skip states but keep every terminal state and every
violation of a state property. On a graded packing (``model.Graded``) breadth-first
search keeps one level of keys at a time, not every key (docs/performance.md).

Cyclic garbage collection is switched off during a search: states are acyclic values,
and a collector pass over millions of live tuples costs more than the search itself.
"""

from __future__ import annotations

import gc
import hashlib
import math
import time
from array import array
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

import attrs

from shardcheck import model
from shardcheck.checker.design import (
    ALL,
    Judge,
    Selection,
    Step,
    Violation,
    call_design,
    changes,
    design_bug,
    fingerprint_of,
    refuse_unencodable_key,
    stepped,
)
from shardcheck.checker.errors import USER_CODE_FAILURES, BadInput, DesignBug, Inconclusive
from shardcheck.checker.search.declared import ID_BITS, Declared, structure_misfit
from shardcheck.checker.search.packed import take_packing

Strategy = Literal["bfs", "dfs"]
Verdict = Literal["pass", "violation", "inconclusive"]

KEY_BITS = 64
"""Bits of a visited-set key on the ordinary path."""


def _positive_or_none(name: str) -> Callable[[Any, Any, Any], None]:
    def check(_instance: Any, _attribute: Any, value: Any) -> None:
        if value is not None and not (math.isfinite(value) and value > 0):
            raise BadInput(f"{name} must be a positive, finite number, got {value}")
    return check


@attrs.frozen(kw_only=True)
class SearchSettings:
    """How far and in which order to search; validated on construction."""

    strategy: Strategy = attrs.field(default="bfs")
    max_states: int | None = attrs.field(default=None, validator=_positive_or_none("--max-states"))
    max_depth: int | None = attrs.field(default=None, validator=_positive_or_none("--max-depth"))
    time_limit: float | None = attrs.field(default=None,
                                           validator=_positive_or_none("--time-limit"))
    step_bound: int = attrs.field(default=10_000)
    symmetry: bool = attrs.field(default=True)
    criteria: tuple[str, ...] | None = attrs.field(default=None)
    """Terminal criteria chosen on the command line; None: the design's own."""
    por: bool = attrs.field(default=True)
    """Partial-order reduction by sleep sets (ordinary path only)."""
    compact: bool = attrs.field(default=True)
    """Use a design's compact fast path (``model.Compactable``) when it offers one."""
    persistent: bool = attrs.field(default=True)
    """On the compact path, take one action alone where the packing names a persistent
    set (``model.Persistent``); this skips states, unlike sleep sets."""
    selection: Selection = attrs.field(default=ALL)
    """Which properties are checked (``--property``, ``--skip``): all by default."""
    verify_structure: bool = attrs.field(default=False)
    """On the declared path (``model.Structure``), run every memoized step again on every
    reuse and compare, not only on the first (the audit does)."""
    fingerprint_keys: bool = attrs.field(default=False)
    """On the ordinary path, key the visited set by 64 bits of BLAKE2b over each state's
    canonical encoding (the reference the audit compares with) instead of by the states
    themselves."""

    def judge(self, design: model.Design, config: model.Config) -> Judge:
        """The judge a search with these settings uses for ``design`` on ``config``."""
        return Judge(design, config, self.step_bound, self.criteria, self.selection)

    @strategy.validator
    def _check_strategy(self, _attribute: Any, value: str) -> None:
        if value not in ("bfs", "dfs"):
            raise BadInput(f"strategy must be bfs or dfs, got {value!r}")

    def describe(self) -> str:
        """One line for report headers."""
        bounds = [f"{self.strategy.upper()}"]
        bounds.append(f"max states {self.max_states:,}" if self.max_states else "no state bound")
        if self.max_depth:
            bounds.append(f"max depth {self.max_depth}")
        if self.time_limit:
            bounds.append(f"time limit {self.time_limit:g}s")
        bounds.append(f"step bound {self.step_bound}")
        if not self.symmetry:
            bounds.append("no symmetry reduction")
        if not self.por:
            bounds.append("no partial-order reduction")
        if self.fingerprint_keys:
            bounds.append("fingerprint keys")
        if not self.compact:
            bounds.append("no compact path")
        elif not self.persistent:
            bounds.append("no persistent sets")
        if self.selection.chosen():
            bounds.append(self.selection.describe())
        return ", ".join(bounds)


@attrs.frozen
class Stats:
    """What a search did."""

    states: int
    transitions: int
    max_depth: int
    terminal_states: int
    distinct_outcomes: int
    seconds: float
    complete: bool
    collision_probability: float = 0.0
    """Probability that two distinct states shared a visited-set key (TLC's optimistic
    estimate: states * (generated - states) / 2^64); 0 on the compact path, whose keys
    are the states themselves."""
    engine: str = "ordinary"
    """Which path ran: ``ordinary``, ``ordinary+sleep-sets``, ``compact`` or
    ``compact+persistent-sets``."""

    @property
    def states_per_second(self) -> float:
        """Distinct states found per second of search."""
        return self.states / self.seconds if self.seconds > 0 else float(self.states)


@attrs.frozen
class SearchResult:
    """The verdict of a search, its statistics, and the path to a violation if any."""

    verdict: Verdict
    stats: Stats
    initial_fingerprint: str
    violation: Violation | None = None
    path: tuple[Step, ...] = ()
    reason: str = ""
    outcomes: frozenset[str] = frozenset()
    """Fingerprints of the distinct terminal outcomes found (what an audit compares)."""


Progress = Callable[[Stats], None]


def collision_probability(states: int, generated: int, bits: int = KEY_BITS) -> float:
    """TLC's optimistic estimate that two of ``states`` distinct states shared a key.

    ``generated`` counts every state produced (the initial one and one per transition);
    each of the ``generated - states`` revisits could have matched a wrong one of the
    ``states`` keys with probability ``states / 2^bits``.
    """
    return min(1.0, states * max(0, generated - states) / float(1 << bits))


@contextmanager
def _collector_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _key_of(value: object) -> int:
    """The ordinary path's visited-set key: 64 bits of BLAKE2b over the canonical encoding."""
    return int.from_bytes(
        hashlib.blake2b(model.canonical_bytes(value), digest_size=8).digest(), "little")


class _Search:
    """The mutable bookkeeping of one search run."""

    def __init__(self, design: model.Design, config: model.Config,
                 settings: SearchSettings, progress: Progress | None) -> None:
        self.design = design
        self.settings = settings
        self.judge = settings.judge(design, config)
        self.progress = progress
        self.seen: set[Any] = set()
        # Per state number: its parent's number and the index of the action (among the
        # parent's enabled actions) that reached it.
        self.parents = array("I")
        self.choices = array("I")
        self.initial: Any = None
        self.transitions = 0
        self.max_depth = 0
        self.terminal_states = 0
        self.outcomes: set[bytes] = set()
        self.started = time.monotonic()
        self.next_report = self.started + 0.25
        self.renamed = 0  # numbers given to a renaming of a state already found
        self.truncated = False
        self.engine = "ordinary"
        self.exact_keys = not settings.fingerprint_keys
        self.canonical: Callable[[Any], Any] | None = None
        if settings.symmetry and isinstance(design, model.Symmetric):
            self.canonical = design.canonical
        self.who = f"design {design.name!r}"

    def key(self, state: Any) -> Any:
        """The visited-set key: the state's symmetry representative itself, or its 64-bit
        fingerprint under ``fingerprint_keys``.

        The frontier keeps the state as reached, so a path is a real run from the
        initial state; only the deduplication looks through renamed actors.
        """
        if self.canonical is not None:
            state = self.call("canonical()", self.canonical, state)
        return _key_of(state) if self.settings.fingerprint_keys else state

    def add(self, parent: int, choice: int) -> int:
        """Number a newly found state."""
        self.parents.append(parent)
        self.choices.append(choice)
        return len(self.parents) - 1

    def stats(self, complete: bool) -> Stats:
        states = len(self.parents) - self.renamed
        collision = 0.0 if self.exact_keys else collision_probability(
            states, self.transitions + 1)
        return Stats(states, self.transitions, self.max_depth, self.terminal_states,
                     len(self.outcomes), time.monotonic() - self.started, complete,
                     collision, self.engine)

    def path_to(self, number: int) -> tuple[Step, ...]:
        choices: list[int] = []
        while number != 0:
            choices.append(self.choices[number])
            number = self.parents[number]
        steps: list[Step] = []
        state = self.initial
        for depth, index in enumerate(reversed(choices)):
            action = self.actions(state, depth)[index]
            previous, state = state, self.step(state, action, depth)
            fingerprint = fingerprint_of(self.design, "step", stepped(action, depth), state)
            steps.append(Step(action, fingerprint, changes(previous, state)))
        return tuple(steps)

    # actions() and step() run once per state and per transition: their error message is
    # only written when the design's code fails.
    def actions(self, state: Any, depth: int) -> tuple[model.Action, ...]:
        try:
            return tuple(self.design.actions(state))
        except USER_CODE_FAILURES as exc:
            raise design_bug(self.who, f"actions() at depth {depth}", exc,
                             self.design.actions) from None

    def step(self, state: Any, action: model.Action, depth: int) -> Any:
        try:
            return self.design.step(state, action)
        except USER_CODE_FAILURES as exc:
            raise design_bug(self.who, stepped(action, depth), exc, self.design.step) from None

    def call(self, what: str, function: Callable[..., Any], *args: Any) -> Any:
        """Call the design's code; what goes wrong in it is reported as the design's."""
        return call_design(self.who, what, function, *args)

    def visit(self, state: Any, depth: int) -> tuple[bool, Violation | None]:
        """Judge a newly found state; return whether it is terminal and any violation."""
        terminal = bool(self.call("is_terminal()", self.design.is_terminal, state))
        violation = self.judge.check_state(state, depth, terminal)
        if terminal and violation is None:
            self.terminal_states += 1
            self.outcomes.add(model.digest(self.call("outcome()", self.design.outcome, state)))
        return terminal, violation

    def result(self, verdict: Verdict, start: str, complete: bool,
               violation: Violation | None = None, path: tuple[Step, ...] = (),
               reason: str = "") -> SearchResult:
        outcomes = frozenset(o.hex() for o in self.outcomes)
        return SearchResult(verdict, self.stats(complete), start, violation, path, reason,
                            outcomes)

    def stopped(self, start: str, reason: str) -> SearchResult:
        return self.result("inconclusive", start, False, reason=reason)

    def declared(self, initial: Any) -> Declared | None:
        """The declared path for this run (``model.Structure``), when the design declares
        a structure that fits, no packing is taken and the run may use it."""
        if not self.settings.compact or structure_misfit(self.design, initial) is not None:
            return None
        assert isinstance(self.design, model.Structured)
        if self.canonical is not None and not self.design.structure.interchangeable:
            return None  # symmetry the declaration cannot speak for: the ordinary path
        return Declared(self.design, initial, self.judge.state_properties, _key_of,
                        verify_all=self.settings.verify_structure)

    def packing(self, initial: Any) -> model.Compact | None:
        """The design's compact fast path for this run, when it offers one and may use it."""
        if not self.settings.compact:
            return None
        return take_packing(self.design, initial, self.judge.state_properties)


def explore(design: model.Design, config: model.Config,
            settings: SearchSettings = SearchSettings(),
            progress: Progress | None = None) -> SearchResult:
    """Search every schedule of ``design`` on ``config`` until a violation or a bound."""
    misfit = model.workload_misfit(design, config.workload)
    if misfit is not None:
        raise BadInput(misfit)
    search = _Search(design, config, settings, progress)
    initial = search.call("initial()", design.initial, config)
    search.initial = initial
    # Of the state itself, as traces record it.
    start = fingerprint_of(design, "initial", "initial()", initial)
    with _collector_paused():
        try:
            packing = search.packing(initial)
            if packing is not None:
                return _explore_compact(search, start, packing)
            declared = search.declared(initial)
            if declared is not None:
                return _explore_declared(search, start, declared)
            return _explore_ordinary(search, start)
        finally:
            # Freed while the collector is still off: re-enabled over millions of live
            # states, its first pass would walk them all once more.
            search.seen = set()


def _independent(a: model.Action, b: model.Action) -> bool:
    return a.actor != b.actor and not a.conflicts_with(b)


class _Asleep:
    """What sleep-set reduction remembers of a state: the actions it was explored without.

    ``naming`` is the key of the state as reached (not of its symmetry representative):
    a sleep set names actors, so it only speaks for a state reached under the same names.
    """

    __slots__ = ("asleep", "depth", "expanded", "naming", "number")

    def __init__(self, asleep: frozenset[model.Action], naming: Any, number: int,
                 depth: int) -> None:
        self.asleep = asleep
        self.naming = naming
        self.number = number
        self.depth = depth
        self.expanded = False


_Item = tuple[Any, int, int, Any, "frozenset[model.Action] | None"]


_NONE_ASLEEP: frozenset[model.Action] = frozenset()


def _itself(state: Any) -> Any:
    return state


def _unhashable(search: _Search, state: Any, exc: TypeError, what: str) -> BaseException:
    """The error for a state (``what`` returned it) that cannot be a visited-set key: a
    part with no canonical encoding is named as such, anything else unhashable says so."""
    refuse_unencodable_key(search.design, what, state, search.canonical)
    return DesignBug(f"{search.who}: a state {what} returned is not hashable ({exc}): "
                     "states must be immutable values (frozen attrs classes, tuples, "
                     "frozensets)")


def _encodable(search: _Search, state: Any, what: str) -> None:
    """Encode a state (a sample of them: ``ENCODING_SAMPLE``), as a trace would."""
    try:
        _key_of(state)
    except TypeError:  # costs nothing until raised: no check per state
        refuse_unencodable_key(search.design, what, state, search.canonical)
        raise


ENCODING_SAMPLE = 1024
"""The ordinary path encodes the first this many states found, and one in every this many
after them, to report a value outside the interface (which could never be fingerprinted
in a trace) without encoding every state."""


def _explore_ordinary(search: _Search, start: str) -> SearchResult:
    """The search over the design's own ``actions`` and ``step``.

    The visited set holds the states themselves (their symmetry representatives, where
    symmetry is on), so deduplication is exact and costs a hash of the state: no state is
    encoded or fingerprinted on the way (``fingerprint_keys`` keys it by fingerprints
    instead, as the audit's reference does). A state found is judged at once, the
    properties called directly; a state that is terminal, past the step bound, or where a
    property fails or raises goes through the judge's full check, which words the
    violation or the design's error.
    """
    settings = search.settings
    design = search.design
    initial = search.initial
    por = settings.por
    if por:
        search.engine = "ordinary+sleep-sets"
    fingerprints = settings.fingerprint_keys
    plain = search.canonical is None and not fingerprints
    naming = _key_of if fingerprints else _itself
    try:
        root = search.key(initial)
        search.seen.add(root)
    except TypeError as exc:
        raise _unhashable(search, initial, exc, "initial()") from None
    search.add(0, 0)
    terminal, violation = search.visit(initial, 0)
    if violation is not None:
        return search.result("violation", start, False, violation)
    memory: dict[Any, _Asleep] = {}
    named = search.canonical is not None
    if por:
        memory[root] = _Asleep(frozenset(), naming(initial) if named else root, 0, 0)
    # (state, its number, depth, its key, redo): redo is None for a first expansion, or
    # the actions to re-explore because the state was reached with fewer asleep.
    frontier: deque[_Item] = deque()
    if not terminal:
        frontier.append((initial, 0, 0, root, None))
    take = frontier.popleft if settings.strategy == "bfs" else frontier.pop
    push = frontier.append
    deadline = None if settings.time_limit is None else search.started + settings.time_limit
    next_report = search.started + 0.25
    expanded = 0
    seen = search.seen
    seen_add = seen.add
    parents = search.parents
    parents_append, choices_append = parents.append, search.choices.append
    actions_of, step_of, is_terminal = design.actions, design.step, design.is_terminal
    checks = tuple(p.check for p in search.judge.state_properties)
    step_bound, max_depth = settings.step_bound, settings.max_depth
    max_states = settings.max_states
    while frontier:
        expanded += 1
        if expanded % 256 == 0:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return search.stopped(start, f"time limit of {settings.time_limit:g}s reached")
            if search.progress is not None and now >= next_report:
                search.progress(search.stats(False))
                next_report = now + 0.25
        state, number, depth, key, redo = take()
        try:
            actions = tuple(actions_of(state))
        except USER_CODE_FAILURES as exc:
            raise design_bug(search.who, f"actions() at depth {depth}", exc,
                             design.actions) from None
        if not actions:
            violation = search.judge.check_deadlock(depth)
            return search.result("violation", start, False, violation, search.path_to(number))
        if max_depth is not None and depth >= max_depth:
            search.truncated = True
            continue
        asleep: frozenset[model.Action] = frozenset()
        if por:
            entry = memory[key]
            asleep = entry.asleep
            if redo is None:
                entry.expanded = True
        done: list[model.Action] = []
        below = depth + 1
        # Without sleep sets every action is taken: the transitions are counted at once
        # (and recounted up to the action taken if the search ends inside this state).
        every = not por and redo is None
        before = search.transitions
        if every:
            search.transitions = before + len(actions)
        for index, action in enumerate(actions):
            if redo is not None:
                if action not in redo:
                    continue
            elif asleep and action in asleep:  # (an action's hash is not free)
                continue
            try:
                nxt = step_of(state, action)
            except USER_CODE_FAILURES as exc:
                raise design_bug(search.who, stepped(action, depth), exc, design.step) from None
            if not every:
                search.transitions += 1
            if plain:
                nkey = nxt
            else:
                try:
                    nkey = search.key(nxt)
                except TypeError:  # costs nothing until raised: no check per state
                    refuse_unencodable_key(search.design, stepped(action, depth), nxt,
                                           search.canonical)
                    raise
            child_asleep = _NONE_ASLEEP
            if por:
                child_asleep = frozenset(u for u in (*asleep, *done)
                                         if _independent(u, action))
                done.append(action)
            # One hash a transition: adding a known state leaves the set as it was.
            size = len(seen)
            try:
                seen_add(nkey)
            except TypeError as exc:
                raise _unhashable(search, nxt, exc, stepped(action, depth)) from None
            if len(seen) == size:
                if por:
                    _revisit(search, memory, frontier, nxt, nkey, child_asleep, named,
                             naming, (number, index, below))
                continue
            child = len(parents)
            parents_append(number)
            choices_append(index)
            if child < ENCODING_SAMPLE or child % ENCODING_SAMPLE == 0:
                _encodable(search, nxt, stepped(action, depth))
            if below > search.max_depth:
                search.max_depth = below
            # The judge, inlined for the common case: not terminal, every property holds.
            try:
                clean = not is_terminal(nxt) and below <= step_bound
                if clean:
                    for check in checks:
                        if check(nxt) is not None:
                            clean = False
                            break
            except USER_CODE_FAILURES:
                clean = False
            if clean:
                terminal = False
            else:
                terminal, violation = search.visit(nxt, below)
                if violation is not None:
                    if every:
                        search.transitions = before + index + 1
                    return search.result("violation", start, False, violation,
                                         search.path_to(child))
            if max_states is not None and len(parents) - search.renamed >= max_states:
                if every:
                    search.transitions = before + index + 1
                return search.stopped(start, f"state bound of {max_states:,} reached")
            if not terminal:
                if por:
                    memory[nkey] = _Asleep(child_asleep, naming(nxt) if named else nkey,
                                           child, below)
                push((nxt, child, below, nkey, None))
    if search.truncated:
        return search.stopped(start, f"depth bound of {settings.max_depth} cut off some runs")
    return search.result("pass", start, True)


def _revisit(search: _Search, memory: dict[Any, _Asleep], frontier: deque[_Item],
             state: Any, key: Any, asleep: frozenset[model.Action], named: bool,
             naming: Callable[[Any], Any], reached: tuple[int, int, int]) -> None:
    """A known state reached again: re-explore what it was explored without and now is not.

    ``reached`` is how: the parent's number, the action's index, the depth. ``naming``
    gives the state as reached its identity for a sleep set (itself, or its fingerprint).
    """
    entry = memory.get(key)
    if entry is None:  # a terminal state: nothing to explore from it
        return
    if entry.naming is None or not entry.asleep:
        return  # explored with nothing asleep, under every naming
    if (naming(state) if named else key) != entry.naming:
        # Reached under other actor names: its sleep set does not speak for this state,
        # so the state is explored in full, once, and never again.
        entry.asleep, entry.naming = frozenset(), None
        if not entry.expanded:
            return
        # The state explored now is this renaming, not the one numbered before: it gets
        # a number of its own, so that a path through it is rebuilt through it.
        parent, index, depth = reached
        number = search.add(parent, index)
        search.renamed += 1
        frontier.append((state, number, depth, key, frozenset(search.actions(state, depth))))
        return
    else:
        if entry.asleep <= asleep:
            return
        wake = entry.asleep - asleep
        entry.asleep = entry.asleep & asleep
        if not entry.expanded:
            return
    if wake:
        frontier.append((state, entry.number, entry.depth, key, wake))


def _explore_declared(search: _Search, start: str, declared: Declared) -> SearchResult:
    """The declared path: the ordinary search's order and judging, over ints.

    States are codes of interned parts (``checker/search/declared.py``), successors come
    from the memoized steps, and a state found is judged from the memoized verdicts; one
    that may be terminal or break a property is built and judged the ordinary way. The
    bookkeeping is the ordinary path's, step for step, so the counts, the verdict and the
    counterexample are the same.
    """
    search.engine = "declared"
    search.exact_keys = True
    try:
        return _declared_search(search, start, declared)
    except _Found as end:
        return end.result
    except TypeError as exc:  # interning a part of a state hashes it
        raise DesignBug(f"design {search.design.name!r}: a part of a state is not hashable "
                        f"({exc}): states must be immutable values (frozen attrs classes, "
                        "tuples, frozensets)") from None


def _declared_search(search: _Search, start: str, declared: Declared) -> SearchResult:
    settings = search.settings
    code0 = declared.pack(search.initial)
    canonical = declared.canonical if search.canonical is not None else None
    seen = search.seen
    seen.add(code0 if canonical is None else canonical(code0))
    search.add(0, 0)
    terminal, violation = search.visit(search.initial, 0)
    if violation is not None:
        return search.result("violation", start, False, violation)
    if terminal:
        return search.result("pass", start, True)
    if settings.strategy == "bfs":
        return _declared_levels(search, start, declared, code0)
    # Depth-first: a stack of (code, number, depth), the ordinary path's order.
    frontier: list[tuple[int, int, int]] = [(code0, 0, 0)]
    take, push = frontier.pop, frontier.append
    deadline = None if settings.time_limit is None else search.started + settings.time_limit
    next_report = search.started + 0.25
    expanded = 0
    seen_add = seen.add
    parents = search.parents
    parents_append, choices_append = parents.append, search.choices.append
    successors, notable, unpack = declared.successors, declared.notable, declared.unpack
    fronts_get, front = declared.fronts.get, declared.front
    shared_shift, id_bits, mask = declared.shared_shift, ID_BITS, declared.mask
    step_bound, max_depth = settings.step_bound, settings.max_depth
    max_states = settings.max_states
    deepest = 0
    while frontier:
        expanded += 1
        if expanded % 1024 == 0:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return search.stopped(start, f"time limit of {settings.time_limit:g}s reached")
            if search.progress is not None and now >= next_report:
                search.progress(search.stats(False))
                next_report = now + 0.25
        code, number, depth = take()
        nexts = successors(code)
        if not nexts:
            violation = search.judge.check_deadlock(depth)
            return search.result("violation", start, False, violation, search.path_to(number))
        if max_depth is not None and depth >= max_depth:
            search.truncated = True
            continue
        below = depth + 1
        before = search.transitions
        search.transitions = before + len(nexts)
        judge_all = below > step_bound
        for index, nxt in enumerate(nexts):
            key = nxt if canonical is None else canonical(nxt)
            if key in seen:
                continue
            seen_add(key)
            child = len(parents)
            parents_append(number)
            choices_append(index)
            if below > deepest:
                deepest = search.max_depth = below
            terminal = False
            # Judged from the memoized verdicts: most states by one lookup on their
            # shared memory and first actor.
            verdict = fronts_get((nxt >> shared_shift) << id_bits | nxt & mask)
            if verdict is None:
                verdict = front(nxt)
            if verdict.__class__ is tuple:
                verdict = notable(nxt, verdict)
            if judge_all or verdict:
                terminal, violation = search.visit(unpack(nxt), below)
                if violation is not None:
                    search.transitions = before + index + 1
                    return search.result("violation", start, False, violation,
                                         search.path_to(child))
            if max_states is not None and len(parents) >= max_states:
                search.transitions = before + index + 1
                return search.stopped(start, f"state bound of {max_states:,} reached")
            if not terminal:
                push((nxt, child, below))
    if search.truncated:
        return search.stopped(start, f"depth bound of {settings.max_depth} cut off some runs")
    return search.result("pass", start, True)


def _declared_levels(search: _Search, start: str, declared: Declared,
                     code0: int) -> SearchResult:
    """Breadth-first search on the declared path, a level at a time.

    A level is a flat list of codes whose numbers run on from its first one (a terminal
    state keeps its place as -1, judged but not expanded), so a state costs its int and
    nothing more in the frontier, and each actor's memoized moves are added to the code
    right here (``Declared.successors``, inlined). The order and the bookkeeping are
    ``_declared_search``'s.
    """
    settings = search.settings
    canonical = declared.canonical if search.canonical is not None else None
    seen = search.seen
    seen_add = seen.add
    parents = search.parents
    parents_append, choices_append = parents.append, search.choices.append
    successors, notable, unpack = declared.successors, declared.notable, declared.unpack
    fronts_get, front = declared.fronts.get, declared.front
    deltas_get, deltas_of = declared.deltas.get, declared.moves
    shared_shift, id_bits, mask = declared.shared_shift, ID_BITS, declared.mask
    position_bits, slots = declared.position_bits, tuple(enumerate(declared.slots))
    step_bound, max_depth = settings.step_bound, settings.max_depth
    max_states = settings.max_states
    deadline = None if settings.time_limit is None else search.started + settings.time_limit
    codes, base, depth, deepest = [code0], 0, 0, 0
    while codes:
        below = depth + 1
        cut = max_depth is not None and depth >= max_depth
        judge_all = below > step_bound
        next_codes: list[int] = []
        push = next_codes.append
        next_base = len(parents)
        for position, code in enumerate(codes):
            if code < 0:
                continue  # terminal
            if position & 1023 == 1023:
                _tick(search, start, deadline)
            if cut:
                if not successors(code):
                    return search.result("violation", start, False,
                                         search.judge.check_deadlock(depth),
                                         search.path_to(base + position))
                search.truncated = True
                continue
            number = base + position
            before = search.transitions
            index = -1
            shared = (code >> shared_shift) << id_bits
            for actor, shift in slots:
                key = (shared | (code >> shift) & mask) << position_bits | actor
                moves = deltas_get(key)
                if moves is None:
                    moves = deltas_of(code, actor, key)
                for delta in moves:
                    index += 1
                    nxt = code + delta
                    found = nxt if canonical is None else canonical(nxt)
                    if found in seen:
                        continue
                    seen_add(found)
                    child = len(parents)
                    parents_append(number)
                    choices_append(index)
                    if below > deepest:
                        deepest = search.max_depth = below
                    terminal = False
                    verdict = fronts_get((nxt >> shared_shift) << id_bits | nxt & mask)
                    if verdict is None:
                        verdict = front(nxt)
                    if verdict.__class__ is tuple:
                        verdict = notable(nxt, verdict)
                    if judge_all or verdict:
                        terminal, violation = search.visit(unpack(nxt), below)
                        if violation is not None:
                            search.transitions = before + index + 1
                            return search.result("violation", start, False, violation,
                                                 search.path_to(child))
                    if max_states is not None and len(parents) >= max_states:
                        search.transitions = before + index + 1
                        return search.stopped(start,
                                              f"state bound of {max_states:,} reached")
                    push(-1 if terminal else nxt)
            if index < 0:
                return search.result("violation", start, False,
                                     search.judge.check_deadlock(depth),
                                     search.path_to(number))
            search.transitions = before + index + 1
        codes, base, depth = next_codes, next_base, below
    if search.truncated:
        return search.stopped(start, f"depth bound of {settings.max_depth} cut off some runs")
    return search.result("pass", start, True)


def _explore_compact(search: _Search, start: str, packing: model.Compact) -> SearchResult:
    """The fast path: ints in the frontier and the visited set, judged only when notable.

    Breadth-first search keeps the frontier as two flat lists per level (codes and their
    numbers), depth-first search as a stack of tuples: the level form allocates nothing
    per state beyond the int itself.
    """
    search.engine = "compact"
    search.exact_keys = True
    if _persistent(search, packing) is not None:
        search.engine = "compact+persistent-sets"
    code0 = search.call("compact().pack()", packing.pack, search.initial)
    try:
        if search.settings.strategy == "bfs":
            return _compact_levels(search, start, packing, code0)
        return _compact_stack(search, start, packing, code0)
    except (DesignBug, Inconclusive, BadInput):
        raise
    except Exception as exc:  # the packing is the design's code
        raise design_bug(search.who, "its compact path", exc, packing.successors) from None


def _persistent(search: _Search, packing: model.Compact) -> Callable[[int], int] | None:
    """The packing's persistent-set choice, when it offers one and the run may use it."""
    if search.settings.persistent and isinstance(packing, model.Persistent):
        return packing.persistent
    return None


class _Found(Exception):
    """A compact search ends early: with this result."""

    def __init__(self, result: SearchResult) -> None:
        super().__init__(result.verdict)
        self.result = result


def _notable(search: _Search, start: str, packing: model.Compact, code: int, number: int,
             depth: int) -> list[int] | None:
    """Judge a state the packing flagged, the ordinary way; its successors, or None."""
    state = search.call("compact().unpack()", packing.unpack, code)
    terminal, violation = search.visit(state, depth)
    if violation is not None:
        raise _Found(search.result("violation", start, False, violation,
                                   search.path_to(number)))
    if terminal:
        return None
    return [search.call("compact().pack()", packing.pack, search.step(state, action, depth))
            for action in search.actions(state, depth)]


def _compact_levels(search: _Search, start: str, packing: model.Compact,
                    code0: int) -> SearchResult:
    settings = search.settings
    canonical = packing.canonical if search.canonical is not None else None
    seen = search.seen
    seen.add(canonical(code0) if canonical is not None else code0)
    # Action indexes fit a byte until a state has more than 255 actions (then 4 bytes).
    search.choices = array("B")
    search.add(0, 0)
    successors = packing.successors
    persistent = _persistent(search, packing)
    parents_append, choices_append = search.parents.append, search.choices.append
    seen_add = seen.add
    max_states = settings.max_states if settings.max_states is not None else -1
    deadline = None if settings.time_limit is None else search.started + settings.time_limit
    grade = packing.grade if isinstance(packing, model.Graded) else None
    # A level's states are numbered one after another: its first number is all it keeps.
    codes, base = [code0], 0
    found = 1
    transitions = 0
    depth = 0
    try:
        while codes:
            judge_all = depth > settings.step_bound
            # At the depth bound a level is still judged, only not expanded.
            cut = settings.max_depth is not None and depth >= settings.max_depth
            if grade is not None:
                # Graded: no state of a later level is in this one or an earlier one, so
                # the keys of this level are dropped before the next one is built.
                seen = search.seen = set()
                seen_add = seen.add
            next_codes: list[int] = []
            push_code = next_codes.append
            next_base = found
            # Taken from the end of the reversed level, so that each state's int is freed
            # once it is expanded: the level does not stay whole beside the next one.
            codes.reverse()
            take = codes.pop
            for position in range(len(codes)):
                code = take()
                number = base + position
                if position & 1023 == 0:
                    if position:
                        search.transitions = transitions
                        _tick(search, start, deadline)
                    if grade is not None:
                        _check_grade(search, grade, code, depth)
                nexts = None if judge_all or number == 0 else successors(code)
                # A notable state is expanded the ordinary way, in full.
                whole = nexts is None
                if whole:
                    if grade is not None:
                        _check_grade(search, grade, code, depth)
                    search.transitions = transitions
                    nexts = _notable(search, start, packing, code, number, depth)
                    if nexts is None:
                        continue
                if not nexts:
                    search.transitions = transitions
                    raise _Found(search.result("violation", start, False,
                                               search.judge.check_deadlock(depth),
                                               search.path_to(number)))
                if cut:
                    search.truncated = True
                    continue
                if len(nexts) > 255 and search.choices.typecode == "B":
                    search.choices = array("I", search.choices)
                    choices_append = search.choices.append
                if persistent is not None and not whole:
                    one = persistent(code)
                    if one >= 0:  # one action alone: the common case, without lists
                        transitions += 1
                        nxt = nexts[one]
                        key = nxt if canonical is None else canonical(nxt)
                        if key not in seen:
                            seen_add(key)
                            parents_append(number)
                            choices_append(one)
                            push_code(nxt)
                            found += 1
                            if found == max_states:
                                search.transitions = transitions
                                search.max_depth = depth + 1
                                raise _Found(_bound(search, start))
                        continue
                transitions += len(nexts)
                keys = nexts if canonical is None else [canonical(c) for c in nexts]
                for key in keys:
                    if key in seen:
                        continue
                    seen_add(key)
                    index = keys.index(key)
                    parents_append(number)
                    choices_append(index)
                    push_code(nexts[index])
                    found += 1
                    if found == max_states:
                        search.transitions = transitions
                        search.max_depth = depth + 1
                        raise _Found(_bound(search, start))
            if cut:
                break
            codes, base = next_codes, next_base
            if codes:
                depth += 1
                search.max_depth = depth
    except _Found as end:
        return end.result
    search.transitions = transitions
    if search.truncated:
        return search.stopped(start, f"depth bound of {settings.max_depth} cut off some runs")
    return search.result("pass", start, True)


def _check_grade(search: _Search, grade: Callable[[int], int], code: int, depth: int) -> None:
    """A graded packing's promise, checked where it is cheap to: the grade is the depth."""
    claimed = grade(code)
    if claimed != depth:
        raise DesignBug(f"design {search.design.name!r}: its packing is model.Graded, but "
                        f"grade() is {claimed} for a state breadth-first search reached at "
                        f"depth {depth}")


def _bound(search: _Search, start: str) -> SearchResult:
    """The result of a compact search stopped by its state bound."""
    return search.stopped(start, f"state bound of {search.settings.max_states:,} reached")


def _tick(search: _Search, start: str, deadline: float | None) -> None:
    """Every so often: the time limit and the progress display."""
    now = time.monotonic()
    if deadline is not None and now >= deadline:
        raise _Found(search.stopped(
            start, f"time limit of {search.settings.time_limit:g}s reached"))
    if search.progress is not None and now >= search.next_report:
        search.progress(search.stats(False))
        search.next_report = now + 0.25


def _compact_stack(search: _Search, start: str, packing: model.Compact,
                   code0: int) -> SearchResult:
    settings = search.settings
    canonical = packing.canonical if search.canonical is not None else None
    seen = search.seen
    seen.add(canonical(code0) if canonical is not None else code0)
    search.add(0, 0)
    successors = packing.successors
    persistent = _persistent(search, packing)
    parents_append, choices_append = search.parents.append, search.choices.append
    seen_add = seen.add
    max_states = settings.max_states if settings.max_states is not None else -1
    deadline = None if settings.time_limit is None else search.started + settings.time_limit
    stack: list[tuple[int, int, int]] = [(code0, 0, 0)]
    push, take = stack.append, stack.pop
    found = 1
    transitions = 0
    expanded = 0
    try:
        while stack:
            code, number, depth = take()
            nexts = None if depth > settings.step_bound or number == 0 else successors(code)
            # A notable state is expanded the ordinary way, in full.
            whole = nexts is None
            if whole:
                search.transitions = transitions
                nexts = _notable(search, start, packing, code, number, depth)
                if nexts is None:
                    continue
            if not nexts:
                search.transitions = transitions
                raise _Found(search.result("violation", start, False,
                                           search.judge.check_deadlock(depth),
                                           search.path_to(number)))
            if settings.max_depth is not None and depth >= settings.max_depth:
                search.truncated = True  # judged above, but not expanded
                continue
            offset = 0
            if persistent is not None and not whole:
                offset = persistent(code)
                if offset >= 0:
                    nexts = [nexts[offset]]
                else:
                    offset = 0
            transitions += len(nexts)
            depth += 1
            keys = nexts if canonical is None else [canonical(c) for c in nexts]
            before = found
            for key in keys:
                if key in seen:
                    continue
                seen_add(key)
                index = keys.index(key)
                parents_append(number)
                choices_append(index + offset)
                push((nexts[index], found, depth))
                found += 1
                if found == max_states:
                    search.transitions = transitions
                    raise _Found(search.stopped(
                        start, f"state bound of {settings.max_states:,} reached"))
            if found > before and depth > search.max_depth:
                search.max_depth = depth
            expanded += 1
            if expanded & 1023 == 0:
                search.transitions = transitions
                _tick(search, start, deadline)
    except _Found as end:
        return end.result
    search.transitions = transitions
    if search.truncated:
        return search.stopped(start, f"depth bound of {settings.max_depth} cut off some runs")
    return search.result("pass", start, True)
