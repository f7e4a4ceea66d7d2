"""The declared path: a design's own steps memoized on what each actor can see.

A design that declares its structure (``model.Structure``: which field holds the actors,
which fields they share, everything else constant) is searched over ints, as a packed
design is, with no packing written by hand. Each distinct shared memory (the tuple of
the shared fields) and each distinct actor value is interned once, with numbers in
order of first appearance (deterministic, since the search order is), and a state is
the int of those numbers side by side::

    code = a_0 | a_1 << B | ... | a_(K-1) << B(K-1) | shared << BK

An actor's actions and steps depend only on the pair (shared memory, its own value), by
the declaration, so the design's ``actions`` and ``step`` run once per pair (per actor
position too, unless the actors are interchangeable): every later transition from the
pair is one dictionary lookup and a few shifts. This is what Block-STM's hand-written
packing (``model/designs/block_stm_compact.py``) does, made generic.

Judging is memoized the same way. ``is_terminal`` and each state property are first
called on the state with its actors hidden, then with its shared fields hidden: a
hidden part raises on any use, so a call that returns has read only what was left, and
its answer holds for every state with that part (one call per distinct shared memory,
or per distinct tuple of actor values). A function that reads both is called on the
whole state. A state where any says "terminal" or "fails" is *notable*: the explorer
builds it and judges it the ordinary way, which words the violation.

The declaration is held to its word: a step that changes a constant field or another
actor's value is the design's bug when it first runs; each memoized step is run again
the first time it is reused (from another state) and must give the same successors;
with ``verify_all`` (the audit) it is run again on every reuse.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs

from shardcheck import model
from shardcheck.checker.design import call_design
from shardcheck.checker.errors import USER_CODE_FAILURES, DesignBug

ID_BITS = 24
"""Bits of one actor's number in a code (16.7 M distinct actor values a run)."""


class _Unseen(BaseException):
    """A hidden part of a state was used (a BaseException: a design's ``except
    Exception`` does not swallow it)."""


def _touch(self: _Hidden, *_args: Any, **_kwargs: Any) -> Any:
    raise _Unseen()


class _Hidden:
    """Stands in for a part of a state that a probe hides: any use of it raises."""

    __slots__ = ()
    __getattribute__ = _touch
    __getattr__ = _touch
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _touch
    __hash__ = _touch
    __bool__ = __len__ = __iter__ = __getitem__ = __contains__ = __reversed__ = _touch
    __int__ = __index__ = __float__ = __neg__ = __pos__ = __abs__ = __invert__ = _touch
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _touch
    __mod__ = __rmod__ = __floordiv__ = __rfloordiv__ = __truediv__ = __rtruediv__ = _touch
    __and__ = __rand__ = __or__ = __ror__ = __xor__ = __rxor__ = _touch
    __lshift__ = __rlshift__ = __rshift__ = __rrshift__ = __pow__ = __rpow__ = _touch
    __str__ = __repr__ = __format__ = __call__ = __enter__ = __exit__ = _touch


HIDDEN = _Hidden()

CLEAN, NOTABLE, BOTH = 0, 1, 2
"""What a probe says of a judged function: holds (not terminal, property holds), says
"look at this state" (terminal, or the property fails or raises), or reads both parts."""


def structure_misfit(design: object, initial: Any) -> str | None:
    """None when ``design`` declares a structure its initial state fits, else why not."""
    if not isinstance(design, model.Structured):
        return "the design declares no structure"
    structure = design.structure
    if not isinstance(structure, model.Structure):
        return "its structure attribute is not a model.Structure"
    cls = type(initial)
    if not attrs.has(cls):
        return f"its state {cls.__name__} is not an attrs class"
    names = {f.name for f in attrs.fields(cls)}
    for name in (structure.actors, *(structure.shared or ()), *structure.constant):
        if name not in names:
            return f"its structure names {name!r}, which {cls.__name__} has no field for"
    if structure.actors in (*(structure.shared or ()), *structure.constant):
        return f"its structure lists {structure.actors!r} both as the actors and another part"
    if not isinstance(getattr(initial, structure.actors), tuple):
        return f"{cls.__name__}.{structure.actors} (the actors) is not a tuple"
    return None


class Declared:
    """One run's states as ints, built from the design's declared structure.

    ``successors(code)`` gives the codes ``actions(state)`` leads to, in order;
    ``notable(code)`` whether the state must be judged the ordinary way; ``unpack`` builds
    the state; ``canonical`` sorts interchangeable actors' numbers.
    """

    def __init__(self, design: model.Design, initial: Any,
                 state_properties: Sequence[model.Property], check_value: Callable[[Any], Any],
                 verify_all: bool = False) -> None:
        assert isinstance(design, model.Structured)
        structure = design.structure
        self.design = design
        self.who = f"design {design.name!r}"
        self.initial = initial
        self.cls = type(initial)
        self.fields = tuple(f.name for f in attrs.fields(self.cls))
        self.actors_field = structure.actors
        self.shared_fields = tuple(
            n for n in self.fields if n != structure.actors and n not in structure.constant
        ) if structure.shared is None else structure.shared
        self.constants = tuple(n for n in self.fields
                               if n != structure.actors and n not in self.shared_fields)
        self.k = k = len(getattr(initial, structure.actors))
        self.names = tuple(structure.names.format(i) for i in range(k))
        self.index_of = {name: i for i, name in enumerate(self.names)}
        self.interchangeable = structure.interchangeable
        self.check_value = check_value
        self._direct = self._builds_directly()
        self.verify_all = verify_all
        self.mask = (1 << ID_BITS) - 1
        self.shared_shift = k * ID_BITS
        self.slots = tuple(i * ID_BITS for i in range(k))
        self.actors_mask = (1 << self.shared_shift) - 1
        self._shared_ids: dict[tuple[Any, ...], int] = {}
        self.shared_values: list[tuple[Any, ...]] = []
        self._actor_ids: dict[Any, int] = {}
        self.actor_values: list[Any] = []
        # (shared << ID_BITS | actor) * K + position (position 0 when interchangeable)
        # -> the successors' (shared << ID_BITS | actor), one per action of the actor.
        self.memo: dict[int, tuple[int, ...]] = {}
        # The same, for entries computed once and not yet reused: (entry, origin code).
        self.fresh: dict[int, tuple[tuple[int, ...], int]] = {}
        # (shared << ID_BITS | actor) << position_bits | position -> what each of the
        # actor's successors adds to the code: the hot path's one lookup.
        self.position_bits = max(1, (k - 1).bit_length())
        self.deltas: dict[int, tuple[int, ...]] = {}
        self.judged: tuple[Callable[[Any], Any], ...] = (
            design.is_terminal, *(p.check for p in state_properties))
        self._by_shared: dict[int, int | tuple[int, ...]] = {}
        # shared << ID_BITS | first actor -> CLEAN, NOTABLE or what is pending (``front``).
        self.fronts: dict[int, int | tuple[int, ...]] = {}
        self._by_position: list[list[dict[int, int]]] = [
            [{} for _ in range(k)] for _ in self.judged]
        self._by_actors: list[dict[int, int]] = [{} for _ in self.judged]
        self.computed = 0  # runs of the design's step (first runs and checks)
        self.successors = self._build_successors()
        self.canonical: Callable[[int], int] = (
            model.field_sorter(self.slots, self.mask, ~self.actors_mask)
            if self.interchangeable else _same)

    # Interning ---------------------------------------------------------------------------

    def _intern_shared(self, shared: tuple[Any, ...]) -> int:
        found = self._shared_ids.get(shared)
        if found is None:
            for value in shared:
                self.check_value(value)
            found = self._shared_ids[shared] = len(self.shared_values)
            self.shared_values.append(shared)
        return found

    def _intern_actor(self, actor: Any) -> int:
        found = self._actor_ids.get(actor)
        if found is None:
            found = len(self.actor_values)
            if found > self.mask:
                raise DesignBug(f"{self.who}: more than {self.mask + 1:,} distinct actor "
                                "values in one run: search it with --no-compact")
            self.check_value(actor)
            self._actor_ids[actor] = found
            self.actor_values.append(actor)
        return found

    def pack(self, state: Any) -> int:
        """The int a state packs into (interning any part not seen before)."""
        for name in self.constants:
            if getattr(state, name) != getattr(self.initial, name):
                raise DesignBug(f"{self.who}: {self.cls.__name__}.{name} changed, but its "
                                "structure declares it neither shared nor an actor's")
        code = self._intern_shared(
            tuple(getattr(state, f) for f in self.shared_fields)) << self.shared_shift
        actors = getattr(state, self.actors_field)
        if len(actors) != self.k:
            raise DesignBug(f"{self.who}: {self.cls.__name__}.{self.actors_field} went from "
                            f"{self.k} actors to {len(actors)}")
        for shift, actor in zip(self.slots, actors, strict=True):
            code |= self._intern_actor(actor) << shift
        return code

    def unpack(self, code: int) -> Any:
        """The state an int stands for."""
        shared = self.shared_values[code >> self.shared_shift]
        actors = tuple(self.actor_values[(code >> s) & self.mask] for s in self.slots)
        if self._direct:
            return self._probe(shared, actors)
        changes = dict(zip(self.shared_fields, shared, strict=True))
        changes[self.actors_field] = actors
        return attrs.evolve(self.initial, **changes)

    def _probe(self, shared: tuple[Any, ...] | None, actors: tuple[Any, ...] | None) -> Any:
        """A state with these parts (a part given as None is hidden), built field by field
        without the class's ``__init__``: its converters would use a hidden part, and the
        parts are values the class built before."""
        probe = object.__new__(self.cls)
        for name in self.constants:
            object.__setattr__(probe, name, getattr(self.initial, name))
        for index, name in enumerate(self.shared_fields):
            object.__setattr__(probe, name, HIDDEN if shared is None else shared[index])
        object.__setattr__(probe, self.actors_field, HIDDEN if actors is None else actors)
        return probe

    def _builds_directly(self) -> bool:
        """Whether a state built field by field is the state ``__init__`` builds (no
        ``__attrs_post_init__``, no cached hash): then ``unpack`` builds it so, 3-4 times
        faster than ``attrs.evolve``."""
        if hasattr(self.cls, "__attrs_post_init__"):
            return False
        shared = tuple(getattr(self.initial, f) for f in self.shared_fields)
        try:
            built = self._probe(shared, getattr(self.initial, self.actors_field))
            return bool(built == self.initial and hash(built) == hash(self.initial))
        except Exception:
            return False

    # Steps ---------------------------------------------------------------------------------

    def _actions(self, state: Any) -> list[list[model.Action]]:
        """``actions(state)`` by actor, checked to come actor by actor in actor order."""
        acts = call_design(self.who, "actions()", self.design.actions, state)
        grouped: list[list[model.Action]] = [[] for _ in range(self.k)]
        last = 0
        for action in acts:
            i = self.index_of.get(action.actor)
            if i is None:
                raise DesignBug(f"{self.who}: action {action.actor} {action.label()} names "
                                f"no actor of its structure ({', '.join(self.names)})")
            if i < last:
                raise DesignBug(f"{self.who}: actions() lists {action.actor}'s action "
                                f"{action.label()} after {self.names[last]}'s; a structured "
                                "design lists its actors' actions actor by actor, in order")
            last = i
            grouped[i].append(action)
        return grouped

    def _step_actor(self, state: Any, i: int, acts: Sequence[model.Action]) -> tuple[int, ...]:
        """Actor ``i``'s successors from ``state``, as (shared << ID_BITS | actor) ids."""
        self.computed += len(acts)
        out = []
        before = getattr(state, self.actors_field)
        for action in acts:
            try:
                after = self.design.step(state, action)
            except USER_CODE_FAILURES as exc:
                raise DesignBug(f"{self.who}: step() on {action.actor} {action.label()} "
                                f"raised {type(exc).__name__}: {exc}") from None
            for name in self.constants:
                if getattr(after, name) is not getattr(state, name) and \
                        getattr(after, name) != getattr(state, name):
                    raise DesignBug(
                        f"{self.who}: {action.actor}'s {action.label()} changed "
                        f"{self.cls.__name__}.{name}, which its structure declares "
                        "neither shared nor an actor's")
            moved = getattr(after, self.actors_field)
            for j in range(self.k):
                if j != i and moved[j] is not before[j] and moved[j] != before[j]:
                    raise DesignBug(
                        f"{self.who}: {action.actor}'s {action.label()} changed "
                        f"{self.names[j]}'s value; by its structure an actor's step "
                        "changes only its own value and the shared fields")
            shared = self._intern_shared(tuple(getattr(after, f) for f in self.shared_fields))
            out.append(shared << ID_BITS | self._intern_actor(moved[i]))
        return tuple(out)

    def _slow(self, code: int, i: int, key: int) -> tuple[int, ...]:
        """A memo miss for actor ``i``: the state is built once, and every actor's entry
        it lacks is made: run for the first time, or run again on its first reuse and
        compared (every reuse, under ``verify_all``)."""
        fresh = self.fresh.get(key)
        if fresh is not None and fresh[1] == code:
            return fresh[0]  # made from this very state, a moment ago
        state = self.unpack(code)
        grouped = self._actions(state)
        for j in range(self.k):
            other = self._key(code, j)
            if other in self.memo:
                continue
            before = self.fresh.get(other)
            if before is not None and before[1] == code:
                continue
            result = self._step_actor(state, j, grouped[j])
            if before is None:
                self.fresh[other] = (result, code)
                continue
            entry, origin = before
            if entry != result:
                raise DesignBug(
                    f"{self.who}: {self.names[j]}, in the same shared memory and with the "
                    "same value of its own, took different steps in two states, so its "
                    "actions or steps read something its structure does not declare "
                    f"(another actor's value?): with {self._describe(origin)} it had "
                    f"{len(entry)} successor(s), with {self._describe(code)} {len(result)}"
                    + ("" if len(entry) != len(result) else ", not the same ones"))
            if not self.verify_all:
                del self.fresh[other]
                self.memo[other] = result
        # (Interchangeable actors with equal values share one entry.)
        made = self.memo.get(key)
        return made if made is not None else self.fresh[key][0]

    def _describe(self, code: int) -> str:
        state = self.unpack(code)
        return f"{self.actors_field} = {getattr(state, self.actors_field)!r}"

    def _key(self, code: int, i: int) -> int:
        actor = (code >> self.slots[i]) & self.mask
        pair = (code >> self.shared_shift) << ID_BITS | actor
        return pair * self.k + (0 if self.interchangeable else i)

    def moves(self, code: int, i: int, key: int) -> tuple[int, ...]:
        """Actor ``i``'s successors from ``code`` as what each adds to the code, cached
        under ``key`` (``deltas``) once the step is verified."""
        pair = key >> self.position_bits
        memo_key = self._key(code, i)
        moves = self.memo.get(memo_key)
        verified = moves is not None
        if moves is None:
            moves = self._slow(code, i, memo_key)
            verified = memo_key in self.memo
        shared, actor = pair >> ID_BITS, pair & self.mask
        if not verified:
            return self._shifted(moves, shared, actor, self.slots[i])
        # Verified: the same pair at every position it can take shares the entry.
        positions = range(self.k) if self.interchangeable else (i,)
        for position in positions:
            self.deltas[pair << self.position_bits | position] = self._shifted(
                moves, shared, actor, self.slots[position])
        return self.deltas[key]

    def _shifted(self, moves: tuple[int, ...], shared: int, actor: int,
                 shift: int) -> tuple[int, ...]:
        return tuple(((m >> ID_BITS) - shared << self.shared_shift)
                     + ((m & self.mask) - actor << shift) for m in moves)

    def _build_successors(self) -> Callable[[int], list[int]]:
        # A closure over the tables: the hot loop reads locals, not attributes.
        shared_shift, mask, bits = self.shared_shift, self.mask, self.position_bits
        slots = tuple(enumerate(self.slots))
        deltas_get, slow = self.deltas.get, self.moves

        def successors(code: int) -> list[int]:
            base = (code >> shared_shift) << ID_BITS
            out = []
            for i, shift in slots:
                key = (base | (code >> shift) & mask) << bits | i
                moved = deltas_get(key)
                if moved is None:
                    moved = slow(code, i, key)
                for delta in moved:
                    out.append(code + delta)
            return out

        return successors

    # Judging -------------------------------------------------------------------------------

    def notable(self, code: int, pending: tuple[int, ...]) -> bool:
        """Whether the state may be terminal or break a state property (judge it fully),
        by the judged functions ``front`` left pending.

        Each is asked, in turn, with all but one actor hidden, the shared fields too (per
        position and actor value), with the shared fields hidden (per tuple of actor
        values), and last on the whole state: the first answer that did not need the
        hidden part holds.
        """
        state = None
        for index in pending:
            found = BOTH
            for position, memo in enumerate(self._by_position[index]):
                actor = (code >> self.slots[position]) & self.mask
                found = memo.get(actor, -1)
                if found < 0:
                    found = memo[actor] = self._judge_alone(index, position, actor)
                if found != BOTH:
                    break
            if found == BOTH:
                actors = code & self.actors_mask
                memo = self._by_actors[index]
                found = memo.get(actors, -1)
                if found < 0:
                    found = memo[actors] = self._judge_actors(index, actors)
            if found == BOTH:  # reads both parts: called on the whole state
                if state is None:
                    state = self.unpack(code)
                found = self._judge(index, state)
            if found == NOTABLE:
                return True
        return False

    def front(self, code: int) -> int | tuple[int, ...]:
        """The verdict for every state with this shared memory and this first actor,
        memoized in ``fronts`` under ``front_key``: CLEAN or NOTABLE when they decide it,
        else the judged functions (by index) that ``notable`` must still ask."""
        verdict = self._by_shared.get(code >> self.shared_shift)
        if verdict is None:
            verdict = self._judge_shared(code >> self.shared_shift)
        if verdict.__class__ is tuple:
            values: list[Any] = [HIDDEN] * self.k
            values[0] = self.actor_values[code & self.mask]
            probe = self._probe(self.shared_values[code >> self.shared_shift], tuple(values))
            pending: list[int] = []
            for index in verdict:
                found = self._judge(index, probe)
                if found == NOTABLE:
                    pending = []
                    verdict = NOTABLE
                    break
                if found == BOTH:
                    pending.append(index)
            else:
                verdict = tuple(pending) if pending else CLEAN
        self.fronts[(code >> self.shared_shift) << ID_BITS | code & self.mask] = verdict
        return verdict

    def _judge(self, index: int, state: Any) -> int:
        """What one judged function says of a (possibly partly hidden) state."""
        try:
            answer = self.judged[index](state)
        except _Unseen:
            return BOTH
        except USER_CODE_FAILURES:
            return NOTABLE  # judged in full, where its error is reported
        if index == 0:  # is_terminal
            return NOTABLE if answer else CLEAN
        return CLEAN if answer is None else NOTABLE

    def _judge_shared(self, shared: int) -> int | tuple[int, ...]:
        probe = self._probe(self.shared_values[shared], None)
        pending = []
        for index in range(len(self.judged)):
            found = self._judge(index, probe)
            if found == NOTABLE:
                self._by_shared[shared] = NOTABLE
                return NOTABLE
            if found == BOTH:
                pending.append(index)
        verdict: int | tuple[int, ...] = tuple(pending) if pending else CLEAN
        self._by_shared[shared] = verdict
        return verdict

    def _judge_alone(self, index: int, position: int, actor: int) -> int:
        values = [HIDDEN] * self.k
        values[position] = self.actor_values[actor]
        return self._judge(index, self._probe(None, tuple(values)))

    def _judge_actors(self, index: int, actors: int) -> int:
        values = tuple(self.actor_values[(actors >> s) & self.mask] for s in self.slots)
        return self._judge(index, self._probe(None, values))


def _same(code: int) -> int:
    return code
