"""The one interface between a design and everything that checks it.

A design is a transition system. Everything nondeterministic is an ``Action`` the
explorer chooses among ``actions(state)``; ``step`` is a pure function, so the same
initial state and the same action sequence always give the same run. That single rule
is what makes exhaustive search, fuzzing, shrinking and replay one machinery.

The design protocol ``Design`` below carries a complete toy design in its docstring;
``model/designs/serial.py`` is the same toy as a built-in, and ``docs/tutorial.md``
writes a design with a real bug from an empty file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, Protocol, cast, runtime_checkable

import attrs

from shardcheck.model.language import Transaction
from shardcheck.model.store import Store

ParamValue = int | str | bool | None


def _param_tuple(
    params: Iterable[tuple[str, ParamValue]] | Mapping[str, ParamValue],
) -> tuple[tuple[str, ParamValue], ...]:
    # Kept in the order the design gives them (it reads better in timelines); a design
    # builds its actions deterministically, so the order is part of the action.
    items = params.items() if isinstance(params, Mapping) else params
    return tuple(items)


def _names(names: Iterable[str]) -> frozenset[str]:
    return frozenset(names)


@attrs.frozen
class Action:
    """One atomic step an actor can take.

    ``actor`` names who moves (``w1``, ``replica b of m0``, ``network``); ``name`` and
    ``params`` say what it does. ``reads`` and ``writes`` are its footprint: the shared
    objects it reads and writes, so a checker can tell independent actions apart
    without knowing the design. A range read must list every key the range can cover
    (``model.block_keys`` gives every key a block can touch), or a reduction could treat
    it as independent of a write into the range. Two actions are the same action exactly when all of
    these are equal, and ``to_json``/``from_json`` round-trip them exactly.
    """

    actor: str
    name: str
    params: tuple[tuple[str, ParamValue], ...] = attrs.field(default=(), converter=_param_tuple)
    reads: frozenset[str] = attrs.field(default=frozenset(), converter=_names)
    writes: frozenset[str] = attrs.field(default=frozenset(), converter=_names)

    def param(self, key: str) -> ParamValue:
        """The value of one parameter."""
        for k, v in self.params:
            if k == key:
                return v
        raise KeyError(key)

    def label(self) -> str:
        """A short human-readable description: ``name k=v ...``."""
        if not self.params:
            return self.name
        args = " ".join(f"{k}={v}" for k, v in self.params)
        return f"{self.name} {args}"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; ``from_json`` inverts it exactly."""
        return {
            "actor": self.actor,
            "name": self.name,
            "params": {k: v for k, v in self.params},
            "reads": sorted(self.reads),
            "writes": sorted(self.writes),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Action:
        """Rebuild an action from ``to_json`` output."""
        return cls(
            actor=data["actor"],
            name=data["name"],
            params=tuple(data.get("params", {}).items()),
            reads=frozenset(data.get("reads", ())),
            writes=frozenset(data.get("writes", ())),
        )

    def conflicts_with(self, other: Action) -> bool:
        """True when the footprints overlap with at least one write."""
        return bool(
            self.writes & (other.reads | other.writes) or other.writes & self.reads
        )


@attrs.frozen
class Workload:
    """A block of transactions and the store it starts from, built from a spec string."""

    spec: str
    block: tuple[Transaction, ...]
    initial: Store
    params: tuple[tuple[str, int | str], ...] = ()
    """Every generator parameter, defaults included, in declaration order."""

    def param(self, name: str, default: int | str | None = None) -> int | str:
        """One generator parameter (``replicas``, ``f``, ...); ``default`` when absent."""
        for key, value in self.params:
            if key == name:
                return value
        if default is None:
            raise KeyError(f"workload {self.spec!r} has no parameter {name!r}")
        return default


@attrs.frozen
class Config:
    """What a design is run on: the workload and the number of workers."""

    workload: Workload
    workers: int = 2

    def describe(self) -> str:
        """One line for report headers."""
        return f"workload {self.workload.spec}, {self.workers} worker(s)"


ReadKind = Literal["read", "exists", "scan"]


@attrs.frozen
class ReadRecord:
    """One read a transaction made: what it saw and which transaction wrote it.

    ``writer`` is the index of the transaction whose write was read, or None for the
    initial store. ``value`` is the key's value (for ``exists``: 1 present, 0 absent).
    A scan contributes one record per key it found.
    """

    kind: ReadKind
    key: str
    value: int
    writer: int | None


TxStatus = Literal["committed", "reverted"]


@attrs.frozen
class TxRecord:
    """What one transaction did in the committed result."""

    index: int
    status: TxStatus
    reads: tuple[ReadRecord, ...]
    writes: tuple[tuple[str, int], ...]


@attrs.frozen
class Outcome:
    """The committed result of a finished run, which outcome properties judge."""

    store: Store
    order: tuple[int, ...]
    transactions: tuple[TxRecord, ...]

    @property
    def state_roots(self) -> tuple[tuple[str, str], ...]:
        """Per-module state roots of the final store."""
        return self.store.state_roots()


PropertyKind = Literal["state", "terminal"]


@attrs.frozen
class Property:
    """A design's own safety check.

    ``check`` returns None when the state is fine and a readable message when not.
    ``state`` properties are checked in every reachable state, ``terminal`` ones in
    every terminal state.
    """

    name: str
    description: str
    kind: PropertyKind
    check: Callable[[Any], str | None] = attrs.field(eq=False)


@attrs.frozen
class KnownFailure:
    """A configuration on which a mutant is known to fail, and what finds it."""

    workload: str
    workers: int
    property: str
    steps: int


@runtime_checkable
class Design(Protocol):
    """A scheduler design: a deterministic transition system over immutable states.

    States must be immutable values built from ints, strings, booleans, None, tuples,
    frozensets, enums and attrs classes, so that ``model.fingerprint`` can encode them.
    ``actions`` returns the enabled actions in a deterministic order. The design object
    never sees the configuration except in ``initial``: what a run needs throughout (the
    block, its keys) travels in the state inside a ``Constant``, which fingerprints as
    one digest. A complete toy, one worker running the block in order::

        import attrs
        from shardcheck.model import (Action, Constant, Outcome, Store, Transaction, TxRecord,
                           execute_transaction)

        @attrs.frozen
        class ToyState:
            block: Constant[tuple[Transaction, ...]]
            store: Store
            writers: tuple[tuple[str, int], ...]   # key -> last writer, sorted
            done: tuple[TxRecord, ...]

        class Toy:
            name = "toy"
            summary = "one worker runs the block in order, a transaction per action"

            def initial(self, config):
                return ToyState(Constant(config.workload.block), config.workload.initial,
                                (), ())

            def actions(self, state):
                if self.is_terminal(state):
                    return ()
                return (Action("w0", "execute", {"tx": len(state.done)},
                               writes={"store"}),)

            def step(self, state, action):
                writers = dict(state.writers)
                tx = state.block.value[len(state.done)]
                record, store = execute_transaction(tx, state.store, writers)
                return ToyState(state.block, store, tuple(sorted(writers.items())),
                                (*state.done, record))

            def is_terminal(self, state):
                return len(state.done) == len(state.block.value)

            def outcome(self, state):
                return Outcome(state.store, tuple(r.index for r in state.done), state.done)

            def properties(self):
                return ()

            def mutants(self):
                return ()
    """

    name: str
    summary: str

    def initial(self, config: Config) -> Any:
        """The state before any action; raises ``model.WorkloadError`` (reported to the
        user as bad input, exit 2) for a workload the design cannot run."""

    def actions(self, state: Any) -> Sequence[Action]:
        """The enabled actions, in a deterministic order (empty when none is)."""

    def step(self, state: Any, action: Action) -> Any:
        """The state after ``action``; pure."""

    def is_terminal(self, state: Any) -> bool:
        """True when the run has finished and ``outcome`` may be judged."""

    def outcome(self, state: Any) -> Outcome:
        """The committed result of a terminal state."""

    def properties(self) -> Sequence[Property]:
        """The design's own safety properties (may be empty)."""

    def mutants(self) -> Sequence[Mutant]:
        """Known-buggy variants of the design (may be empty)."""


CRITERIA: tuple[str, ...] = ("serial-equivalence", "serializable", "view-serializable",
                             "preset-order", "global-order")
"""The correctness criteria a design can be judged by at its terminal states.

``serial-equivalence`` (the default) compares the outcome with serial execution of the
block, reverts and all. The others judge the outcome's history (each transaction's reads
with their writers, and its writes): ``serializable`` (conflict serializable),
``view-serializable`` (some serial order explains every read and the final store),
``preset-order`` (the block order does), ``global-order`` (every module's sub-history is
serializable and one order serves all modules). A design that commits in whatever order
validation allows declares ``criteria = ("view-serializable",)`` as a class attribute;
one whose own properties say everything (a consensus protocol) declares ``criteria = ()``.
"""

DEFAULT_CRITERIA: tuple[str, ...] = ("serial-equivalence",)


def design_criteria(design: object) -> tuple[str, ...]:
    """The criteria a design declares (its optional ``criteria`` attribute), or the default."""
    declared = getattr(design, "criteria", DEFAULT_CRITERIA)
    return tuple(declared)


@runtime_checkable
class Symmetric(Protocol):
    """A design whose actors are interchangeable (identical workers) says so by picking,
    for any state, one representative of the states that differ only by a renaming of
    those actors. Two states with the same representative are the same for every
    property, so the explorer visits one of them.

    ``canonical`` must map every state of such a class to the same state (sorting the
    workers, say), and the design's properties must not depend on which actor is which.
    """

    def canonical(self, state: Any) -> Any:
        """The representative of ``state``'s class under renaming interchangeable actors."""


@runtime_checkable
class Compact(Protocol):
    """The optional fast path of a design: its states as ints, successors computed on ints.

    A design offers it with a method ``compact(initial) -> Compact``, called once per run
    with the run's initial state (so a packing can depend on the configuration the state
    carries). The explorer then keeps ints in its frontier and visited set, never builds
    an ``Action`` or a state object on the hot path, and goes back to the design's
    ordinary methods wherever it needs them: to judge a *notable* state (terminal, or
    one where a property may fail) and to rebuild a counterexample path, which is
    therefore an ordinary run of ``actions`` and ``step``. The ordinary interface stays
    the definition: ``shardcheck explore --audit`` runs both paths and compares them,
    and ``--no-compact`` uses the ordinary path alone. ``model/designs/bank.py`` is a
    complete example.

    The contract, for every reachable state ``s`` and ``c = pack(s)``:

    - ``unpack(pack(s)) == s``, and ``pack`` is injective (the int is the visited-set
      key, so the compact path has no fingerprint collisions at all);
    - ``successors(c)`` is ``[pack(step(s, a)) for a in actions(s)]``, in the same order,
      or None when the state is *notable*: None whenever ``is_terminal(s)``, and whenever
      a ``state`` property of ``properties()`` might fail in ``s``. The explorer unpacks a
      notable state, judges it the ordinary way and, when it is not terminal, takes its
      successors the ordinary way too; a list promises the state is not terminal and
      every state property holds;
    - ``canonical(c) == canonical(d)`` exactly when ``s`` and ``unpack(d)`` are renamings
      of each other (for a ``Symmetric`` design; otherwise return ``c``).
    """

    def pack(self, state: Any) -> int:
        """The int a state packs into."""

    def unpack(self, code: int) -> Any:
        """The state an int stands for."""

    def successors(self, code: int) -> Sequence[int] | None:
        """The packed states ``actions(state)`` lead to, in their order; None if notable."""

    def canonical(self, code: int) -> int:
        """One packed representative per renaming of interchangeable actors."""


@runtime_checkable
class Persistent(Protocol):
    """A packing (``Compact``) that can name, in a state, one action that alone is a
    *persistent set* (Godefroid, LNCS 1032, ch. 4): the explorer then takes that action
    only, and skips the states the other interleavings would have visited.

    ``persistent(c)`` returns an index into ``successors(c)`` (for a state whose
    ``successors`` is a list), or -1 for "take them all". An index ``i`` promises, for the
    action ``t = actions(s)[i]`` of actor ``w``:

    - *persistence*: every action any other actor can take from ``s``, in any run that
      does not take ``t`` first, is independent of ``t`` (a different actor, and
      footprints without a conflict); and ``t`` stays enabled, the same action, meanwhile;
    - *invisibility*: ``t`` changes nothing a ``state`` property reads (a terminal property
      is safe anyway: every terminal state stays reachable);
    - the design's state graph has no cycle (every run ends), which makes the cycle
      proviso hold without a check.

    Under these, every terminal state (up to renaming) is still reached and every
    violation of a state property is still found (the ample-set conditions C0 to C3),
    though perhaps by a longer path. States are skipped, so the state count drops; the
    audit (``explore --audit``) holds the reduction to the verdict and the terminal
    outcomes of the search without it.
    """

    def persistent(self, code: int) -> int:
        """The index of one action that alone is a persistent set, or -1."""


@runtime_checkable
class Graded(Protocol):
    """A packing (``Compact``) whose state graph is *graded*: every run from the initial
    state to a state has the same number of steps, its ``grade``.

    Breadth-first search then meets a state only in the level of its grade, so a level's
    states can be forgotten once the next level is built: the visited set holds one
    level, not the whole search (the sweep-line method of Christensen, Kristensen and
    Mailund, TACAS 2001, with the grade as its progress measure). Counts, verdicts and
    counterexamples are unchanged. The explorer checks ``grade`` against the depth on a
    sample of the states it expands and on every state it judges, and a design whose
    claim is wrong is reported as the design's bug; the audit compares the state count
    with the search that keeps every key.
    """

    def grade(self, code: int) -> int:
        """The number of steps of every run from the initial state to this state."""


@runtime_checkable
class Compactable(Protocol):
    """A design that offers the compact fast path (see ``Compact``).

    A packing may number what it meets as a run goes (hash-consing, as Block-STM's and
    bft's do), so that its ints mean something only in the process that packed them. A
    design whose ints depend on the state alone (bit fields, as the bank's) says so with
    the class attribute ``portable_packing = True``: a parallel search (``--jobs``) then
    ships packed states between its processes; any other compact design is searched in
    parallel on the ordinary path.
    """

    def compact(self, initial: Any) -> Compact:
        """The packing for the run that starts in ``initial``."""


def _field_tuple(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(names)


@attrs.frozen(kw_only=True)
class Structure:
    """What a design declares about its states so that the explorer can memoize its steps.

    A state is a frozen attrs instance. One of its fields holds one value per actor, a
    tuple (``actors``); ``shared`` names the fields every actor may read and write; every
    other field is constant for the whole run (the block, say). Or the other way round:
    ``constant`` names the fields that never change, and every other field is shared
    (``Structure(actors="workers", constant=("block",))``, as a variant of Block-STM can
    declare, so that a subclass's own state fields count as shared). The declaration
    promises:

    - an actor's enabled actions and their steps depend on its own value, the shared
      fields and the constant ones only, never on another actor's value;
    - a step of actor ``i`` changes only actor ``i``'s value and the shared fields;
    - ``actions(state)`` lists the actors' actions actor by actor, in actor order, and
      actor ``i`` is named ``names.format(i)`` in them (``w0``, ``w1``, ... by default);
    - with ``interchangeable``, any reordering of the actors is a renaming that changes
      nothing a property reads (as for ``Symmetric``: the design's ``canonical`` must pick
      one state per reordering), and an actor's step does not depend on its position.

    The explorer then keeps each distinct shared memory and each distinct actor value
    once, a state as the numbers of its parts, and runs the design's ``step`` once per
    distinct (shared memory, actor value) pair: every later transition from that pair
    is a dictionary lookup (the generic form of what a hand-written ``Compact`` packing
    does). State properties and ``is_terminal`` are evaluated once per distinct shared
    memory when they read no actor, and once per distinct tuple of actor values when
    they read no shared field (the explorer finds out by hiding the other part: a hidden
    part raises on any use, so a property must not test a whole field with ``is`` alone
    or swallow every exception with a bare ``except:``).

    The declaration is checked. A step that changes a constant field or another actor's
    value is reported as the design's bug when it is first run; each memoized step is run
    again the first time it is reused, from another state, and a different result is
    reported the same way (the step read something it did not declare); ``explore
    --audit`` runs every memoized step again on every reuse and compares the whole search
    with the ordinary one. ``--no-compact`` searches without the declaration.

    A complete design with its declaration: K workers each add one to a shared counter,
    reading it in one action and writing it in the next, with no lock (so an update can
    be lost). The last line of the class body is all that the declared path needs::

        import attrs
        from shardcheck.model import (Action, Outcome, Property, Store, Structure,
                                      Transaction)

        @attrs.frozen
        class Adder:
            pc: str = "read"          # read, write, done
            seen: int = 0             # the value read (0 when dead)

        @attrs.frozen
        class AddState:
            block: tuple[Transaction, ...]   # constant: never changes in a run
            counter: int                     # shared
            adders: tuple[Adder, ...]        # one value per actor: w0, w1, ...

        class Adders:
            name = "adders"
            summary = "K workers add one to a counter, read then write, no lock"
            criteria = ()
            structure = Structure(actors="adders", shared=("counter",), interchangeable=True)

            def initial(self, config):
                return AddState(config.workload.block, 0, (Adder(),) * config.workers)

            def actions(self, state):
                return tuple(Action(f"w{i}", adder.pc, reads={"counter"},
                                    writes={"counter"} if adder.pc == "write" else ())
                             for i, adder in enumerate(state.adders) if adder.pc != "done")

            def step(self, state, action):
                i = int(action.actor[1:])
                adder = state.adders[i]
                if adder.pc == "read":
                    moved, counter = Adder("write", state.counter), state.counter
                else:
                    moved, counter = Adder("done"), adder.seen + 1
                adders = (*state.adders[:i], moved, *state.adders[i + 1:])
                return attrs.evolve(state, counter=counter, adders=adders)

            def is_terminal(self, state):
                return all(adder.pc == "done" for adder in state.adders)

            def outcome(self, state):
                return Outcome(Store({"counter": state.counter}), (), ())

            def properties(self):
                def every_add_counted(state):
                    if self.is_terminal(state) and state.counter != len(state.adders):
                        return f"counter is {state.counter}: an update was lost"
                    return None
                return (Property("every-add", "no update is lost", "terminal",
                                 every_add_counted),)

            def mutants(self):
                return ()

    Each (counter value, adder value) pair is stepped once; ``is_terminal`` is asked once
    per tuple of adders (it reads no shared field). ``benchmarks/bank_user.py`` is the
    bank benchmark written the same way (``BankUserDeclared``).
    """

    actors: str
    """The state field holding one value per actor (a tuple)."""
    shared: tuple[str, ...] | None = attrs.field(
        default=None, converter=attrs.converters.optional(_field_tuple))
    """The state fields the actors share; every other field is constant. None: every
    field but the actors and ``constant`` (so that a subclass's added fields are shared)."""
    constant: tuple[str, ...] = attrs.field(default=(), converter=_field_tuple)
    """With ``shared=None``, the fields that never change in a run."""
    names: str = "w{}"
    """How actor ``i`` is named in its actions (``str.format`` with ``i``)."""
    interchangeable: bool = False
    """Whether every reordering of the actors is a symmetry of the design."""


@runtime_checkable
class Structured(Protocol):
    """A design that declares its structure (``Structure``) in the class attribute
    ``structure``; a subclass inherits it, and the checks above hold it to its word."""

    structure: Structure


def portable_packing(design: object) -> bool:
    """Whether a design's packed states mean the same state in every process."""
    return (packing_fits(design) is None
            and getattr(design, "portable_packing", False) is True)


def packing_fits(design: object) -> str | None:
    """None when the explorer may use the design's packing (``Compactable``), else why not.

    A packing is written for one class: it packs that class's state fields and memoizes
    that class's steps. A subclass that overrides a step, adds a field or changes a rule
    would be explored with the base class's behaviour if it inherited the packing, so it
    does not: a subclass uses the packing only when its own class body declares
    ``compact_fits = True`` (inherited declarations do not count), which says that the
    packing still describes it exactly. Properties the subclass adds or overrides are then
    checked on every state, on the packed path too (see ``packing_properties``).
    """
    if not isinstance(design, Compactable):
        return "the design has no packed path"
    cls = type(design)
    owner = next(c for c in cls.__mro__ if "compact" in vars(c))
    if owner is cls or vars(cls).get("compact_fits", False) is True:
        return None
    return (f"{cls.__name__} inherits {owner.__name__}'s packed path, which describes "
            f"{owner.__name__} only; if the packing still fits {cls.__name__} exactly, "
            f"declare compact_fits = True in its class body")


def packing_properties(design: Design) -> frozenset[str]:
    """The names of the state properties a design's packing knows how to flag.

    A packing promises that a state it does not flag satisfies every state property of
    the class it was written for. A subclass that declares ``compact_fits`` may add or
    override properties; those are not covered by that promise, so the explorer checks
    them on every packed state. A property is covered when the class that defines
    ``compact`` lists it under the same name with the same check: the same function, or
    for a method, the method that class itself would call (not an override).
    """
    owner = next(c for c in type(design).__mro__ if "compact" in vars(c))
    listed = cast("Callable[[Design], Sequence[Property]]", owner.properties)  # type: ignore[attr-defined]
    theirs = {p.name: p.check for p in listed(design)}

    def covered(prop: Property) -> bool:
        if prop.name not in theirs:
            return False
        function = getattr(prop.check, "__func__", None)
        if function is None or getattr(prop.check, "__self__", None) is not design:
            return prop.check is theirs[prop.name]
        return getattr(owner, function.__name__, None) is function

    return frozenset(p.name for p in design.properties() if p.kind == "state" and covered(p))


DEFAULT_WORKLOAD = "counter:txs=3,keys=1"
"""The workload a design runs on when it declares none and the user gives none."""

DEFAULT_WORKERS = 2


def default_workload(design: object) -> str:
    """The spec a design runs on by default: its ``default_workload`` class attribute, a
    workload that fits it and can show its bugs, or ``DEFAULT_WORKLOAD``."""
    return str(getattr(design, "default_workload", DEFAULT_WORKLOAD))


def default_workers(design: object) -> int:
    """The worker count a design runs with by default (its ``default_workers``)."""
    return int(getattr(design, "default_workers", DEFAULT_WORKERS))


def workload_misfit(design: object, workload: Workload) -> str | None:
    """None when the workload fits the design, else one line saying why it does not.

    A design names the workload generators it runs in its ``workload_kinds`` class
    attribute (``("bft",)``); ``None`` (the default) means any block of transactions.
    A user's block file is the kind ``"block"``.
    """
    kinds = getattr(design, "workload_kinds", None)
    if kinds is None:
        return None
    kind = workload.spec.partition(":")[0].partition("@")[0]
    if kind in kinds:
        return None
    name = getattr(design, "name", type(design).__name__)
    return (f"design {name!r} runs {' or '.join(repr(k) for k in kinds)} workloads, not "
            f"{kind!r}: try its default, --workload {default_workload(design)}")


def design_notes(design: object, config: Config) -> tuple[str, ...]:
    """What a design says about a run before it starts (its optional ``notes(config)``):
    a fault budget of zero that cannot show some bugs, an assumption exceeded on purpose."""
    notes = getattr(design, "notes", None)
    return tuple(notes(config)) if callable(notes) else ()


@attrs.frozen
class Mutant:
    """A faithful variant of a design that carries one real, documented bug."""

    name: str
    summary: str
    doc: str
    design: Design = attrs.field(eq=False)
    known_failure: KnownFailure | None = None
