"""Per-module BFT consensus: Tendermint, one instance per module, all in one state.

The real system: E. Buchman, J. Kwon, Z. Milosevic, "The latest gossip on BFT
consensus", arXiv 1807.04938 (2018), Algorithm 1: the consensus of Tendermint and
CometBFT. Each module (shard) of a modular chain orders its own block with its own
instance; this design runs every module's instance concurrently in one state, over one
network the explorer controls (``model/network.py``). Comments cite the paper's
Algorithm 1 by line ("l.22").

What is modelled, per module: n = 3f + 1 replicas ``m<k>/r<i>``; one height; rounds
``0 .. rounds-1``, proposer of round r is replica ``r mod n``; the three steps propose,
prevote, precommit; the upon rules l.22, l.28, l.34, l.36, l.44, l.47, l.49 and l.55
with their thresholds (2f + 1 for quorums, f + 1 for the round skip of l.55); locking
(``lockedValue``/``lockedRound``, l.38-39) and the valid value a proposer re-proposes
(l.15-16, l.42-43); the three timeouts as actions of the replica that scheduled them.
Honest replicas are deterministic: on each delivery or timeout a replica applies the
upon rules, in line order, until none fires, so one action is one atomic handler as in a
real event loop. A replica logs votes as sets (a duplicate changes nothing) and its own
messages reach its own log at once (the paper's broadcast includes the sender).

Values: a value is a block of the module's transactions, named by its contents
(``T0.T2``; ``empty``). Honest proposers propose the module's block in workload order
(``getValue()``, l.18); the Byzantine replica may propose or vote for that block or one
conflicting valid block (the same transactions reversed, or the empty block for a
single transaction): two values are all an equivocation needs. ``valid(v)`` (l.23,
l.29, l.36, l.50) checks that a value holds only the module's own transactions, each
once.

Faults, each an action bounded by a budget of the configuration: replicas ``r0 ..
r<byzantine-1>`` of every module are Byzantine, so the first round's proposer is one
(the worst case for safety). A Byzantine replica's signed messages are never in
flight: any of them may be delivered to any honest replica at any time (that is all a
Byzantine sender can do to an honest receiver), and it never needs what it receives.
Its messages are the proposals of the rounds it leads and prevotes and precommits for
either value in any round (nil votes from it are left out: they only hurry timeouts
that are actions anyway). The adversary is bounded to keep the search small: a receiver
gets at most one value per round and kind from a Byzantine sender (it equivocates
*across* receivers, which is what splits a quorum; a receiver holding both would hold
evidence against it), and a round's Byzantine messages reach a replica once it is in
that round (so they never help the round skip of l.55, which honest timeouts reach
anyway). Both bounds only remove adversary behaviours, never add one: a violation found
is real, and a pass is a pass against this adversary.

Two reductions merge states no rule can tell apart: replicas that lead no round within
the bound are interchangeable (``canonical``), and in the last round a replica that has
precommitted forgets its prevotes and is sent none (no rule reads them again).

Honest messages travel through the network, which may drop (``drops``) and duplicate
(``duplicates``) them; an honest replica may crash (``crashes``, over all modules)
before it decides.

After a replica decides (l.49) it executes the decided block with ``exec=serial``
(the reference interpreter) or ``exec=block-stm`` (``model.designs.block_stm.BlockStm``
with ``--workers`` workers, run to its terminal state on one fixed schedule: the enabled
worker actions taken in turn, round robin), and its state root covers the module's
keys and each key's version (the number of writes it has seen, as Sui's object
versions). A decided replica halts (one height): nothing is sent to it any more.
Execution is part of the decision step unless version faults remain in the budget;
then it is an action of its own, and a ``version-init-fails`` action may precede it
(a transient failure of the shared-object version initialisation, which the replica
retries).

Properties (shared/research/designs.md §3.3): INV-AGR agreement, INV-VAL validity,
INV-ONCE integrity, INV-DET determinism of the state root, checked in every state, and
``stall`` at terminal states. Transactions have no senders here, so INV-ORD has nothing
to judge. A state is terminal when it is quiescent: no action is enabled. Every budget
is finite and rounds are bounded, so every run gets there; an honest replica that ends
undecided because the round bound stopped it is not a violation. ``stall`` is the
stuck state that is: with no message dropped, a live honest replica ends undecided in a
round before the last while no honest replica of its module decided (a module that
should have made progress and has no way to).

Mutants: ``weak-quorum`` (f + 1 quorums), ``no-lock`` (l.38-39 skipped) and
``shared-version-diverges`` (M12 of designs.md §6.2); docstrings in ``MUTANTS``.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import attrs

from model.api import (
    Action,
    Config,
    KnownFailure,
    Mutant,
    Outcome,
    Property,
    TxRecord,
    Workload,
)
from model.designs.flag_mutants import FlagMutant, flag_mutants
from model.encoding import Constant, canonical_bytes, encode
from model.language import Transaction, block_keys
from model.network import (
    Message,
    Network,
    apply_fault,
    deliver_action,
    fault_actions,
    inbox_object,
    is_fault,
    message_of,
)
from model.reference import execute_transaction
from model.store import Store

NIL = "nil"
PROPOSE, PREVOTE, PRECOMMIT = "propose", "prevote", "precommit"
PROPOSAL = "proposal"

TIMEOUT_PROPOSE, TIMEOUT_PREVOTE, TIMEOUT_PRECOMMIT = (
    "timeout-propose", "timeout-prevote", "timeout-precommit")
CRASH, EXECUTE, VERSION_FAULT = "crash", "execute", "version-init-fails"


class Proposal(NamedTuple):
    """⟨PROPOSAL, h, round, value, validRound⟩ from the round's proposer."""

    round: int
    value: str
    valid_round: int


class Vote(NamedTuple):
    """⟨PREVOTE⟩ or ⟨PRECOMMIT⟩ for ``value`` (or nil) in ``round`` by replica ``sender``."""

    round: int
    sender: int
    value: str


@attrs.frozen
class Replica:
    """One honest replica's variables (Algorithm 1, l.2-9), its message log, and its execution."""

    round: int = 0
    step: str = PROPOSE
    locked_value: str = NIL
    locked_round: int = -1
    valid_value: str = NIL
    valid_round: int = -1
    decision: str | None = None
    decided_in: int = -1
    proposals: tuple[Proposal, ...] = ()
    prevotes: tuple[Vote, ...] = ()
    precommits: tuple[Vote, ...] = ()
    crashed: bool = False
    version_faults: int = 0
    """Failed version initialisations of the pending execution (retried)."""
    executed: tuple[int, ...] | None = None
    """The transactions of the decided block, once executed (None: not yet)."""
    root: str | None = None


@attrs.frozen
class ModuleSetup:
    """A module: its name, its own transactions, and the values its replicas may see."""

    name: str
    transactions: tuple[int, ...]
    values: tuple[tuple[str, tuple[int, ...]], ...]
    """Value name to block; the first is the honest proposers' block."""

    def block(self, value: str) -> tuple[int, ...] | None:
        """The transactions of a value, or None for a value this module never saw."""
        for name, txs in self.values:
            if name == value:
                return txs
        return None

    @property
    def honest_value(self) -> str:
        """``getValue()`` (l.18): the module's transactions in workload order."""
        return self.values[0][0]


@attrs.frozen(cache_hash=True)
class Setup:
    """What every state of a run carries unchanged."""

    block: tuple[Transaction, ...]
    initial: Store
    modules: tuple[ModuleSetup, ...]
    n: int
    f: int
    byzantine: int
    rounds: int
    exec: str
    workers: int
    drops: int


@attrs.frozen
class BftState:
    """Every module's replicas (None for a Byzantine one), the network, and fault budgets."""

    setup: Constant[Setup]
    replicas: tuple[tuple[Replica | None, ...], ...]
    network: Network
    crashes_left: int
    version_faults_left: int


@attrs.frozen
class Flags:
    """Which bugs are switched on; all False is Tendermint as published."""

    weak_quorum: bool = False
    no_lock: bool = False
    version_retry_keeps_partial: bool = False


def _value_name(txs: tuple[int, ...]) -> str:
    return ".".join(f"T{t}" for t in txs) if txs else "empty"


def _module_of(tx: Transaction, initial: Store) -> str:
    keys = block_keys((tx,), ())
    return initial.module_of(keys[0]) if keys else "m0"


def _replace(items: tuple, index: int, value: object) -> tuple:  # type: ignore[type-arg]
    return (*items[:index], value, *items[index + 1:])


def _add(log: tuple, item: object) -> tuple:  # type: ignore[type-arg]
    """A sorted log with ``item`` in it (unchanged when it already is)."""
    if item in log:
        return log
    return tuple(sorted((*log, item)))


def _needs_prevotes(setup: Setup, replica: Replica) -> bool:
    """Whether prevotes can still change what a replica does.

    In the last round, once a replica has precommitted, no rule that reads prevotes can
    fire again: l.28, l.34 and l.44 need an earlier step, and what l.36 would still
    update (validValue) is only read by a proposal of a later round. Such a replica
    forgets its prevotes and is sent none, which merges states that differ only by
    prevotes nobody will read.
    """
    return replica.round + 1 < setup.rounds or replica.step != PRECOMMIT


def _count(votes: tuple[Vote, ...], round_: int, value: str | None) -> int:
    """Distinct senders of votes in ``round_`` for ``value`` (None: for anything)."""
    if value is None:
        return len({v.sender for v in votes if v.round == round_})
    return sum(1 for v in votes if v.round == round_ and v.value == value)


# --- execution --------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _run_block(transactions: tuple[Transaction, ...], initial: Store, mode: str,
               workers: int) -> tuple[tuple[TxRecord, ...], Store]:
    """Execute a decided block: the records in block order and the final store.

    Pure and memoized (a cache of a pure function changes how fast, never what).
    """
    block = tuple(attrs.evolve(tx, index=i) for i, tx in enumerate(transactions))
    if mode == "serial":
        store, writers, records = initial, dict[str, int](), list[TxRecord]()
        for tx in block:
            record, store = execute_transaction(tx, store, writers)
            records.append(record)
        return tuple(records), store
    from model.designs.block_stm import BlockStm  # only runs that ask for it pay for it

    design = BlockStm()
    state = design.initial(Config(Workload("decided-block", block, initial), workers))
    turn = 0
    while not design.is_terminal(state):
        enabled = design.actions(state)
        state = design.step(state, enabled[turn % len(enabled)])
        turn += 1
        if turn > 100_000:
            raise RuntimeError("Block-STM did not finish a decided block: a bug in the model")
    outcome = design.outcome(state)
    return outcome.transactions, outcome.store


def _execute(setup: Setup, module: ModuleSetup, txs: tuple[int, ...], faults: int,
             keeps_partial: bool) -> str:
    """The state root a replica reaches by executing ``txs``: its module's keys and versions."""
    records, store = _run_block(tuple(setup.block[t] for t in txs), setup.initial,
                                setup.exec, setup.workers)
    keys = sorted(k for k, _ in store.values if store.module_of(k) == module.name)
    versions = {k: int(setup.initial.get(k) is not None) for k in keys}
    written = [k for r in records if r.status == "committed" for k, _ in r.writes]
    if keeps_partial and faults and written:
        # M12: each failed attempt had already advanced the first shared object's version
        # and the retry starts from there instead of from the committed versions.
        versions[written[0]] = versions.get(written[0], 0) + faults
    for key in written:
        versions[key] = versions.get(key, 0) + 1
    content = tuple((k, store.get(k), versions.get(k, 0)) for k in keys)
    return hashlib.blake2b(canonical_bytes(content), digest_size=8).hexdigest()


@functools.lru_cache(maxsize=1024)
def _byzantine_repertoire(setup: Setup, m: int, i: int
                          ) -> tuple[tuple[Message, str, Proposal | Vote], ...]:
    """Every message a Byzantine replica of module ``m`` may send replica ``i``, with the
    log entry it becomes: the proposals of the rounds it leads and votes for either value."""
    module = setup.modules[m]
    dst = f"{module.name}/r{i}"
    out: list[tuple[Message, str, Proposal | Vote]] = []
    for b in range(setup.byzantine):
        src = f"{module.name}/r{b}"
        for r in range(setup.rounds):
            for value, _ in module.values:
                if r % setup.n == b:
                    out.append((Message(src, dst, PROPOSAL,
                                        (("round", r), ("value", value), ("vr", -1))),
                                PROPOSAL, Proposal(r, value, -1)))
                out.append((Message(src, dst, PREVOTE, (("round", r), ("value", value))),
                            PREVOTE, Vote(r, b, value)))
                out.append((Message(src, dst, PRECOMMIT, (("round", r), ("value", value))),
                            PRECOMMIT, Vote(r, b, value)))
    return tuple(out)


@functools.lru_cache(maxsize=1 << 16)
def _delivery(message: Message, own: frozenset[str]) -> Action:
    return deliver_action(message, own, own)


# --- the design ---------------------------------------------------------------------------


class Bft:
    """Tendermint consensus per module (Buchman, Kwon, Milosevic 2018), then execution."""

    name = "bft"
    summary = "per-module Tendermint consensus over a faulty network, then execution"
    criteria: tuple[str, ...] = ()

    def __init__(self, flags: Flags = Flags(), mutant: str | None = None) -> None:
        self.flags = flags
        self.mutant = mutant

    # The design interface -------------------------------------------------------------

    def initial(self, config: Config) -> BftState:
        """Every module's honest replicas start round 0 (l.10); the proposers propose."""
        workload = config.workload
        n, f = int(workload.param("replicas", 4)), int(workload.param("f", 1))
        byzantine = int(workload.param("byzantine", 0))
        names = sorted({_module_of(tx, workload.initial) for tx in workload.block}
                       | set(workload.initial.modules()))
        modules = []
        for name in names:
            own = tuple(tx.index for tx in workload.block
                        if _module_of(tx, workload.initial) == name)
            other = tuple(reversed(own)) if len(own) > 1 else ()
            values = ((_value_name(own), own), (_value_name(other), other))
            modules.append(ModuleSetup(name, own, values))
        setup = Setup(workload.block, workload.initial, tuple(modules), n, f, byzantine,
                      int(workload.param("rounds", 2)), str(workload.param("exec", "serial")),
                      config.workers, int(workload.param("drops", 0)))
        state = BftState(
            Constant(setup),
            tuple((None,) * byzantine + (Replica(),) * (n - byzantine) for _ in modules),
            Network(drops_left=setup.drops,
                    duplicates_left=int(workload.param("duplicates", 0))),
            int(workload.param("crashes", 0)),
            int(workload.param("version_faults", 0)))
        for m in range(len(modules)):
            for i in range(byzantine, n):
                state = self._react(self._start_round(state, m, i, 0), m, i)
        return state

    def actions(self, state: BftState) -> Sequence[Action]:
        """Per replica: deliveries, Byzantine messages, timeouts, faults; then the network's."""
        setup = state.setup.value
        out: list[Action] = []
        for m, module in enumerate(setup.modules):
            peers = [inbox_object(self._actor(module, j)) for j in range(setup.n)]
            for i, replica in enumerate(state.replicas[m]):
                if replica is None or replica.crashed:
                    continue
                actor = self._actor(module, i)
                own = frozenset({f"replica:{actor}", *peers})
                if replica.decision is not None:
                    if replica.executed is None:
                        out.append(Action(actor, EXECUTE, (), own, own))
                        if state.version_faults_left > 0:
                            budget = own | {"budget:version-faults"}
                            out.append(Action(actor, VERSION_FAULT, (), budget, budget))
                    continue
                for message in state.network.distinct(actor):
                    out.append(_delivery(message, own))
                for message in self._byzantine_messages(setup, m, i, replica):
                    out.append(_delivery(message, own))
                for name in self._timeouts(setup, replica):
                    out.append(Action(actor, name, (("round", replica.round),), own, own))
                if state.crashes_left > 0:
                    budget = own | {"budget:crashes"}
                    out.append(Action(actor, CRASH, (), budget, budget))
        out.extend(fault_actions(state.network))
        return tuple(out)

    def step(self, state: BftState, action: Action) -> BftState:
        """Apply one action: a delivery runs the receiver's upon rules to a fixed point."""
        if is_fault(action):
            return attrs.evolve(state, network=apply_fault(state.network, action))
        m, i = self._locate(state.setup.value, action.actor)
        replica = state.replicas[m][i]
        assert replica is not None
        if action.name == "deliver":
            message = message_of(action)
            if int(message.src.rsplit("/r", 1)[1]) >= state.setup.value.byzantine:
                state = attrs.evolve(state, network=state.network.remove(message))
            replica = self._receive(replica, message)
            state = self._set(state, m, i, replica)
        elif action.name == TIMEOUT_PROPOSE:  # l.57-60
            state = self._vote(state, m, i, PREVOTE, NIL, PREVOTE)
        elif action.name == TIMEOUT_PREVOTE:  # l.61-64
            state = self._vote(state, m, i, PRECOMMIT, NIL, PRECOMMIT)
        elif action.name == TIMEOUT_PRECOMMIT:  # l.65-67
            state = self._start_round(state, m, i, replica.round + 1)
        elif action.name == CRASH:
            network = state.network.discard_to(action.actor)
            state = attrs.evolve(self._set(state, m, i, attrs.evolve(replica, crashed=True)),
                                 network=network, crashes_left=state.crashes_left - 1)
            return state
        elif action.name == VERSION_FAULT:
            state = attrs.evolve(
                self._set(state, m, i,
                          attrs.evolve(replica, version_faults=replica.version_faults + 1)),
                version_faults_left=state.version_faults_left - 1)
            return state
        elif action.name == EXECUTE:
            return self._set(state, m, i, self._executed(state.setup.value, m, replica))
        else:
            raise ValueError(f"bft has no action {action.label()!r}")
        return self._react(state, m, i)

    def is_terminal(self, state: BftState) -> bool:
        """Quiescent: no action is enabled (every budget and round bound is finite)."""
        if state.network.in_flight and (state.network.drops_left
                                        or state.network.duplicates_left):
            return False
        setup = state.setup.value
        for m in range(len(setup.modules)):
            for i, replica in enumerate(state.replicas[m]):
                if replica is None or replica.crashed:
                    continue
                if replica.decision is not None:
                    if replica.executed is None:
                        return False
                    continue
                if (state.crashes_left > 0 or self._timeouts(setup, replica)
                        or any(True for _ in self._byzantine_messages(setup, m, i, replica))):
                    return False
        # every message in flight is to a live undecided replica (others' are discarded)
        return not state.network.in_flight

    def outcome(self, state: BftState) -> Outcome:
        """Each module's block as its first honest replica to execute one executed it."""
        setup = state.setup.value
        store, order, records = setup.initial, list[int](), list[TxRecord]()
        for m in range(len(setup.modules)):
            executed = next((r.executed for r in state.replicas[m]
                             if r is not None and r.executed is not None), None)
            if executed is None:
                continue
            done, after = _run_block(tuple(setup.block[t] for t in executed), setup.initial,
                                     setup.exec, setup.workers)
            store = store.with_writes(
                (k, v) for k, v in after.values if setup.initial.module_of(k)
                == setup.modules[m].name)
            order.extend(executed)
            records.extend(attrs.evolve(r, index=executed[r.index]) for r in done)
        return Outcome(store, tuple(order), tuple(sorted(records, key=lambda r: r.index)))

    def canonical(self, state: BftState) -> BftState:
        """Rename interchangeable replicas: honest ones that lead no round within the bound.

        Such replicas run the same code on the same inputs, so a state and its renaming
        are the same for every property. The representative sorts them by their state
        with the interchangeable names blanked, and tries every order of equal ones.
        """
        setup = state.setup.value
        for m, module in enumerate(setup.modules):
            leaders = {r % setup.n for r in range(setup.rounds)}
            free = tuple(i for i in range(setup.byzantine, setup.n) if i not in leaders)
            if len(free) < 2:
                continue
            blank = {i: -1 for i in free}
            shapes = {i: encode(_rename_replica(state.replicas[m][i], blank)) for i in free}
            ordered = sorted(free, key=lambda i: shapes[i])
            best: BftState | None = None
            best_text = ""
            for order in _tie_orders(ordered, shapes):
                mapping = dict(zip(order, free, strict=True))  # old index -> new index
                candidate = _rename(state, m, module.name, mapping)
                text = encode(candidate.replicas[m]) + encode(candidate.network)
                if best is None or text < best_text:
                    best, best_text = candidate, text
            assert best is not None
            state = best
        return state

    def properties(self) -> Sequence[Property]:
        """INV-AGR, INV-VAL, INV-ONCE and INV-DET of designs.md §3.3, and ``stall``."""
        return (
            Property("INV-AGR", "honest replicas of a module never decide different blocks",
                     "state", _agreement),
            Property("INV-VAL", "a decided block holds only its module's own transactions",
                     "state", _validity),
            Property("INV-ONCE", "no transaction is executed twice, in a block or across "
                     "modules", "state", _integrity),
            Property("INV-DET", "an honest replica that executed a block has the state root "
                     "serial execution of it gives, so replicas that executed the same "
                     "block agree", "state", _determinism),
            Property("stall", "with no message dropped, a module where no honest replica "
                     "decided has no live honest replica left undecided before the last "
                     "round", "terminal", _stall),
        )

    def mutants(self) -> Sequence[Mutant]:
        """weak-quorum, no-lock and shared-version-diverges (M12)."""
        if self.mutant is not None:
            return ()
        return flag_mutants(MUTANTS, Flags(), Bft)

    # Tendermint's rules ----------------------------------------------------------------

    def _quorum(self, setup: Setup) -> int:
        return setup.f + 1 if self.flags.weak_quorum else 2 * setup.f + 1

    @staticmethod
    def _actor(module: ModuleSetup, i: int) -> str:
        return f"{module.name}/r{i}"

    @staticmethod
    def _locate(setup: Setup, actor: str) -> tuple[int, int]:
        name, _, index = actor.partition("/r")
        for m, module in enumerate(setup.modules):
            if module.name == name:
                return m, int(index)
        raise ValueError(f"bft has no replica {actor!r}")

    @staticmethod
    def _set(state: BftState, m: int, i: int, replica: Replica) -> BftState:
        return attrs.evolve(state, replicas=_replace(
            state.replicas, m, _replace(state.replicas[m], i, replica)))

    @staticmethod
    def _valid(module: ModuleSetup, value: str) -> bool:
        """valid(v): only the module's own transactions, each once."""
        txs = module.block(value)
        return (txs is not None and len(set(txs)) == len(txs)
                and set(txs) <= set(module.transactions))

    @staticmethod
    def _byzantine_messages(setup: Setup, m: int, i: int,
                            replica: Replica) -> Iterator[Message]:
        """The Byzantine messages replica ``i`` may receive now.

        The adversary is bounded so the search stays small (the module docstring says
        why this keeps every fork we know of): per round and kind, a receiver gets one
        value from a Byzantine sender (it equivocates *across* receivers), and it gets a
        round's messages once it has reached that round.
        """
        for message, kind, entry in _byzantine_repertoire(setup, m, i):
            if entry.round > replica.round:
                continue  # it reaches the replica once the replica gets to that round
            if kind == PROPOSAL:
                if not any(p.round == entry.round for p in replica.proposals):
                    yield message
                continue
            if kind == PREVOTE and not _needs_prevotes(setup, replica):
                continue
            log = replica.prevotes if kind == PREVOTE else replica.precommits
            sender = entry.sender  # type: ignore[union-attr]
            if not any(v.round == entry.round and v.sender == sender for v in log):
                yield message

    def _timeouts(self, setup: Setup, replica: Replica) -> tuple[str, ...]:
        """The timeouts scheduled and still meaningful (their guards l.58, l.62, l.66 hold)."""
        q = self._quorum(setup)
        out = []
        if replica.step == PROPOSE:  # scheduled by l.21
            out.append(TIMEOUT_PROPOSE)
        if replica.step == PREVOTE and _count(replica.prevotes, replica.round, None) >= q:
            out.append(TIMEOUT_PREVOTE)  # scheduled by l.34
        if (replica.round + 1 < setup.rounds
                and _count(replica.precommits, replica.round, None) >= q):
            out.append(TIMEOUT_PRECOMMIT)  # scheduled by l.47; the round bound stops it
        return tuple(out)

    @staticmethod
    def _receive(replica: Replica, message: Message) -> Replica:
        """Log a message (a set: a duplicate changes nothing)."""
        r, value = int(message.get("round")), str(message.get("value"))  # type: ignore[arg-type]
        if message.kind == PROPOSAL:
            vr = int(message.get("vr"))  # type: ignore[arg-type]
            return attrs.evolve(replica, proposals=_add(replica.proposals, Proposal(r, value, vr)))
        sender = int(message.src.rsplit("/r", 1)[1])
        if message.kind == PREVOTE:
            return attrs.evolve(replica, prevotes=_add(replica.prevotes, Vote(r, sender, value)))
        return attrs.evolve(replica, precommits=_add(replica.precommits, Vote(r, sender, value)))

    def _broadcast(self, state: BftState, m: int, i: int, kind: str,
                   payload: tuple[tuple[str, int | str], ...]) -> BftState:
        """Send to every other honest replica that can still use it (l.19, l.24, ...)."""
        setup = state.setup.value
        module = setup.modules[m]
        src = self._actor(module, i)
        sent = tuple(
            Message(src, self._actor(module, j), kind, payload)
            for j, other in enumerate(state.replicas[m])
            if j != i and other is not None and not other.crashed and other.decision is None
            and (kind != PREVOTE or _needs_prevotes(setup, other)))
        return attrs.evolve(state, network=state.network.send(*sent))

    def _start_round(self, state: BftState, m: int, i: int, round_: int) -> BftState:
        """StartRound(round), l.11-21."""
        setup = state.setup.value
        replica = state.replicas[m][i]
        assert replica is not None
        replica = attrs.evolve(replica, round=round_, step=PROPOSE)
        if round_ % setup.n == i:  # l.14
            # l.15-18: re-propose the valid value, else the module's block
            value = (replica.valid_value if replica.valid_value != NIL
                     else setup.modules[m].honest_value)
            proposal = Proposal(round_, value, replica.valid_round)
            replica = attrs.evolve(replica, proposals=_add(replica.proposals, proposal))
            state = self._broadcast(self._set(state, m, i, replica), m, i, PROPOSAL,
                                    (("round", round_), ("value", value),
                                     ("vr", replica.valid_round)))
            return state
        return self._set(state, m, i, replica)  # l.21: timeout-propose is now enabled

    def _vote(self, state: BftState, m: int, i: int, kind: str, value: str,
              step: str) -> BftState:
        """Broadcast a prevote or precommit (logged at once by the sender) and move on."""
        replica = state.replicas[m][i]
        assert replica is not None
        vote = Vote(replica.round, i, value)
        if kind == PREVOTE:
            replica = attrs.evolve(replica, prevotes=_add(replica.prevotes, vote), step=step)
        else:
            replica = attrs.evolve(replica, precommits=_add(replica.precommits, vote), step=step)
        return self._broadcast(self._set(state, m, i, replica), m, i, kind,
                               (("round", vote.round), ("value", value)))

    def _react(self, state: BftState, m: int, i: int) -> BftState:
        """Apply the upon rules of replica ``i`` in line order until none fires."""
        setup = state.setup.value
        module = setup.modules[m]
        q = self._quorum(setup)
        while True:
            replica = state.replicas[m][i]
            assert replica is not None
            if replica.crashed or replica.decision is not None:
                return state
            # l.49: a proposal and 2f+1 precommits for it, in any round: decide
            for p in replica.proposals:
                if (_count(replica.precommits, p.round, p.value) >= q
                        and self._valid(module, p.value)):
                    return self._decide(state, m, i, p)
            # l.55: f+1 messages of a later round: skip to it
            later = self._later_round(setup, replica)
            if later is not None:
                state = self._start_round(state, m, i, later)
                continue
            r = replica.round
            if replica.step == PROPOSE:
                fired = self._on_proposal(state, m, i, replica, q)
                if fired is not None:
                    state = fired
                    continue
            # l.36: a proposal and 2f+1 prevotes for it, for the first time this round
            if replica.step != PROPOSE and replica.valid_round < r:
                polka = next((p for p in replica.proposals if p.round == r
                              and self._valid(module, p.value)
                              and _count(replica.prevotes, r, p.value) >= q), None)
                if polka is not None:
                    locked = replica.step == PREVOTE
                    if locked and not self.flags.no_lock:  # l.38-39
                        replica = attrs.evolve(replica, locked_value=polka.value,
                                               locked_round=r)
                    replica = attrs.evolve(replica, valid_value=polka.value,  # l.42-43
                                           valid_round=r)
                    state = self._set(state, m, i, replica)
                    if locked:  # l.40-41
                        state = self._vote(state, m, i, PRECOMMIT, polka.value, PRECOMMIT)
                    continue
            # l.44: 2f+1 nil prevotes
            if replica.step == PREVOTE and _count(replica.prevotes, r, NIL) >= q:
                state = self._vote(state, m, i, PRECOMMIT, NIL, PRECOMMIT)
                continue
            if replica.prevotes and not _needs_prevotes(setup, replica):
                actor = self._actor(module, i)
                kept = tuple(msg for msg in state.network.in_flight
                             if msg.dst != actor or msg.kind != PREVOTE)
                state = attrs.evolve(self._set(state, m, i, attrs.evolve(replica, prevotes=())),
                                     network=attrs.evolve(state.network, in_flight=kept))
            return state

    def _on_proposal(self, state: BftState, m: int, i: int, replica: Replica,
                     q: int) -> BftState | None:
        """l.22-33: prevote for the round's proposal, or nil when it is invalid or locked out."""
        module = state.setup.value.modules[m]
        r = replica.round
        for p in replica.proposals:
            if p.round != r:
                continue
            if p.valid_round == -1:  # l.22
                good = self._valid(module, p.value) and (
                    replica.locked_round == -1 or replica.locked_value == p.value)
            elif 0 <= p.valid_round < r and _count(replica.prevotes, p.valid_round,
                                                   p.value) >= q:  # l.28
                good = self._valid(module, p.value) and (
                    replica.locked_round <= p.valid_round or replica.locked_value == p.value)
            else:
                continue
            return self._vote(state, m, i, PREVOTE, p.value if good else NIL, PREVOTE)
        return None

    def _later_round(self, setup: Setup, replica: Replica) -> int | None:
        """The highest round above the replica's with messages from f+1 senders (l.55)."""
        senders: dict[int, set[int]] = {}
        for p in replica.proposals:
            senders.setdefault(p.round, set()).add(p.round % setup.n)
        for v in (*replica.prevotes, *replica.precommits):
            senders.setdefault(v.round, set()).add(v.sender)
        later = [r for r, who in senders.items() if r > replica.round and len(who) >= setup.f + 1]
        return max(later) if later else None

    def _decide(self, state: BftState, m: int, i: int, proposal: Proposal) -> BftState:
        """l.49-51: decide, halt (one height), and execute unless a version fault may strike."""
        setup = state.setup.value
        replica = state.replicas[m][i]
        assert replica is not None
        replica = attrs.evolve(replica, decision=proposal.value, decided_in=proposal.round)
        if state.version_faults_left == 0:
            replica = self._executed(setup, m, replica)
        network = state.network.discard_to(self._actor(setup.modules[m], i))
        return attrs.evolve(self._set(state, m, i, replica), network=network)

    def _executed(self, setup: Setup, m: int, replica: Replica) -> Replica:
        module = setup.modules[m]
        txs = module.block(replica.decision or NIL)
        if txs is None:
            raise ValueError(f"{module.name} decided an unknown value {replica.decision!r}")
        root = _execute(setup, module, txs, replica.version_faults,
                        self.flags.version_retry_keeps_partial)
        return attrs.evolve(replica, executed=txs, root=root)


# --- symmetry -----------------------------------------------------------------------------


def _tie_orders(ordered: list[int], shapes: dict[int, str]) -> Iterator[tuple[int, ...]]:
    """``ordered``, and every reordering of its runs of equal shapes."""
    groups: list[list[int]] = []
    for i in ordered:
        if groups and shapes[groups[-1][0]] == shapes[i]:
            groups[-1].append(i)
        else:
            groups.append([i])
    for choice in itertools.product(*(itertools.permutations(g) for g in groups)):
        yield tuple(i for group in choice for i in group)


def _rename_replica(replica: Replica | None, mapping: dict[int, int]) -> Replica | None:
    if replica is None:
        return None
    def votes(log: tuple[Vote, ...]) -> tuple[Vote, ...]:
        return tuple(sorted(v._replace(sender=mapping.get(v.sender, v.sender)) for v in log))
    return attrs.evolve(replica, prevotes=votes(replica.prevotes),
                        precommits=votes(replica.precommits))


def _rename(state: BftState, m: int, module: str, mapping: dict[int, int]) -> BftState:
    """The state with module ``m``'s replica ``old`` renamed ``mapping[old]``."""
    replicas = list(state.replicas[m])
    for old, new in mapping.items():
        replicas[new] = state.replicas[m][old]
    replicas = [_rename_replica(r, mapping) for r in replicas]
    names = {f"{module}/r{old}": f"{module}/r{new}" for old, new in mapping.items()}
    flight = tuple(attrs.evolve(msg, src=names.get(msg.src, msg.src),
                                dst=names.get(msg.dst, msg.dst))
                   for msg in state.network.in_flight)
    network = attrs.evolve(state.network, in_flight=()).send(*flight)
    return attrs.evolve(state, replicas=_replace(state.replicas, m, tuple(replicas)),
                        network=network)


# --- properties ---------------------------------------------------------------------------


def _honest(state: BftState, m: int) -> list[tuple[str, Replica]]:
    module = state.setup.value.modules[m]
    return [(f"{module.name}/r{i}", r) for i, r in enumerate(state.replicas[m]) if r is not None]


def _agreement(state: BftState) -> str | None:
    for m in range(len(state.replicas)):
        decided = [(a, r) for a, r in _honest(state, m) if r.decision is not None]
        for a, r in decided[1:]:
            first, d = decided[0]
            if r.decision != d.decision:
                return (f"{first} decided {d.decision} in round {d.decided_in} but {a} decided "
                        f"{r.decision} in round {r.decided_in}")
    return None


def _validity(state: BftState) -> str | None:
    setup = state.setup.value
    for m, module in enumerate(setup.modules):
        for actor, r in _honest(state, m):
            if r.decision is None:
                continue
            txs = module.block(r.decision)
            if txs is None or not set(txs) <= set(module.transactions):
                return (f"{actor} decided {r.decision}, not a block of {module.name}'s own "
                        "transactions")
    return None


def _integrity(state: BftState) -> str | None:
    executed_by: dict[int, str] = {}
    for m in range(len(state.replicas)):
        for actor, r in _honest(state, m):
            if r.executed is None:
                continue
            if len(set(r.executed)) != len(r.executed):
                return f"{actor} executed a block with a transaction twice: {r.executed}"
            module = actor.split("/")[0]
            for tx in r.executed:
                other = executed_by.setdefault(tx, module)
                if other != module:
                    return f"T{tx} was executed by {other} and by {module}"
    return None


def _determinism(state: BftState) -> str | None:
    setup = state.setup.value
    for m, module in enumerate(setup.modules):
        seen: dict[tuple[int, ...], tuple[str, str]] = {}
        for actor, r in _honest(state, m):
            if r.executed is None or r.root is None:
                continue
            # Every execution mode on every replica must give serial execution's root.
            reference = _execute(setup, module, r.executed, 0, False)
            if r.root != reference:
                return (f"{actor} executed {_value_name(r.executed)} to state root {r.root}; "
                        f"serial execution of that block gives {reference}")
            first = seen.setdefault(r.executed, (actor, r.root))
            if first[1] != r.root:
                return (f"{first[0]} and {actor} executed the same block "
                        f"{_value_name(r.executed)} but reached state roots {first[1]} "
                        f"and {r.root}")
    return None


def _stall(state: BftState) -> str | None:
    setup = state.setup.value
    if state.network.drops_left < setup.drops:
        return None  # a lost message may stall a module: Tendermint assumes eventual delivery
    for m in range(len(state.replicas)):
        replicas = _honest(state, m)
        if any(r.decision is not None for _, r in replicas):
            continue
        for actor, r in replicas:
            if not r.crashed and r.round + 1 < setup.rounds:
                return (f"{actor} is stuck undecided in round {r.round} at {r.step}, with "
                        "nothing to receive and no timeout to take")
    return None


# --- mutants ------------------------------------------------------------------------------


MUTANTS: tuple[FlagMutant, ...] = (
    FlagMutant(
        "weak-quorum", "weak_quorum",
        "quorums of f + 1 instead of 2f + 1",
        """What is wrong: every threshold that should be 2f + 1 (a polka of prevotes, the
precommits that decide, the counts that schedule timeouts) is f + 1.
Where: the quorum-intersection argument behind Tendermint's agreement (the paper's
Lemma 1) needs any two quorums to share an honest replica: 2(2f + 1) - (3f + 1) = f + 1
replicas in common. Two quorums of f + 1 out of 3f + 1 can share only the Byzantine one;
counting by the wrong constant, or by stake without the 2/3 bound, is a classic port bug.
What a user sees: one equivocating proposer gets two honest replicas to decide
different blocks in the same round.
Found by: shardcheck explore bft:weak-quorum --workload bft:txs=2,rounds=1
(BFS: INV-AGR after 6 steps).""",
        KnownFailure("bft:txs=2,rounds=1", 2, "INV-AGR", 6),
    ),
    FlagMutant(
        "no-lock", "no_lock",
        "a replica does not lock on a polka (l.38-39 skipped)",
        """What is wrong: on a polka (2f + 1 prevotes for the proposal) a replica
precommits but does not set lockedValue and lockedRound, so in a later round it prevotes
for whatever is proposed.
Where: Tendermint's l.36-43; locking is what carries a possibly decided value across
rounds (the paper's Lemma 2); the same role is played by the "prepared" certificate of
PBFT's view change and by HotStuff's locked QC.
What a user sees: a fork across rounds: a replica decides the Byzantine proposer's
block in round 0, and a replica that precommitted it votes for another block in round 1,
which is decided there.
Found by: shardcheck fuzz bft:no-lock --schedule uniform --workload bft:txs=2,rounds=2
(INV-AGR, in the first runs; the fork needs a decision in round 0, a round change and
a decision in round 1, deeper than a quick breadth-first search goes).""",
        None,
    ),
    FlagMutant(
        "shared-version-diverges", "version_retry_keeps_partial",
        "M12: a failed shared-object version initialisation is retried from a partial state",
        """What is wrong: when a replica executes a decided block it assigns versions to the
shared objects the block writes. If the version initialisation fails part way (a
transient read failure of the object's start version), the retry starts from the
version counter the failed attempt had already advanced, instead of from the versions
the committed state fixes, so the object's version on this replica is one ahead.
Where: shared/research/designs.md §6.2, M12; Sui assigns shared-object versions after
consensus, and a silently retried initialisation that is not idempotent makes one
validator's versions diverge from the others'.
What a user sees: two honest replicas execute the same decided block and reach
different state roots (INV-DET): a validator that forks itself off the chain.
Found by: shardcheck fuzz bft:shared-version-diverges --schedule uniform \\
    --workload bft:txs=1,rounds=1,version_faults=1
(INV-DET after 10 steps, shrunk: a replica must decide before it executes, which puts
the counterexample deeper than a quick breadth-first search goes).""",
        None,  # a known failure is one breadth-first search reaches; this one fuzzing does
    ),
)
