"""The partitions of a parallel search: each owns the states whose keys it is given.

A ``Job`` says what is searched (the design by its spec, the configuration, the
settings); ``make_partition`` builds partition ``index`` of ``count`` in whatever
process hosts it (``parallel``'s local processes, or ``cluster``'s Dask actors). A
partition expands its share of a level, keeps its slice of the visited set, and
reports what the coordinator in ``parallel`` merges; ``CompactPartition`` does the
same on a design's packed states (the compact path).
"""


from __future__ import annotations

import bisect
import hashlib
import itertools
import operator
import pickle
import time
from array import array
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

from shardcheck import model
from shardcheck.checker.design import (
    DesignRef,
    Violation,
    block_document,
    call_design,
    design_bug,
    load_workload,
    refuse_unencodable_key,
    register_block,
    resolve_design,
    stepped,
)
from shardcheck.checker.errors import (
    USER_CODE_FAILURES,
    DesignBug,
    InternalError,
    ShardcheckError,
)
from shardcheck.checker.search.explorer import (
    SearchSettings,
)
from shardcheck.checker.search.packed import take_packing


@attrs.frozen(kw_only=True)
class Job:
    """What every partition needs to rebuild the search on its own: plain data only."""

    design: str
    """The design's spec (``block-stm:mutant`` or ``/absolute/path.py:Name[:mutant]``)."""
    workload: str
    workers: int
    settings: SearchSettings
    block: dict[str, Any] | None = None
    """The document of a block file's workload (``block:`` specs), which the worker
    processes cannot read from a file of their own."""

    @classmethod
    def of(cls, ref: DesignRef, config: model.Config, settings: SearchSettings) -> Job:
        """The job for a design reference; a file path is made absolute for other processes."""
        if ref.file is not None:
            ref = attrs.evolve(ref, file=str(Path(ref.file).resolve()))
        return cls(design=ref.spec(), workload=config.workload.spec, workers=config.workers,
                   settings=settings, block=block_document(config.workload.spec))

    def load(self) -> tuple[model.Design, model.Config]:
        """The design and configuration this job names."""
        design, _ = resolve_design(self.design)
        if self.block is not None:
            register_block(self.block, f"the block of {self.workload}")
        return design, model.Config(load_workload(self.workload), self.workers)


def state_key(value: object) -> int:
    """The visited-set key, as the serial explorer computes it: 64 bits of BLAKE2b over
    the canonical encoding. The same keys make the same collisions, so even the
    reported collision probability is the serial one."""
    return int.from_bytes(
        hashlib.blake2b(model.canonical_bytes(value), digest_size=8).digest(), "little")


def owner(key: int, partitions: int) -> int:
    """The partition that owns a key."""
    return key % partitions


def parallel_settings(settings: SearchSettings,
                      design: model.Design | None = None) -> SearchSettings:
    """The settings a parallel search runs with.

    Sleep sets prune transitions in an order that depends on the whole search history,
    which no level-by-level partition can reproduce: they are off. A design's compact
    path (and its persistent sets, which depend on the state alone) stays on when the
    design offers it, and the search is then the serial compact one; otherwise it is the
    serial ordinary one with ``--no-por --no-compact``. Without ``design``, the ordinary.
    """
    if design is not None and uses_compact(design, settings):
        return attrs.evolve(settings, por=False)
    return attrs.evolve(settings, por=False, compact=False)


# A candidate successor: (position of the parent, action index, key, parent's key, state).
_Candidate = tuple[int, int, int, int, Any]


@attrs.frozen
class Expanded:
    """One partition's report of expanding its frontier (the coordinator's bookkeeping)."""

    positions: tuple[int, ...]
    """The frontier positions it expanded, in order."""
    actions: tuple[int, ...]
    """Per position: the transitions taken (0 when cut off by the depth bound)."""
    deadlocks: tuple[tuple[int, int], ...]
    """Positions (and keys) of frontier states with no enabled action."""
    outboxes: tuple[list[int], ...]
    """Per owner: its candidates, flat (key, parent position, action index, parent key)."""


@attrs.frozen
class Absorbed:
    """One partition's report of its new states, in discovery order."""

    discovered: tuple[tuple[int, int], ...]
    """Discovery key (parent position, action index) of each new state, ascending."""
    terminal: tuple[bool, ...]
    outcomes: dict[int, bytes]
    """Index of a terminal, unviolated new state -> digest of its outcome."""
    violations: dict[int, tuple[Violation, int]]
    """Index of a violating new state -> the violation and the state's key."""


class Partition:
    """The keys one worker owns (its part of the visited set) and the states it holds.

    A successor stays with the partition that generated it; only its key travels, to
    the key's owner, which decides whether it is new. So no state is pickled on the
    ordinary path; states move only when the coordinator evens out the frontier
    (:meth:`give`, :meth:`take`), because a search starts with one state in one place.
    """

    def __init__(self, index: int, count: int, job: Job) -> None:
        self.index = index
        self.count = count
        design, config = job.load()
        self.design = design
        self.settings = job.settings
        self.judge = job.settings.judge(design, config)
        self.canonical: Callable[[Any], Any] | None = None
        if job.settings.symmetry and isinstance(design, model.Symmetric):
            self.canonical = design.canonical
        self.parents: dict[int, tuple[int, int] | None] = {}
        self.frontier: list[tuple[int, Any, int]] = []
        self.sent: list[list[_Candidate]] = []
        self.pending: list[_Candidate] = []
        self.depth = 0

    def _call(self, what: str, function: Callable[..., Any], *args: Any) -> Any:
        return call_design(f"design {self.design.name!r}", what, function, *args)

    def _key(self, state: Any) -> int:
        if self.canonical is None:
            return state_key(state)
        return state_key(self._call("canonical()", self.canonical, state))

    def start(self, state: Any, key: int) -> None:
        """Own the initial state's key and hold the state."""
        self.parents[key] = None
        self.frontier = [(0, state, key)]

    def commit(self, positions: Sequence[int]) -> None:
        """Make last level's new states the frontier, at the positions the coordinator gave.

        ``positions`` lines up with the states :meth:`judge_new` kept, ``-1`` for those
        that leave the frontier (terminal ones).
        """
        self.frontier = [(at, c[4], c[2]) for at, c in zip(positions, self.pending, strict=True)
                         if at >= 0]
        self.pending = []
        self.depth += 1

    def give(self, positions: Sequence[int], counts: Sequence[int]) -> list[bytes]:
        """Commit ``positions``, then hand ``counts[p]`` frontier states to partition ``p``,
        pickled, one batch each."""
        self.commit(positions)
        batches: list[bytes] = []
        for count in counts:
            moving, self.frontier = self.frontier[:count], self.frontier[count:]
            batches.append(pickle.dumps(moving, pickle.HIGHEST_PROTOCOL) if moving else b"")
        return batches

    def take(self, batches: Sequence[bytes]) -> None:
        """Hold the frontier states other partitions handed over."""
        for batch in batches:
            if batch:
                self.frontier.extend(pickle.loads(batch))

    def expand(self, positions: Sequence[int] | None, below: int | None = None) -> Expanded:
        """Commit ``positions`` (None: :meth:`give` did, or the level is under way), then
        run every enabled action of the frontier states before position ``below`` (None:
        all of them); send each new key to its owner."""
        if positions is not None:
            self.commit(positions)
        self.frontier.sort(key=lambda entry: entry[0])
        if below is None:
            chunk, self.frontier = self.frontier, []
        else:
            cut_at = bisect.bisect_left(self.frontier, below, key=lambda entry: entry[0])
            chunk, self.frontier = self.frontier[:cut_at], self.frontier[cut_at:]
        cut = self.settings.max_depth is not None and self.depth >= self.settings.max_depth
        sent: list[list[_Candidate]] = [[] for _ in range(self.count)]
        seen: set[int] = set()
        expanded: list[int] = []
        taken: list[int] = []
        deadlocks: list[tuple[int, int]] = []
        parents = self.parents
        design = self.design
        for at, state, key in chunk:
            actions = self._call(f"actions() at depth {self.depth}", design.actions, state)
            expanded.append(at)
            if not actions:
                deadlocks.append((at, key))
                taken.append(0)
                continue
            if cut:
                taken.append(0)
                continue
            taken.append(len(actions))
            for index, action in enumerate(actions):
                try:
                    nxt = design.step(state, action)
                except USER_CODE_FAILURES as exc:
                    # Worded only when it happens: a label can cost more than the step.
                    raise design_bug(f"design {design.name!r}", stepped(action, self.depth),
                                     exc, design.step) from None
                try:
                    nkey = self._key(nxt)
                except TypeError:  # costs nothing until raised: no check per state
                    refuse_unencodable_key(design, stepped(action, self.depth), nxt,
                                           self.canonical)
                    raise
                # The frontier runs in discovery order, so the first candidate for a key
                # is the one with the smallest discovery key: later ones can only lose.
                if nkey in seen:
                    continue
                seen.add(nkey)
                home = nkey % self.count
                if home == self.index and nkey in parents:
                    continue
                sent[home].append((at, index, nkey, key, nxt))
        self.sent = sent
        outboxes = tuple([n for c in box for n in (c[2], c[0], c[1], c[3])] for box in sent)
        return Expanded(tuple(expanded), tuple(taken), tuple(deadlocks), outboxes)

    def dedup(self, inboxes: Sequence[list[int]]) -> list[list[int]]:
        """Decide which keys sent here are new; per sender, the indices of its winners.

        A key already visited loses; among the senders of a new key, the smallest
        discovery key wins, as the serial search would have found it first.
        """
        best: dict[int, tuple[int, int, int, int, int]] = {}
        parents = self.parents
        for sender, flat in enumerate(inboxes):
            for number in range(len(flat) // 4):
                key, at, index, parent = flat[4 * number: 4 * number + 4]
                if key in parents:
                    continue
                held = best.get(key)
                if held is None or (at, index) < held[:2]:
                    best[key] = (at, index, sender, number, parent)
        winners: list[list[int]] = [[] for _ in inboxes]
        for key, (_at, index, sender, number, parent) in best.items():
            parents[key] = (parent, index)
            winners[sender].append(number)
        return winners

    def judge_new(self, winners: Sequence[list[int]]) -> Absorbed:
        """Judge the new states this partition generated (``winners[owner]`` indexes what
        it sent to each owner), and keep them for the next level."""
        kept = sorted((self.sent[home][number] for home, numbers in enumerate(winners)
                       for number in numbers), key=lambda c: (c[0], c[1]))
        self.sent = []
        depth = self.depth + 1
        terminal: list[bool] = []
        outcomes: dict[int, bytes] = {}
        violations: dict[int, tuple[Violation, int]] = {}
        for number, (_at, _index, key, _parent, state) in enumerate(kept):
            ends = bool(self._call("is_terminal()", self.design.is_terminal, state))
            violation = self.judge.check_state(state, depth, ends)
            terminal.append(ends)
            if violation is not None:
                violations[number] = (violation, key)
            elif ends:
                outcomes[number] = model.digest(
                    self._call("outcome()", self.design.outcome, state))
        # A level may come in chunks of positions, each after the one before: in order.
        self.pending.extend(kept)
        return Absorbed(tuple((c[0], c[1]) for c in kept), tuple(terminal), outcomes, violations)

    def parent(self, key: int) -> tuple[int, int] | None:
        """The parent pointer of a state this partition owns."""
        return self.parents[key]

    def cpu_seconds(self) -> float:
        """Processor time of the process hosting this partition (for benchmarks)."""
        return time.process_time()


# The compact path in partitions: packed states, as the serial ``_compact_levels`` runs.

SPREAD = 1 << 20
"""A discovery key is ``parent number * SPREAD + action index``: it orders candidates
as the serial search meets them (a state has fewer than SPREAD enabled actions)."""


_PRIME = 1_000_003


def compact_owner(key: int, partitions: int) -> int:
    """The partition that owns a packed key. Packed keys are bit fields, whose low bits
    (a counter, say) would split a level unevenly: the remainder by a prime depends on
    every bit, and costs one division."""
    return key % _PRIME % partitions


def uses_compact(design: model.Design, settings: SearchSettings) -> bool:
    """Whether a parallel search of ``design`` runs on its compact path: only a packing
    whose ints mean the same state in every process can travel between them."""
    return settings.compact and model.portable_packing(design)


Box = tuple[list[int], list[int], list[int]]
"""Candidates for one owner: keys, discovery keys, packed states (empty: the keys)."""


@attrs.frozen
class CompactExpanded:
    """One partition's report of expanding its part of a compact level."""

    taken: tuple[int, ...]
    """Flat (state number, transitions taken) for every state it expanded."""
    events: tuple[tuple[int, str, Any], ...]
    """(state number, kind, detail) for every notable state judged: ``terminal`` (the
    outcome's digest), ``violation`` (the violation) or ``deadlock``."""
    truncated: bool
    """Whether the depth bound kept a state with successors from being expanded."""
    outboxes: tuple[Box, ...]
    """Per owner: its candidates' keys, discovery keys and packed states (no states
    without symmetry, where the key is the packed state; its own box: empty)."""


class CompactPartition:
    """One partition of a compact search: the keys it owns, its part of the frontier
    (packed states) and, for the states it numbered, their parent and action index.

    A candidate travels to the owner of its key with its packed state, and the winner
    stays there: the frontier is spread by the key's hash, so no state ever has to be
    moved to even out the work.
    """

    def __init__(self, index: int, count: int, job: Job) -> None:
        self.index = index
        self.count = count
        design, config = job.load()
        self.design = design
        self.settings = job.settings
        self.judge = job.settings.judge(design, config)
        who = f"design {design.name!r}"
        self.who = who
        initial = call_design(who, "initial()", design.initial, config)
        packing = take_packing(design, initial, self.judge.state_properties)
        if packing is None:
            raise InternalError(f"design {design.name!r} has no packed path that fits it")
        self.packing: model.Compact = packing
        self.canonical: Callable[[int], int] | None = None
        if job.settings.symmetry and isinstance(design, model.Symmetric):
            self.canonical = self.packing.canonical
        # Graded: a level's keys can only meet keys of the same level (model.Graded),
        # so each level starts with an empty visited set.
        self.graded = isinstance(self.packing, model.Graded)
        self.persistent: Callable[[int], int] | None = None
        if job.settings.persistent and isinstance(self.packing, model.Persistent):
            self.persistent = self.packing.persistent
        self.seen: set[int] = set()
        self.frontier: list[tuple[int, int]] = []  # (number, code), ascending numbers
        # Last level's winners: their discovery keys (ascending) and packed states.
        self.pending: list[int] = []
        self.pending_codes: list[int] = []
        self.own: Box = ([], [], [])  # candidates for keys this partition owns
        # Per state this partition numbered, ascending: its number, parent and action.
        self.numbers = array("Q")
        self.parents = array("Q")
        self.choices = array("I")
        self.depth = 0

    def start(self, code: int, key: int) -> None:
        """Own the initial state's key and hold the state, number 0."""
        self.seen.add(key)
        self.frontier = [(0, code)]
        self.numbers.append(0)
        self.parents.append(0)
        self.choices.append(0)

    def commit(self, base: int, ranked: Sequence[list[int]]) -> None:
        """Number last level's winners, in discovery order across every partition.

        ``ranked[p]`` is partition ``p``'s winners' discovery keys, ascending; the new
        states are numbered from ``base`` in the order of all of them merged.
        """
        mine = ranked[self.index] if ranked else []
        # A winner's number: how many winners (here and elsewhere) come before it. The
        # counting runs in C (map over bisect), not in a Python loop.
        numbers = list(range(base, base + len(mine)))
        for home, keys in enumerate(ranked):
            if home != self.index and keys:
                numbers = list(map(operator.add, numbers,
                                   map(bisect.bisect_left, itertools.repeat(keys), mine)))
        self.numbers.extend(numbers)
        self.parents.extend(map(operator.floordiv, mine, itertools.repeat(SPREAD)))
        self.choices.extend(map(operator.mod, mine, itertools.repeat(SPREAD)))
        self.frontier = list(zip(numbers, self.pending_codes, strict=True))
        self.pending, self.pending_codes = [], []
        self.depth += 1

    def expand(self, commit: tuple[int, Sequence[list[int]]] | None) -> CompactExpanded:
        """Commit last level (None at the start), then expand this partition's frontier:
        judge what the packing flags, and send each successor's key to its owner.

        Per state, Python runs the design's ``successors`` (and ``persistent``); the
        candidates are gathered, de-duplicated and split by owner in C, over whole lists.
        """
        if commit is not None:
            self.commit(*commit)
        settings, depth = self.settings, self.depth
        judge_all = depth > settings.step_bound
        cut = settings.max_depth is not None and depth >= settings.max_depth
        successors, persistent = self.packing.successors, self.persistent
        codes: list[int] = []
        discoveries: list[int] = []
        add_code, add_codes = codes.append, codes.extend
        add_discovery, add_discoveries = discoveries.append, discoveries.extend
        taken: list[int] = []
        events: list[tuple[int, str, Any]] = []
        truncated = False
        try:
            for number, code in self.frontier:
                nexts = None if judge_all or number == 0 else successors(code)
                whole = nexts is None
                if whole:
                    nexts = self._notable(code, number, events)
                    if nexts is None:
                        continue
                if not nexts:
                    events.append((number, "deadlock", None))
                    continue
                if cut:
                    truncated = True
                    continue
                if len(nexts) >= SPREAD:
                    raise InternalError(f"a state with {len(nexts):,} enabled actions: "
                                        f"parallel search takes fewer than {SPREAD:,}")
                discovery = number * SPREAD
                if persistent is not None and not whole:
                    one = persistent(code)
                    if one >= 0:
                        taken.append(number)
                        taken.append(1)
                        add_code(nexts[one])
                        add_discovery(discovery + one)
                        continue
                taken.append(number)
                taken.append(len(nexts))
                add_codes(nexts)
                add_discoveries(range(discovery, discovery + len(nexts)))
            keys = codes if self.canonical is None else list(map(self.canonical, codes))
        except (DesignBug, ShardcheckError):
            raise
        except Exception as exc:  # the packing is the design's code
            raise DesignBug(f"{self.who}: its compact path raised "
                            f"{type(exc).__name__}: {exc}") from None
        boxes = self._split(keys, codes, discoveries)
        self.frontier = []
        me = self.index
        self.own = boxes[me]
        boxes[me] = ([], [], [])
        return CompactExpanded(tuple(taken), tuple(events), truncated, tuple(boxes))

    def _split(self, keys: list[int], codes: list[int], discoveries: list[int]) -> list[Box]:
        """The candidates per owner, one per key: the first, as the candidates come in
        discovery order. Without symmetry the key is the state, and travels once."""
        # Built reversed, so that each key keeps the index of its first candidate.
        first = dict(zip(reversed(keys), reversed(range(len(keys))), strict=True))
        unique = list(first)
        at = list(first.values())
        homes = list(map(operator.mod, map(operator.mod, unique, itertools.repeat(_PRIME)),
                         itertools.repeat(self.count)))
        boxes: list[Box] = []
        for home in range(self.count):
            chosen = list(map(operator.eq, homes, itertools.repeat(home)))
            where = list(itertools.compress(at, chosen))
            found = list(map(discoveries.__getitem__, where))
            if self.canonical is None:
                boxes.append((list(itertools.compress(unique, chosen)), found, []))
            else:
                boxes.append((list(itertools.compress(unique, chosen)), found,
                              list(map(codes.__getitem__, where))))
        return boxes

    def _notable(self, code: int, number: int,
                 events: list[tuple[int, str, Any]]) -> list[int] | None:
        """Judge a flagged state the ordinary way (as the serial ``_notable``)."""
        packing, who, depth = self.packing, self.who, self.depth
        state = call_design(who, "compact().unpack()", packing.unpack, code)
        terminal = bool(call_design(who, "is_terminal()", self.design.is_terminal, state))
        violation = self.judge.check_state(state, depth, terminal)
        if violation is not None:
            events.append((number, "violation", violation))
            return None
        if terminal:
            events.append((number, "terminal", model.digest(
                call_design(who, "outcome()", self.design.outcome, state))))
            return None
        actions = call_design(who, f"actions() at depth {depth}", self.design.actions, state)
        return [call_design(who, "compact().pack()", packing.pack,
                            call_design(who, f"step() on {a.actor} {a.label()} at depth "
                                        f"{depth}", self.design.step, state, a))
                for a in actions]

    def dedup(self, inboxes: Sequence[Box]) -> list[int]:
        """Keep the keys sent here that are new, each with its smallest discovery key;
        return the winners' discovery keys, ascending."""
        seen = self.seen
        best: dict[int, int] = {}
        state_of: dict[int, int] = {}
        for keys, found, codes in (*inboxes[:self.index], self.own,
                                   *inboxes[self.index + 1:]):
            offered = dict(zip(keys, found, strict=True))
            state_of.update(zip(found, codes if self.canonical is not None else keys,
                                strict=True))
            if not best:
                best = offered
                continue
            for key in best.keys() & offered.keys():
                if offered[key] < best[key]:
                    best[key] = offered[key]
            offered.update(best)
            best = offered
        self.own = ([], [], [])
        if self.graded:
            seen.clear()
        new = best.keys() - seen
        seen.update(new)
        self.pending = sorted(map(best.__getitem__, new))
        self.pending_codes = list(map(state_of.__getitem__, self.pending))
        return self.pending

    def parent(self, number: int) -> tuple[int, int] | None:
        """The parent's number and the action index of a state this partition numbered
        (None: not one of its states)."""
        at = bisect.bisect_left(self.numbers, number)
        if at == len(self.numbers) or self.numbers[at] != number:
            return None
        return self.parents[at], self.choices[at]

    def cpu_seconds(self) -> float:
        """Processor time of the process hosting this partition (for benchmarks)."""
        return time.process_time()


def make_partition(index: int, count: int, job: Job) -> Partition | CompactPartition:
    """The partition a job needs: compact when the design offers the path and may use it."""
    design, _ = job.load()
    if uses_compact(design, job.settings):
        return CompactPartition(index, count, job)
    return Partition(index, count, job)
