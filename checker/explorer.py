"""Exhaustive exploration: one explorer, breadth-first or depth-first by frontier policy.

States are deduplicated by their 128-bit fingerprints; each fingerprint keeps a pointer
to its parent and the action that reached it, so a violation's path is rebuilt without
storing paths. Breadth-first search reaches every state first by a shortest path, so
its counterexamples are the shortest there are.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any, Literal

import attrs

import model
from checker.diff import changes
from checker.errors import BadInput
from checker.guard import call_design
from checker.properties import Judge, Violation

Strategy = Literal["bfs", "dfs"]
Verdict = Literal["pass", "violation", "inconclusive"]


def _positive_or_none(name: str) -> Callable[[Any, Any, Any], None]:
    def check(_instance: Any, _attribute: Any, value: Any) -> None:
        if value is not None and value <= 0:
            raise BadInput(f"{name} must be positive, got {value}")
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

    @property
    def states_per_second(self) -> float:
        """Distinct states found per second of search."""
        return self.states / self.seconds if self.seconds > 0 else float(self.states)


@attrs.frozen
class Step:
    """One action of a path and the fingerprint of the state it leads to.

    ``changes`` describes what the action changed, for people; it is not part of the
    record (traces do not store it, and it plays no part in equality).
    """

    action: model.Action
    fingerprint: str
    changes: tuple[str, ...] = attrs.field(default=(), eq=False)


@attrs.frozen
class SearchResult:
    """The verdict of a search, its statistics, and the path to a violation if any."""

    verdict: Verdict
    stats: Stats
    initial_fingerprint: str
    violation: Violation | None = None
    path: tuple[Step, ...] = ()
    reason: str = ""


Progress = Callable[[Stats], None]


class _Search:
    """The mutable bookkeeping of one search run."""

    def __init__(self, design: model.Design, config: model.Config,
                 settings: SearchSettings, progress: Progress | None) -> None:
        self.design = design
        self.settings = settings
        self.judge = Judge(design, config, settings.step_bound, settings.criteria)
        self.progress = progress
        # fingerprint -> (parent's fingerprint, index of the action among the parent's
        # enabled actions): paths are rebuilt by regenerating actions, as TLC does, so no
        # action object is kept per state.
        self.parents: dict[bytes, tuple[bytes, int] | None] = {}
        self.initial: Any = None
        self.transitions = 0
        self.max_depth = 0
        self.terminal_states = 0
        self.outcomes: set[bytes] = set()
        self.started = time.monotonic()
        self.truncated = False
        self.canonical: Callable[[Any], Any] | None = None
        if settings.symmetry and isinstance(design, model.Symmetric):
            self.canonical = design.canonical

    def key(self, state: Any) -> bytes:
        """The visited-set key: the fingerprint of the state's symmetry representative.

        The frontier keeps the state as reached, so a path is a real run from the
        initial state; only the deduplication looks through renamed actors.
        """
        if self.canonical is None:
            return model.digest(state)
        return model.digest(self.call("canonical()", self.canonical, state))

    def stats(self, complete: bool) -> Stats:
        return Stats(len(self.parents), self.transitions, self.max_depth, self.terminal_states,
                     len(self.outcomes), time.monotonic() - self.started, complete)

    def path_to(self, fp: bytes) -> tuple[Step, ...]:
        choices: list[int] = []
        link = self.parents[fp]
        while link is not None:
            fp, index = link
            choices.append(index)
            link = self.parents[fp]
        steps: list[Step] = []
        state = self.initial
        for depth, index in enumerate(reversed(choices)):
            action = self.actions(state, depth)[index]
            previous, state = state, self.step(state, action, depth)
            steps.append(Step(action, model.fingerprint(state), changes(previous, state)))
        return tuple(steps)

    def actions(self, state: Any, depth: int) -> tuple[model.Action, ...]:
        return tuple(self.call(f"actions() at depth {depth}", self.design.actions, state))

    def step(self, state: Any, action: model.Action, depth: int) -> Any:
        return self.call(f"step() on {action.actor} {action.label()} at depth {depth}",
                         self.design.step, state, action)

    def call(self, what: str, function: Callable[..., Any], *args: Any) -> Any:
        """Call the design's code; what goes wrong in it is reported as the design's."""
        return call_design(f"design {self.design.name!r}", what, function, *args)

    def visit(self, state: Any, depth: int) -> tuple[bool, Violation | None]:
        """Judge a newly found state; return whether it is terminal and any violation."""
        terminal = bool(self.call("is_terminal()", self.design.is_terminal, state))
        violation = self.judge.check_state(state, depth, terminal)
        if terminal and violation is None:
            self.terminal_states += 1
            self.outcomes.add(model.digest(self.call("outcome()", self.design.outcome, state)))
        return terminal, violation


def explore(design: model.Design, config: model.Config,
            settings: SearchSettings = SearchSettings(),
            progress: Progress | None = None) -> SearchResult:
    """Search every schedule of ``design`` on ``config`` until a violation or a bound."""
    search = _Search(design, config, settings, progress)
    initial = search.call("initial()", design.initial, config)
    search.initial = initial
    root = search.key(initial)
    start = model.fingerprint(initial)  # of the state itself, as traces record it
    search.parents[root] = None
    terminal, violation = search.visit(initial, 0)
    if violation is not None:
        return SearchResult("violation", search.stats(False), start, violation)
    frontier: deque[tuple[Any, bytes, int]] = deque()
    if not terminal:
        frontier.append((initial, root, 0))
    take = frontier.popleft if settings.strategy == "bfs" else frontier.pop
    deadline = None if settings.time_limit is None else search.started + settings.time_limit
    next_report = search.started + 0.25
    expanded = 0
    while frontier:
        expanded += 1
        if expanded % 256 == 0:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return _stopped(search, start, f"time limit of {settings.time_limit:g}s reached")
            if progress is not None and now >= next_report:
                progress(search.stats(False))
                next_report = now + 0.25
        state, fp, depth = take()
        actions = search.actions(state, depth)
        if not actions:
            violation = search.judge.check_deadlock(depth)
            return SearchResult("violation", search.stats(False), start, violation,
                                search.path_to(fp))
        if settings.max_depth is not None and depth >= settings.max_depth:
            search.truncated = True
            continue
        for index, action in enumerate(actions):
            nxt = search.step(state, action, depth)
            search.transitions += 1
            nfp = search.key(nxt)
            if nfp in search.parents:
                continue
            search.parents[nfp] = (fp, index)
            if depth + 1 > search.max_depth:
                search.max_depth = depth + 1
            terminal, violation = search.visit(nxt, depth + 1)
            if violation is not None:
                return SearchResult("violation", search.stats(False), start, violation,
                                    search.path_to(nfp))
            if settings.max_states is not None and len(search.parents) >= settings.max_states:
                return _stopped(search, start, f"state bound of {settings.max_states:,} reached")
            if not terminal:
                frontier.append((nxt, nfp, depth + 1))
    if search.truncated:
        return _stopped(search, start, f"depth bound of {settings.max_depth} cut off some runs")
    return SearchResult("pass", search.stats(True), start)


def _stopped(search: _Search, start: str, reason: str) -> SearchResult:
    return SearchResult("inconclusive", search.stats(False), start, reason=reason)
