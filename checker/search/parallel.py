"""Parallel breadth-first exploration: the frontier partitioned by fingerprint.

The search runs level by level. Each of N partitions owns the states whose visited-set
key (the serial explorer's 64-bit fingerprint) is its index modulo N: it keeps their part
of the visited set with a parent pointer per state. One level takes three rounds:

1. **expand** — every partition runs ``actions()`` and ``step()`` on the frontier states
   it holds and sends each successor's key to the key's owner, with its parent's key and
   its *discovery key*: (the position of its parent in the level, the index of the
   action). The successor itself stays where it was generated: only integers travel.
2. **dedup** — every owner drops the keys it has visited and, per new key, keeps the
   sender with the smallest discovery key.
3. **judge** — every partition judges the new states it generated and won (terminal?
   violated properties? outcome) and reports, per new state, only its discovery key,
   whether it is terminal, its outcome's digest and any violation.

The coordinator then merges the reports in discovery-key order, which is exactly the
order in which the serial breadth-first search (``explorer``) meets the same
states, and replays the serial bookkeeping over it: state and transition counts, the
first violation, deadlock, a state bound reached in the middle of a level. So the result
is the serial one: the same verdict, the same counts, the same counterexample. Positions
in the next level are the ranks of the non-terminal new states in that order. When one
partition holds clearly more of the next level than its share (a search starts with one
state in one place), some of its states move, pickled, to the others.

A design with a portable compact path (``model.portable_packing``: packed ints that mean
the same state in every process) is searched on it, as the serial
``_compact_levels`` searches it, by :class:`CompactPartition`: there a candidate travels
with its packed state to its key's owner, and the winner stays there, so there is no
judge round and no evening out; the coordinator counts each level as the serial compact
search does (docs/parallel.md).

Partitions are hosted either by local processes (fresh interpreters, as multiprocessing's
spawn starts them; never fork, whose copied locks and threads can hang a child) or, through
``cluster``, by Dask actors on a cluster. Both load the design by its spec (a
built-in name or ``file.py:Name``), never by pickling design objects.
"""

from __future__ import annotations

import contextlib
import gc
import heapq
import os
import signal
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

import attrs

from shardcheck import model
from shardcheck.checker.design import (
    DesignRef,
    Judge,
    Step,
    Violation,
    call_design,
    changes,
    fingerprint_of,
    resolve_design,
    stepped,
)
from shardcheck.checker.errors import (
    BadInput,
    InternalError,
    ShardcheckError,
)
from shardcheck.checker.search.explorer import (
    Progress,
    SearchResult,
    SearchSettings,
    Stats,
    Verdict,
    collision_probability,
)
from shardcheck.checker.search.packed import take_packing
from shardcheck.checker.search.partition import (
    SPREAD,
    Absorbed,
    CompactExpanded,
    Expanded,
    Job,
    compact_owner,
    make_partition,
    owner,
    parallel_settings,
    state_key,
)

MAX_JOBS = 256


CHUNK = 128
"""Fewest frontier positions a chunk of a level takes when a state bound is near."""


_DEFAULT = SearchSettings()


class Host(Protocol):
    """Where the partitions live: local processes, or actors on a Dask cluster."""

    @property
    def size(self) -> int:
        """How many partitions."""
        ...

    def call_all(self, method: str, arguments: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Call ``method`` on every partition at once, with its own arguments; wait for all."""
        ...

    def call(self, index: int, method: str, *arguments: Any) -> Any:
        """Call ``method`` on one partition."""
        ...

    def close(self) -> None:
        """Stop the partitions."""
        ...


class InProcessHost:
    """Every partition in this process, one after another: for tests and for debugging."""

    def __init__(self, jobs: int, job: Job) -> None:
        self.partitions = [make_partition(i, jobs, job) for i in range(jobs)]

    @property
    def size(self) -> int:
        """How many partitions."""
        return len(self.partitions)

    def call_all(self, method: str, arguments: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Call ``method`` on each partition in turn."""
        return [getattr(p, method)(*args) for p, args in zip(self.partitions, arguments,
                                                             strict=True)]

    def call(self, index: int, method: str, *arguments: Any) -> Any:
        """Call ``method`` on one partition."""
        return getattr(self.partitions[index], method)(*arguments)

    def close(self) -> None:
        """Nothing to stop."""


def serve(descriptor: int) -> None:
    """A worker process: build the object it is told to, then answer calls on it.

    The first message names a top-level callable and its arguments; every later one is
    ``(method, arguments)``, answered with ``("ok", value)``, ``("error", exception)`` or
    ``("crash", description)``;
    None or a closed socket ends the process.
    """
    # States are acyclic values; a collector pass over millions of them costs more than
    # the search (the serial explorer pauses it too).
    gc.disable()
    # Ctrl-C reaches the whole process group: the coordinator answers it and stops the
    # workers, which must not each print a traceback of their own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    connection = Connection(descriptor)
    try:
        build, arguments = connection.recv()
        served: Any = build(*arguments)
        connection.send(("ok", None))
    except Exception as exc:  # reported to the coordinator, which raises it there
        connection.send(_failure(exc))
        return
    while True:
        try:
            message = connection.recv()
        except EOFError:
            return
        if message is None:
            return
        method, arguments = message
        try:
            connection.send(("ok", getattr(served, method)(*arguments)))
        except Exception as exc:  # reported to the coordinator, which raises it there
            connection.send(_failure(exc))


def _failure(exc: Exception) -> tuple[str, Any]:
    """What a worker answers when a call fails: our errors as they are; anything else
    (ours too) as a description, which the coordinator raises as an internal error."""
    if isinstance(exc, InternalError):
        return ("crash", str(exc).split(" (this is a bug in shardcheck")[0])
    if isinstance(exc, ShardcheckError):
        return ("error", exc)
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return ("crash", f"a worker process failed: {type(exc).__name__}: {exc}{where}")


def _start_worker() -> tuple[subprocess.Popen[bytes], Connection]:
    """A fresh interpreter running :func:`serve` on one end of a socket pair.

    A new interpreter, as multiprocessing's spawn would start, but without re-importing
    the caller's ``__main__``: a user's script without an ``if __name__ == "__main__"``
    guard must not run again in every worker. The worker imports shardcheck as this
    interpreter does, from its installation: nothing of ours is put on its path, so a
    user's module named like one of our files (``errors.py``) is never shadowed.
    """
    ours, theirs = socket.socketpair()
    environment = dict(os.environ)
    try:
        process = subprocess.Popen(
            [sys.executable, "-c",
             f"from shardcheck.checker.search.parallel import serve; serve({theirs.fileno()})"],
            pass_fds=(theirs.fileno(),), env=environment, stdin=subprocess.DEVNULL)
    except OSError as exc:
        ours.close()
        raise InternalError(f"could not start a worker process: {exc}") from None
    finally:
        theirs.close()
    return process, Connection(ours.detach())


class ProcessHost:
    """One local process per served object (a partition, a fuzz shard), over a socket."""

    def __init__(self, builds: Sequence[tuple[Callable[..., Any], tuple[Any, ...]]]) -> None:
        self.connections: list[Connection] = []
        self.processes: list[subprocess.Popen[bytes]] = []
        try:
            for build in builds:
                process, connection = _start_worker()
                self.processes.append(process)
                self.connections.append(connection)
                connection.send(build)
            for index in range(len(builds)):
                self._receive(index)
        except BaseException:
            self.close()
            raise

    @classmethod
    def partitions(cls, jobs: int, job: Job) -> ProcessHost:
        """A host of ``jobs`` partitions of one search."""
        return cls([(make_partition, (index, jobs, job)) for index in range(jobs)])

    @property
    def size(self) -> int:
        """How many partitions."""
        return len(self.connections)

    def _receive(self, index: int) -> Any:
        try:
            status, value = self.connections[index].recv()
        except (EOFError, OSError):
            code = self.processes[index].poll()
            raise InternalError(f"worker process {index} died (exit code {code})") from None
        if status == "error":
            raise value
        if status == "crash":
            raise InternalError(value)
        return value

    def call_all(self, method: str, arguments: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Send every partition its call, then collect the answers in order."""
        for connection, args in zip(self.connections, arguments, strict=True):
            connection.send((method, args))
        answers: list[Any] = []
        failure: BaseException | None = None
        for index in range(len(self.connections)):
            try:
                answers.append(self._receive(index))
            except ShardcheckError as exc:  # keep the pipes in step: read every answer
                failure = failure or exc
                answers.append(None)
        if failure is not None:
            raise failure
        return answers

    def call(self, index: int, method: str, *arguments: Any) -> Any:
        """Call ``method`` on one partition."""
        self.connections[index].send((method, arguments))
        return self._receive(index)

    def close(self) -> None:
        """Tell every worker to stop, and wait a moment for it; then make sure it has."""
        for connection in self.connections:
            with contextlib.suppress(OSError):  # a worker that already died
                connection.send(None)
        for process in self.processes:
            try:
                process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for connection in self.connections:
            connection.close()
        self.connections, self.processes = [], []


def check_jobs(jobs: int) -> None:
    """Refuse a job count that cannot be meant."""
    if not 1 <= jobs <= MAX_JOBS:
        raise BadInput(f"--jobs must be between 1 and {MAX_JOBS}, got {jobs}")


def check_settings(settings: SearchSettings) -> None:
    """Parallel search is breadth-first only: say so rather than search another way."""
    if settings.strategy != "bfs":
        raise BadInput("parallel exploration is breadth-first: drop --strategy dfs, or run "
                       "with --jobs 1")


@attrs.define(eq=False)
class _Tally:
    """The coordinator's mutable bookkeeping: the serial explorer's counters, replayed."""

    started: float
    states: int = 1
    transitions: int = 0
    max_depth: int = 0
    terminal_states: int = 0
    outcomes: set[bytes] = attrs.field(factory=set)
    engine: str = "ordinary"
    exact: bool = False
    """Whether keys are the packed states themselves (no collision possible)."""

    def stats(self, complete: bool) -> Stats:
        collision = 0.0 if self.exact else collision_probability(self.states,
                                                                 self.transitions + 1)
        return Stats(self.states, self.transitions, self.max_depth, self.terminal_states,
                     len(self.outcomes), time.monotonic() - self.started, complete,
                     collision, self.engine)

    def result(self, verdict: Verdict, start: str, complete: bool,
               violation: Violation | None = None, path: tuple[Step, ...] = (),
               reason: str = "") -> SearchResult:
        return SearchResult(verdict, self.stats(complete), start, violation, path, reason,
                            frozenset(o.hex() for o in self.outcomes))


@attrs.frozen
class _Stop:
    """Where the serial search would have stopped within a level."""

    verdict: str
    violation: Violation | None = None
    key: int | None = None
    reason: str = ""


def explore_on(host: Host, design: model.Design, config: model.Config,
               settings: SearchSettings = _DEFAULT,
               progress: Progress | None = None) -> SearchResult:
    """Breadth-first search of ``design`` on ``config`` by the partitions of ``host``.

    ``design`` is the coordinator's own copy, for the initial state and for rebuilding a
    counterexample's path; the partitions load theirs from the job they were given.
    """
    check_settings(settings)
    settings = parallel_settings(settings, design)
    if settings.compact:
        return _explore_compact_on(host, design, config, settings, progress)
    tally = _Tally(time.monotonic())
    judge = settings.judge(design, config)
    who = f"design {design.name!r}"
    initial = call_design(who, "initial()", design.initial, config)
    start = fingerprint_of(design, "initial", "initial()", initial)
    terminal = bool(call_design(who, "is_terminal()", design.is_terminal, initial))
    violation = judge.check_state(initial, 0, terminal)
    if violation is not None:
        return tally.result("violation", start, False, violation)
    if terminal:
        tally.terminal_states += 1
        tally.outcomes.add(model.digest(call_design(who, "outcome()", design.outcome, initial)))
        return tally.result("pass", start, True)
    canonical = design.canonical if settings.symmetry and isinstance(design, model.Symmetric) \
        else None
    root = state_key(initial if canonical is None
                     else call_design(who, "canonical()", canonical, initial))
    host.call(owner(root, host.size), "start", initial, root)
    deadline = None if settings.time_limit is None else tally.started + settings.time_limit
    next_report = tally.started + 0.25
    depth = 0
    truncated = False
    level_size = 1
    # Per partition: where its new states go in the next level, to commit with the next
    # call (None: nothing to commit).
    positions: Sequence[Sequence[int] | None] = [None] * host.size
    popped = 1  # states expanded so far, of which tally.states were found: the yield
    while level_size:
        # Where the next level's states go, per partition, chunk after chunk.
        placed: list[list[int]] = [[] for _ in range(host.size)]
        done = 0
        next_size = 0
        while done < level_size:
            # With a state bound, a level is taken in chunks of as many positions as,
            # at the yield so far, find the states still allowed: the serial search may
            # stop inside the level, and a whole wide level past that point would be
            # work for nothing.
            below = None if settings.max_states is None else done + max(
                CHUNK, (settings.max_states - tally.states) * popped // max(1, tally.states))
            expanded: list[Expanded] = host.call_all(
                "expand", [(p, below) for p in positions])
            positions = [None] * host.size
            if deadline is not None and time.monotonic() >= deadline:
                return _stopped(tally, start, f"time limit of {settings.time_limit:g}s reached")
            inboxes = [[report.outboxes[home] for report in expanded]
                       for home in range(host.size)]
            decided: list[list[list[int]]] = host.call_all("dedup",
                                                           [(box,) for box in inboxes])
            winners = [[decided[home][sender] for home in range(host.size)]
                       for sender in range(host.size)]
            absorbed: list[Absorbed] = host.call_all("judge_new", [(w,) for w in winners])
            stop, chunk, next_size = _replay_level(tally, expanded, absorbed, depth,
                                                   settings, judge, next_size)
            if stop is not None:
                if stop.verdict == "inconclusive":
                    return _stopped(tally, start, stop.reason)
                assert stop.violation is not None and stop.key is not None
                path = _path(host, design, initial, stop.key)
                return tally.result("violation", start, False, stop.violation, path)
            for mine, more in zip(placed, chunk, strict=True):
                mine.extend(more)
            popped += sum(len(report.positions) for report in expanded)
            if settings.max_depth is not None and depth >= settings.max_depth and \
                    any(report.positions for report in expanded):
                truncated = True
            done = level_size if below is None else below
        level_size = next_size
        positions = [None] * host.size if _even_out(host, placed) else placed
        depth += 1
        now = time.monotonic()
        if deadline is not None and now >= deadline and level_size:
            return _stopped(tally, start, f"time limit of {settings.time_limit:g}s reached")
        if progress is not None and now >= next_report:
            progress(tally.stats(False))
            next_report = now + 0.25
    if truncated:
        return _stopped(tally, start, f"depth bound of {settings.max_depth} cut off some runs")
    return tally.result("pass", start, True)


def _even_out(host: Host, positions: Sequence[Sequence[int] | None]) -> bool:
    """Move frontier states from partitions that hold too many to those that hold too few.

    Successors stay where they were generated, so a search that starts with one state
    in one partition would stay there; and a level's share drifts. Moving states costs a
    pickle each way, so only a clear imbalance is evened out. Returns whether states
    moved (the positions are then committed).
    """
    held = [sum(1 for at in mine if at >= 0) if mine is not None else 0 for mine in positions]
    total = sum(held)
    fair = -(-total // len(held))
    if total < 2 * len(held) or max(held) <= fair + max(8, fair // 4):
        return False
    surplus = [max(0, h - fair) for h in held]
    deficit = [max(0, fair - h) for h in held]
    plan = [[0] * len(held) for _ in held]
    receiver = 0
    for giver, extra in enumerate(surplus):
        while extra > 0:
            while receiver < len(held) and deficit[receiver] == 0:
                receiver += 1
            if receiver == len(held):
                break
            moved = min(extra, deficit[receiver])
            plan[giver][receiver] += moved
            deficit[receiver] -= moved
            extra -= moved
    batches: list[list[bytes]] = host.call_all(
        "give", [(mine, row) for mine, row in zip(positions, plan, strict=True)])
    host.call_all("take", [([batches[giver][taker] for giver in range(len(held))],)
                           for taker in range(len(held))])
    return True


def _stopped(tally: _Tally, start: str, reason: str) -> SearchResult:
    return tally.result("inconclusive", start, False, reason=reason)


def _replay_level(tally: _Tally, expanded: Sequence[Expanded], absorbed: Sequence[Absorbed],
                  depth: int, settings: SearchSettings, judge: Judge, next_position: int
                  ) -> tuple[_Stop | None, list[list[int]], int]:
    """Count one level, or one chunk of a level, as the serial search would, up to where
    it would stop.

    Returns where it stopped (if it did), each partition's positions for its new states
    in the next level (numbered from ``next_position``, where the chunk before left off),
    and the next level's size so far.
    """
    taken: dict[int, int] = {}
    deadlock: tuple[int, int] | None = None
    for report in expanded:
        taken.update(zip(report.positions, report.actions, strict=True))
        for entry in report.deadlocks:
            if deadlock is None or entry[0] < deadlock[0]:
                deadlock = entry
    before = tally.transitions

    def transitions_before(position: int) -> int:
        return before + sum(n for at, n in taken.items() if at < position)

    merged = heapq.merge(*([(at, index, home, number) for number, (at, index)
                            in enumerate(report.discovered)]
                           for home, report in enumerate(absorbed)))
    positions: list[list[int]] = [[-1] * len(report.discovered) for report in absorbed]
    for at, index, home, number in merged:
        if deadlock is not None and at >= deadlock[0]:
            break
        new = absorbed[home]
        tally.states += 1
        tally.max_depth = depth + 1
        found = new.violations.get(number)
        if found is not None:
            tally.transitions = transitions_before(at) + index + 1
            return _Stop("violation", found[0], found[1]), [], 0
        if new.terminal[number]:
            tally.terminal_states += 1
            tally.outcomes.add(new.outcomes[number])
        else:
            positions[home][number] = next_position
            next_position += 1
        if settings.max_states is not None and tally.states >= settings.max_states:
            tally.transitions = transitions_before(at) + index + 1
            return (_Stop("inconclusive", reason=f"state bound of {settings.max_states:,} "
                          "reached"), [], 0)
    if deadlock is not None:
        tally.transitions = transitions_before(deadlock[0])
        # The deadlocked state is on this level, which is at depth ``depth``.
        return _Stop("violation", judge.check_deadlock(depth), deadlock[1]), [], 0
    tally.transitions = before + sum(taken.values())
    return None, list(positions), next_position


def _path(host: Host, design: model.Design, initial: Any, key: int) -> tuple[Step, ...]:
    """Rebuild the path to a state by following parent pointers across partitions."""
    choices: list[int] = []
    link = host.call(owner(key, host.size), "parent", key)
    while link is not None:
        key, index = link
        choices.append(index)
        link = host.call(owner(key, host.size), "parent", key)
    return _replay_choices(design, initial, choices[::-1])


def _replay_choices(design: model.Design, initial: Any,
                    choices: Sequence[int]) -> tuple[Step, ...]:
    """The run from ``initial`` that takes, at each step, the action of that index."""
    who = f"design {design.name!r}"
    steps: list[Step] = []
    state = initial
    for depth, index in enumerate(choices):
        actions = tuple(call_design(who, f"actions() at depth {depth}", design.actions, state))
        action = actions[index]
        previous = state
        state = call_design(who, stepped(action, depth), design.step, state, action)
        fingerprint = fingerprint_of(design, "step", stepped(action, depth), state)
        steps.append(Step(action, fingerprint, changes(previous, state)))
    return tuple(steps)


def describe_parallel(jobs: int, scheduler: str | None, compact: bool = False) -> str:
    """One line for report headers: where the partitions run, and which path."""
    how = "breadth-first, compact path" if compact else "breadth-first, every transition"
    if scheduler is not None:
        count = "one partition per worker" if jobs == 1 else f"{jobs} partitions"
        return f"Dask cluster at {scheduler}, {count}; {how}"
    return f"{jobs} local processes; {how}"


def explore_parallel(ref: DesignRef, config: model.Config,
                     settings: SearchSettings = _DEFAULT, *, jobs: int,
                     scheduler: str | None = None,
                     progress: Progress | None = None) -> SearchResult:
    """Search with ``jobs`` local processes, or on the Dask cluster at ``scheduler``.

    ``jobs=1`` without a scheduler is the serial explorer itself, reductions and all.
    On a cluster, ``jobs=1`` means one partition per Dask worker.
    """
    check_jobs(jobs)
    design, _ = resolve_design(ref)
    if jobs == 1 and scheduler is None:
        from shardcheck.checker.search.explorer import explore
        return explore(design, config, settings, progress)
    check_settings(settings)
    misfit = model.workload_misfit(design, config.workload)
    if misfit is not None:
        raise BadInput(misfit)
    job = Job.of(ref, config, parallel_settings(settings, design))
    host: Host
    if scheduler is not None:
        from shardcheck.checker.search.cluster import DaskHost

        host = DaskHost.partitions(scheduler, None if jobs == 1 else jobs, job)
    else:
        host = ProcessHost.partitions(jobs, job)
    try:
        return explore_on(host, design, config, settings, progress)
    finally:
        host.close()


def _explore_compact_on(host: Host, design: model.Design, config: model.Config,
                        settings: SearchSettings, progress: Progress | None
                        ) -> SearchResult:
    """The compact breadth-first search by partitions, counted as ``_compact_levels``
    counts it: the same verdict, counts, outcomes and counterexample."""
    assert isinstance(design, model.Compactable)
    who = f"design {design.name!r}"
    initial = call_design(who, "initial()", design.initial, config)
    start = fingerprint_of(design, "initial", "initial()", initial)
    judge = settings.judge(design, config)
    packing = take_packing(design, initial, judge.state_properties)
    if packing is None:
        raise InternalError(f"design {design.name!r} has no packed path that fits it")
    engine = "compact+persistent-sets" if settings.persistent and isinstance(
        packing, model.Persistent) else "compact"
    tally = _Tally(time.monotonic(), engine=engine, exact=True)
    code0 = call_design(who, "compact().pack()", packing.pack, initial)
    root = code0
    if settings.symmetry and isinstance(design, model.Symmetric):
        root = call_design(who, "compact().canonical()", packing.canonical, code0)
    host.call(compact_owner(root, host.size), "start", code0, root)
    deadline = None if settings.time_limit is None else tally.started + settings.time_limit
    next_report = tally.started + 0.25
    max_states = settings.max_states
    commit: tuple[int, list[list[int]]] | None = None
    depth, base, level = 0, 0, 1  # this level's first number and size
    truncated = False
    while level:
        expanded: list[CompactExpanded] = host.call_all(
            "expand", [(commit,)] * host.size)
        inboxes = [[report.outboxes[home] for report in expanded]
                   for home in range(host.size)]
        ranked: list[list[int]] = host.call_all("dedup", [(box,) for box in inboxes])
        found = base + level  # states numbered before this level's successors
        new = sum(len(keys) for keys in ranked)
        events = sorted((e for report in expanded for e in report.events),
                        key=lambda e: e[0])
        stop = next((e for e in events if e[1] != "terminal"), None)
        bound_at: int | None = None
        if max_states is not None and found < max_states <= found + new:
            # The state that reaches the bound, and the state whose expansion found it.
            winners = sorted(key for keys in ranked for key in keys)
            bound_at = winners[max_states - found - 1] // SPREAD
        taken: dict[int, int] = {}
        for report in expanded:
            flat = report.taken
            taken.update(zip(flat[::2], flat[1::2], strict=True))
        if stop is not None and (bound_at is None or stop[0] < bound_at):
            at = stop[0]
            tally.states = found + sum(1 for keys in ranked for key in keys
                                       if key // SPREAD < at)
            tally.transitions += sum(n for number, n in taken.items() if number < at)
            _count_terminals(tally, events, at)
            tally.max_depth = depth
            violation = stop[2] if stop[1] == "violation" else judge.check_deadlock(depth)
            path = _compact_path(host, design, initial, at)
            return tally.result("violation", start, False, violation, path)
        if bound_at is not None:
            assert max_states is not None
            tally.states = max_states
            tally.transitions += sum(n for number, n in taken.items() if number <= bound_at)
            _count_terminals(tally, events, bound_at)
            tally.max_depth = depth + 1
            return _stopped(tally, start, f"state bound of {max_states:,} reached")
        tally.states = found + new
        tally.transitions += sum(taken.values())
        _count_terminals(tally, events, None)
        truncated = truncated or any(report.truncated for report in expanded)
        commit = (found, ranked)
        base, level = found, new
        if level:
            depth += 1
            tally.max_depth = depth
        now = time.monotonic()
        if deadline is not None and now >= deadline and level:
            return _stopped(tally, start, f"time limit of {settings.time_limit:g}s reached")
        if progress is not None and now >= next_report:
            progress(tally.stats(False))
            next_report = now + 0.25
    if truncated:
        return _stopped(tally, start, f"depth bound of {settings.max_depth} cut off some "
                        "runs")
    return tally.result("pass", start, True)


def _count_terminals(tally: _Tally, events: Sequence[tuple[int, str, Any]],
                     before: int | None) -> None:
    """Count the terminal states judged at numbers below ``before`` (None: all)."""
    for number, kind, detail in events:
        if kind == "terminal" and (before is None or number < before):
            tally.terminal_states += 1
            tally.outcomes.add(detail)


def _compact_path(host: Host, design: model.Design, initial: Any,
                  number: int) -> tuple[Step, ...]:
    """Rebuild the path to a numbered state from the partitions' parent records."""
    choices: list[int] = []
    while number != 0:
        links: list[tuple[int, int] | None] = host.call_all("parent", [(number,)] * host.size)
        link = next(link for link in links if link is not None)
        number, index = link
        choices.append(index)
    return _replay_choices(design, initial, choices[::-1])
