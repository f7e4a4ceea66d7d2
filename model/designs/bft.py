"""Per-module BFT consensus: Tendermint, one instance per module, all in one state.

The real system: E. Buchman, J. Kwon, Z. Milosevic, "The latest gossip on BFT
consensus", arXiv 1807.04938 (2018), Algorithm 1: the consensus of Tendermint and
CometBFT. Each module (shard) of a modular chain orders its own block with its own
instance; this design runs every module's instance concurrently in one state. Comments
cite the paper's Algorithm 1 by line ("l.22").

What is modelled, per module: n = 3f + 1 replicas ``m<k>/r<i>``; one height; rounds
``0 .. rounds-1``, proposer of round r is replica ``r mod n``; the three steps propose,
prevote, precommit; the upon rules l.22, l.28, l.34, l.36, l.44, l.47, l.49 and l.55
with their thresholds (2f + 1 for quorums, f + 1 for the round skip of l.55); locking
(``lockedValue``/``lockedRound``, l.38-39) and the valid value a proposer re-proposes
(l.15-16, l.42-43); the three timeouts as actions of the replica that scheduled them.

The network, as the TLA+ specifications of Tendermint model it (Tendermint's
``TendermintAcc`` spec, checked with Apalache): the messages *sent*, per round and kind,
and no per-receiver inbox. Each honest replica keeps the messages it has sent (its
proposals, and at most one prevote and one precommit per round, since a step moves
on once it votes); an upon rule of a replica fires whenever the messages sent contain
a subset that meets its threshold, as if exactly that subset had been delivered to it.
That is every asynchronous network at once: a receiver may act on any subset, in any
order, at any time, or wait, and a message never used is one that was late or lost.
One action is one upon rule (or timeout) of one replica, so the explorer chooses the
order rules fire in, as an event loop handling messages one by one could. No inbox
state means no states that differ only by what lies undelivered where, and a duplicate
changes no set: that is what makes the configurations where the mutants fail small
enough to search exhaustively (docs/modules.md has the figures). Drops and duplicates
are therefore not budgets of this design (a receiver that never uses a message is a
drop; a copy is the same message); ``model/network.py`` serves the designs whose
messages are consumed on delivery.

Values: a value is a block of the module's transactions, named by its contents
(``T0.T1``; ``empty``). Honest proposers propose the module's block in workload order
(``getValue()``, l.18); the other value is one conflicting valid block (the same
transactions reversed, or the empty block for a single transaction): two values are
all an equivocation needs. ``valid(v)`` (l.23, l.29, l.36, l.50) checks that a value
holds only the module's own transactions, each once.

Faults: replicas ``r0 .. r<byzantine-1>`` of every module are Byzantine, so the first
round's proposer is one (the worst case for safety). A Byzantine replica has sent every
message it can sign, from the start: in every round a prevote and a precommit for each
value and for nil, and in the rounds it leads a proposal of each value with every
valid round before it. A receiver acting on any subset may then use any of them, so the
adversary equivocates freely, to different receivers or to one. An honest replica may
crash (``crashes``, over all modules) before it decides; what it sent stays sent.

One reduction merges states no rule can tell apart: replicas that lead no round within
the bound are interchangeable (``canonical``). In the last round, l.36 after a
replica's own precommit only updates validValue, which only a later round's proposal
reads: it is left out there. ``BftPacking`` is the explorer's compact fast path: the
same transitions, memoized per replica.

After a replica decides (l.49) it executes the decided block with ``exec=serial``
(the reference interpreter) or ``exec=block-stm`` (``shardcheck.model.designs.block_stm.BlockStm``
with ``--workers`` workers, run to its terminal state on one fixed schedule: the enabled
worker actions taken in turn, round robin), and its state root covers the module's
keys and each key's version (the number of writes it has seen, as Sui's object
versions). A decided replica halts (one height). Execution is part of the decision
step unless version faults remain in the budget; then it is an action of its own, and a
``version-init-fails`` action may precede it (a transient failure of the shared-object
version initialisation, which the replica retries).

Properties (shared/research/designs.md §3.3): INV-AGR agreement, INV-VAL validity,
INV-ONCE integrity, INV-DET determinism of the state root, checked in every state, and
``stall`` at terminal states. Transactions have no senders here, so INV-ORD has nothing
to judge. A state is terminal when it is quiescent: no action is enabled. Every budget
is finite and rounds are bounded, so every run gets there; an honest replica that ends
undecided because the round bound stopped it is not a violation. A terminal state is
one where every message sent has been, in effect, delivered to everyone, so ``stall``
judges eventual delivery: a live honest replica ends undecided in a round before the
last while no honest replica of its module decided.

Mutants: ``weak-quorum`` (f + 1 quorums), ``no-lock`` (l.38-39 skipped) and
``shared-version-diverges`` (M12 of designs.md §6.2); docstrings in ``MUTANTS``.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import attrs

from shardcheck.model.api import (
    Action,
    Config,
    KnownFailure,
    Mutant,
    Outcome,
    Property,
    TxRecord,
    Workload,
)
from shardcheck.model.designs.flag_mutants import FlagMutant, flag_mutants
from shardcheck.model.encoding import Constant, canonical_bytes, encode
from shardcheck.model.language import Transaction, block_keys
from shardcheck.model.reference import execute_transaction
from shardcheck.model.store import Store

NIL = "nil"
PROPOSE, PREVOTE, PRECOMMIT = "propose", "prevote", "precommit"
PROPOSAL = "proposal"

ON_PROPOSAL, ON_POLKA, ON_NIL_POLKA, DECIDE, SKIP = (
    "on-proposal", "on-polka", "on-nil-polka", "decide", "skip-to-round")
TIMEOUT_PROPOSE, TIMEOUT_PREVOTE, TIMEOUT_PRECOMMIT = (
    "timeout-propose", "timeout-prevote", "timeout-precommit")
CRASH, EXECUTE, VERSION_FAULT = "crash", "execute", "version-init-fails"
CRASHES_OBJECT, VERSION_FAULTS_OBJECT = "budget:crashes", "budget:version-faults"


class Proposal(NamedTuple):
    """⟨PROPOSAL, h, round, value, validRound⟩ from the round's proposer."""

    round: int
    value: str
    valid_round: int


class Vote(NamedTuple):
    """A prevote or precommit an honest replica sent: for ``value`` (or nil) in ``round``."""

    round: int
    value: str


@attrs.frozen
class Replica:
    """One honest replica's variables (Algorithm 1, l.2-9), what it sent, and its execution."""

    round: int = 0
    step: str = PROPOSE
    locked_value: str = NIL
    locked_round: int = -1
    valid_value: str = NIL
    valid_round: int = -1
    decision: str | None = None
    decided_in: int = -1
    proposals: tuple[Proposal, ...] = ()
    """The proposals it sent (one per round it leads and reached)."""
    prevotes: tuple[Vote, ...] = ()
    """The prevotes it sent, at most one per round, by round."""
    precommits: tuple[Vote, ...] = ()
    """The precommits it sent, at most one per round, by round."""
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


@attrs.frozen
class BftState:
    """Every module's replicas (None for a Byzantine one) and the fault budgets."""

    setup: Constant[Setup]
    replicas: tuple[tuple[Replica | None, ...], ...]
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


def _sent(kind: str, module: str, round_: int) -> str:
    """The footprint object standing for every ``kind`` message of ``round_`` in ``module``."""
    return f"{module}:{kind}:{round_}"


_Log = tuple[tuple[Proposal, ...], tuple[Vote, ...], tuple[Vote, ...]]


def _log(replica: Replica) -> _Log:
    """What a replica sent: its proposals, prevotes and precommits."""
    return replica.proposals, replica.prevotes, replica.precommits


class _Sent:
    """What the honest replicas of one module have sent, counted as the upon rules count.

    Byzantine senders are counted as having sent every vote, so a count is the honest
    senders plus ``byzantine``. Built ``named`` (for ``actions``), it also knows who sent
    what, so that a rule can name the messages it acts on; built from bare logs (the
    compact path, which never shows an action) or to ask only whether a rule is enabled,
    it does not.
    """

    __slots__ = ("byzantine", "names", "precommits", "prevotes", "proposals", "senders")

    def __init__(self, replicas: tuple[Replica | None, ...], byzantine: int,
                 named: bool = True) -> None:
        self.byzantine = byzantine
        self.prevotes: dict[Vote, int] = {}
        self.precommits: dict[Vote, int] = {}
        self.proposals: dict[int, tuple[Proposal, ...]] = {}
        self.senders: dict[int, int] = {}  # round -> honest replicas with a message in it
        # (kind, round, value or None for any) -> honest senders, in index order
        self.names: dict[tuple[str, int, str | None], list[int]] | None = (
            {} if named else None)
        for i, replica in enumerate(replicas):
            if replica is not None:
                self._add(_log(replica), i)

    def _add(self, log: _Log, index: int | None = None) -> None:
        proposals, prevotes, precommits = log
        rounds = set()
        for vote in prevotes:
            self.prevotes[vote] = self.prevotes.get(vote, 0) + 1
            rounds.add(vote.round)
            self._name(index, PREVOTE, vote)
        for vote in precommits:
            self.precommits[vote] = self.precommits.get(vote, 0) + 1
            rounds.add(vote.round)
            self._name(index, PRECOMMIT, vote)
        for proposal in proposals:
            self.proposals[proposal.round] = (proposal,)
            rounds.add(proposal.round)
        for r in rounds:
            self.senders[r] = self.senders.get(r, 0) + 1
            if self.names is not None and index is not None:
                self.names.setdefault(("any", r, None), []).append(index)

    def _name(self, index: int | None, kind: str, vote: Vote) -> None:
        if self.names is not None and index is not None:
            self.names.setdefault((kind, vote.round, vote.value), []).append(index)
            self.names.setdefault((kind, vote.round, None), []).append(index)

    def who(self, kind: str, round_: int, value: str | None = None) -> str | None:
        """The replicas whose ``kind`` messages of ``round_`` (for ``value``, or any) are
        sent, Byzantine ones included (``r0,r2,r3``); None when not known."""
        if self.names is None:
            return None
        honest = self.names.get((kind, round_, value), [])
        return ",".join(f"r{i}" for i in sorted({*range(self.byzantine), *honest}))

    @classmethod
    def of_logs(cls, logs: Sequence[_Log], byzantine: int) -> _Sent:
        """What honest replicas with these logs have sent."""
        sent = cls((), byzantine, named=False)
        for log in logs:
            sent._add(log)
        return sent

    def prevotes_for(self, round_: int, value: str) -> int:
        """Senders of a prevote for ``value`` in ``round_``."""
        return self.prevotes.get(Vote(round_, value), 0) + self.byzantine

    def precommits_for(self, round_: int, value: str) -> int:
        """Senders of a precommit for ``value`` in ``round_``."""
        return self.precommits.get(Vote(round_, value), 0) + self.byzantine

    def prevotes_in(self, round_: int) -> int:
        """Senders of any prevote in ``round_`` (honest replicas send one at most)."""
        return sum(c for v, c in self.prevotes.items() if v.round == round_) + self.byzantine

    def precommits_in(self, round_: int) -> int:
        """Senders of any precommit in ``round_``."""
        return sum(c for v, c in self.precommits.items() if v.round == round_) + self.byzantine

    def senders_in(self, round_: int) -> int:
        """Senders of any message of ``round_`` (l.55)."""
        return self.senders.get(round_, 0) + self.byzantine


@functools.lru_cache(maxsize=1024)
def _byzantine_proposals(setup: Setup, m: int, round_: int) -> tuple[Proposal, ...]:
    """What a Byzantine proposer of ``round_`` has sent: every value, every valid round."""
    if round_ % setup.n >= setup.byzantine:
        return ()
    return tuple(Proposal(round_, value, vr) for value, _ in setup.modules[m].values
                 for vr in range(-1, round_))


def _proposals(setup: Setup, sent: _Sent, m: int, round_: int) -> tuple[Proposal, ...]:
    """The proposals of ``round_`` from its proposer (l.22, l.28, l.36, l.49)."""
    return sent.proposals.get(round_, ()) or _byzantine_proposals(setup, m, round_)


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
    from shardcheck.model.designs.block_stm import BlockStm  # only runs that ask for it pay for it

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


@functools.lru_cache(maxsize=4096)
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


# --- the design ---------------------------------------------------------------------------


class Bft:
    """Tendermint consensus per module (Buchman, Kwon, Milosevic 2018), then execution."""

    name = "bft"
    summary = "per-module Tendermint consensus over an asynchronous network, then execution"
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
                      config.workers)
        state = BftState(
            Constant(setup),
            tuple((None,) * byzantine + (Replica(),) * (n - byzantine) for _ in modules),
            int(workload.param("crashes", 0)),
            int(workload.param("version_faults", 0)))
        for m in range(len(modules)):
            for i in range(byzantine, n):
                state = self._set(state, m, i, self._start_round(
                    setup, m, i, state.replicas[m][i], 0))  # type: ignore[arg-type]
        return state

    def actions(self, state: BftState) -> Sequence[Action]:
        """Per replica, in index order: its enabled upon rules, timeouts and faults."""
        setup = state.setup.value
        out: list[Action] = []
        for m in range(len(setup.modules)):
            sent = _Sent(state.replicas[m], setup.byzantine)
            for i, replica in enumerate(state.replicas[m]):
                if replica is not None:
                    out.extend(self._replica_actions(setup, sent, m, i, replica,
                                                     state.crashes_left,
                                                     state.version_faults_left))
        return tuple(out)

    def step(self, state: BftState, action: Action) -> BftState:
        """Apply one action: one upon rule, timeout or fault of one replica."""
        setup = state.setup.value
        m, i = self._locate(setup, action.actor)
        replica = state.replicas[m][i]
        assert replica is not None
        replica = self._replica_step(setup, m, i, replica, action, state.version_faults_left)
        state = self._set(state, m, i, replica)
        if action.name == CRASH:
            return attrs.evolve(state, crashes_left=state.crashes_left - 1)
        if action.name == VERSION_FAULT:
            return attrs.evolve(state, version_faults_left=state.version_faults_left - 1)
        return state

    def is_terminal(self, state: BftState) -> bool:
        """Quiescent: no action is enabled (every budget and round bound is finite)."""
        setup = state.setup.value
        for m in range(len(setup.modules)):
            sent = None
            for i, replica in enumerate(state.replicas[m]):
                if replica is None or replica.crashed:
                    continue
                if replica.decision is not None:
                    if replica.executed is None:
                        return False
                    continue
                if state.crashes_left > 0:
                    return False
                if sent is None:
                    # Only whether a rule is enabled matters here, not whom it names.
                    sent = _Sent(state.replicas[m], setup.byzantine, named=False)
                if next(self._rules(setup, sent, m, i, replica), None) is not None:
                    return False
        return True

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

        Such replicas run the same code on the same inputs, and each carries what it
        sent, so a renaming is a permutation of their entries: sorting them picks the
        representative.
        """
        setup = state.setup.value
        free = _free(setup)
        if len(free) < 2:
            return state
        replicas = list(state.replicas)
        for m, module in enumerate(replicas):
            ordered = sorted((module[i] for i in free), key=encode)
            row = list(module)
            for i, replica in zip(free, ordered, strict=True):
                row[i] = replica
            replicas[m] = tuple(row)
        return attrs.evolve(state, replicas=tuple(replicas))

    def compact(self, initial: BftState) -> BftPacking:
        """The explorer's fast path for the run that starts in ``initial`` (``BftPacking``)."""
        return BftPacking(self, initial)

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
            Property("stall", "a module where no honest replica decided has no live honest "
                     "replica left undecided before the last round, once every message "
                     "sent has been delivered", "terminal", _stall),
        )

    def mutants(self) -> Sequence[Mutant]:
        """weak-quorum, no-lock and shared-version-diverges (M12)."""
        if self.mutant is not None:
            return ()
        return flag_mutants(MUTANTS, Flags(), Bft)

    # One replica's share of actions() and step(), which the compact path memoizes ------

    def _replica_actions(self, setup: Setup, sent: _Sent, m: int, i: int, replica: Replica,
                         crashes_left: int, version_faults_left: int) -> Iterator[Action]:
        """What replica ``i`` of module ``m`` may do: execute a decided block, or an upon
        rule, a timeout or a crash."""
        if replica.crashed:
            return
        actor = self._actor(setup.modules[m], i)
        own = f"replica:{actor}"
        if replica.decision is not None:
            if replica.executed is None:
                yield Action(actor, EXECUTE, (), {own}, {own})
                if version_faults_left > 0:
                    budget = {own, VERSION_FAULTS_OBJECT}
                    yield Action(actor, VERSION_FAULT, (), budget, budget)
            return
        yield from self._rules(setup, sent, m, i, replica)
        if crashes_left > 0:
            budget = {own, CRASHES_OBJECT}
            yield Action(actor, CRASH, (), budget, budget)

    def _replica_step(self, setup: Setup, m: int, i: int, replica: Replica, action: Action,
                      version_faults_left: int) -> Replica:
        """The replica after one of its actions (the budgets are the caller's)."""
        name = action.name
        if name == CRASH:
            return attrs.evolve(replica, crashed=True)
        if name == VERSION_FAULT:
            return attrs.evolve(replica, version_faults=replica.version_faults + 1)
        if name == EXECUTE:
            return self._executed(setup, m, replica)
        if name == DECIDE:  # l.49-51: decide, and halt (one height)
            replica = attrs.evolve(replica, decision=str(action.param("value")),
                                   decided_in=int(action.param("round")))  # type: ignore[arg-type]
            if version_faults_left == 0:
                replica = self._executed(setup, m, replica)
            return replica
        r = replica.round
        if name == ON_PROPOSAL:  # l.22-27 (vr = -1) and l.28-33 (vr >= 0)
            value, vr = str(action.param("value")), int(action.param("vr"))  # type: ignore[arg-type]
            if vr == -1:  # l.23
                good = self._valid(setup.modules[m], value) and (
                    replica.locked_round == -1 or replica.locked_value == value)
            else:  # l.29
                good = self._valid(setup.modules[m], value) and (
                    replica.locked_round <= vr or replica.locked_value == value)
            return self._vote(replica, PREVOTE, value if good else NIL)
        if name == TIMEOUT_PROPOSE:  # l.57-60
            return self._vote(replica, PREVOTE, NIL)
        if name == ON_POLKA:  # l.36-43
            value = str(action.param("value"))
            if replica.step == PREVOTE:
                if not self.flags.no_lock:  # l.38-39
                    replica = attrs.evolve(replica, locked_value=value, locked_round=r)
                replica = self._vote(replica, PRECOMMIT, value)  # l.40-41
            return attrs.evolve(replica, valid_value=value, valid_round=r)  # l.42-43
        if name in (ON_NIL_POLKA, TIMEOUT_PREVOTE):  # l.44-46, l.61-64
            return self._vote(replica, PRECOMMIT, NIL)
        if name == TIMEOUT_PRECOMMIT:  # l.65-67
            return self._start_round(setup, m, i, replica, r + 1)
        if name == SKIP:  # l.55-56
            return self._start_round(setup, m, i, replica, int(action.param("round")))  # type: ignore[arg-type]
        raise ValueError(f"bft has no action {action.label()!r}")

    # Tendermint's rules ----------------------------------------------------------------

    def _quorum(self, setup: Setup) -> int:
        return setup.f + 1 if self.flags.weak_quorum else 2 * setup.f + 1

    def _rules(self, setup: Setup, sent: _Sent, m: int, i: int,
               replica: Replica) -> Iterator[Action]:
        """The upon rules and timeouts of an undecided replica that may fire now.

        Each reads the messages it counts (``_sent`` objects) and writes the replica and
        what it sends, so rules of different replicas that count different messages are
        independent for the partial-order reduction.
        """
        module = setup.modules[m]
        actor = self._actor(module, i)
        own = f"replica:{actor}"
        q = self._quorum(setup)
        r, step = replica.round, replica.step

        def rule(name: str, params: tuple[tuple[str, int | str], ...], reads: set[str],
                 sends: str | None) -> Action:
            writes = {own} if sends is None else {own, _sent(sends, module.name, r)}
            return Action(actor, name, params, reads | {own}, writes)

        def acting_on(params: tuple[tuple[str, int | str], ...],
                      senders: str | None) -> tuple[tuple[str, int | str], ...]:
            # The messages a rule acts on, as if just they had been delivered to it: the
            # timeline's deliveries. They only grow by sends the rule's footprint reads,
            # so an action stays the same action while the reduction holds it asleep.
            return params if senders is None else (*params, ("from", senders))

        # l.49: a proposal and 2f+1 precommits for it, in any round: decide
        for dr in range(setup.rounds):
            decidable: list[str] = []
            for p in _proposals(setup, sent, m, dr):
                if (p.value not in decidable and sent.precommits_for(dr, p.value) >= q
                        and self._valid(module, p.value)):
                    decidable.append(p.value)
            for value in decidable:
                yield Action(actor, DECIDE, acting_on((("round", dr), ("value", value)),
                                                      sent.who(PRECOMMIT, dr, value)),
                             {own, _sent(PROPOSAL, module.name, dr),
                              _sent(PRECOMMIT, module.name, dr), VERSION_FAULTS_OBJECT},
                             {own})
        # l.55: f+1 messages of a later round: skip to it
        for later in range(r + 1, setup.rounds):
            if sent.senders_in(later) >= setup.f + 1:
                reads = {_sent(k, module.name, later) for k in (PROPOSAL, PREVOTE, PRECOMMIT)}
                writes = {own, _sent(PROPOSAL, module.name, later)}
                yield Action(actor, SKIP, acting_on((("round", later),),
                                                    sent.who("any", later)),
                             reads | {own}, writes)
        if step == PROPOSE:
            # l.22 and l.28: the round's proposal, with a polka for its valid round if any
            for p in _proposals(setup, sent, m, r):
                if p.valid_round == -1 or (
                        p.valid_round < r and sent.prevotes_for(p.valid_round, p.value) >= q):
                    reads = {_sent(PROPOSAL, module.name, r)}
                    if p.valid_round >= 0:
                        reads.add(_sent(PREVOTE, module.name, p.valid_round))
                    yield rule(ON_PROPOSAL, acting_on(
                        (("round", r), ("value", p.value), ("vr", p.valid_round)),
                        None if sent.names is None else f"r{r % setup.n}"), reads, PREVOTE)
            if r % setup.n != i:  # l.21: only a replica that does not propose waits
                yield rule(TIMEOUT_PROPOSE, (("round", r),), set(), PREVOTE)
        else:
            # l.36: a proposal and 2f+1 prevotes for it, for the first time this round
            if replica.valid_round < r and (step == PREVOTE or r + 1 < setup.rounds):
                polkas: list[str] = []
                for p in _proposals(setup, sent, m, r):
                    if (p.value not in polkas and self._valid(module, p.value)
                            and sent.prevotes_for(r, p.value) >= q):
                        polkas.append(p.value)
                for value in polkas:
                    yield rule(ON_POLKA, acting_on((("round", r), ("value", value)),
                                                   sent.who(PREVOTE, r, value)),
                               {_sent(PROPOSAL, module.name, r), _sent(PREVOTE, module.name, r)},
                               PRECOMMIT if step == PREVOTE else None)
            if step == PREVOTE:
                # l.44: 2f+1 nil prevotes
                if sent.prevotes_for(r, NIL) >= q:
                    yield rule(ON_NIL_POLKA, acting_on((("round", r),),
                                                       sent.who(PREVOTE, r, NIL)),
                               {_sent(PREVOTE, module.name, r)}, PRECOMMIT)
                # l.34 schedules it, l.61-64 fires it
                if sent.prevotes_in(r) >= q:
                    yield rule(TIMEOUT_PREVOTE, acting_on((("round", r),),
                                                          sent.who(PREVOTE, r)),
                               {_sent(PREVOTE, module.name, r)}, PRECOMMIT)
        # l.47 schedules it, l.65-67 fires it; the round bound stops it
        if r + 1 < setup.rounds and sent.precommits_in(r) >= q:
            yield Action(actor, TIMEOUT_PRECOMMIT, acting_on((("round", r),),
                                                             sent.who(PRECOMMIT, r)),
                         {own, _sent(PRECOMMIT, module.name, r)},
                         {own, _sent(PROPOSAL, module.name, r + 1)})

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
    def _vote(replica: Replica, kind: str, value: str) -> Replica:
        """Broadcast a prevote or precommit for the replica's round and move to that step
        (l.24-27, l.30-33, l.40-41, l.45-46, l.59-60, l.63-64)."""
        vote = Vote(replica.round, value)
        if kind == PREVOTE:
            return attrs.evolve(replica, prevotes=(*replica.prevotes, vote), step=PREVOTE)
        return attrs.evolve(replica, precommits=(*replica.precommits, vote), step=PRECOMMIT)

    @staticmethod
    def _start_round(setup: Setup, m: int, i: int, replica: Replica,
                     round_: int) -> Replica:
        """StartRound(round), l.11-21."""
        replica = attrs.evolve(replica, round=round_, step=PROPOSE)
        if round_ % setup.n == i:  # l.14
            # l.15-18: re-propose the valid value, else the module's block
            value = (replica.valid_value if replica.valid_value != NIL
                     else setup.modules[m].honest_value)
            proposal = Proposal(round_, value, replica.valid_round)  # l.19
            replica = attrs.evolve(replica, proposals=(*replica.proposals, proposal))
        return replica  # l.21: otherwise timeout-propose is now enabled

    def _executed(self, setup: Setup, m: int, replica: Replica) -> Replica:
        module = setup.modules[m]
        txs = module.block(replica.decision or NIL)
        if txs is None:
            raise ValueError(f"{module.name} decided an unknown value {replica.decision!r}")
        root = _execute(setup, module, txs, replica.version_faults,
                        self.flags.version_retry_keeps_partial)
        return attrs.evolve(replica, executed=txs, root=root)


@functools.lru_cache(maxsize=64)
def _free(setup: Setup) -> tuple[int, ...]:
    """Honest replicas that lead no round within the bound: interchangeable."""
    leaders = {r % setup.n for r in range(setup.rounds)}
    return tuple(i for i in range(setup.byzantine, setup.n) if i not in leaders)


# --- the compact path -----------------------------------------------------------------


class BftPacking:
    """States as ints, for the explorer's fast path (``model.Compact``).

    Every distinct replica value met in a run gets a number (in the order they are met,
    so the numbering is deterministic for a run), and a state packs into the crash
    budget (4 bits), the version-fault budget (4 bits) and the number of each honest
    replica (``_ID_BITS`` each). A replica's successors depend only on the replica, on
    what its module has sent and on the two budgets, so they are memoized on exactly
    that: ``successors`` is then a few dict lookups per replica, and a replica's
    ``actions`` and ``step`` run once per distinct situation, through the same methods
    as the ordinary path (``Bft._replica_actions``, ``Bft._replica_step``).
    """

    def __init__(self, design: Bft, initial: BftState) -> None:
        self.design = design
        self.constant = initial.setup
        self.setup = initial.setup.value
        self.shape = tuple(tuple(r is None for r in row) for row in initial.replicas)
        self.slots = tuple((m, i) for m, row in enumerate(self.shape)
                           for i, byzantine in enumerate(row) if not byzantine)
        self.module_slots = tuple(tuple(k for k, (mm, _) in enumerate(self.slots) if mm == m)
                                  for m in range(len(self.shape)))
        free = set(_free(self.setup))
        self.free_slots = tuple(tuple(k for k in slots if self.slots[k][1] in free)
                                for slots in self.module_slots)
        self.replicas: list[Replica] = []
        self.numbers: dict[Replica, int] = {}
        self.logs: list[int] = []  # replica number -> number of what it sent
        self.log_values: list[_Log] = []
        self.log_numbers: dict[_Log, int] = {}
        self.fine: dict[tuple[int, int], bool] = {}  # (module, replica number) -> _fine
        self.decisions: list[str | None] = []
        self.sent: dict[tuple[int, ...], _Sent] = {}
        self.moves: dict[tuple[int, int, tuple[int, ...], bool, int],
                         tuple[tuple[int, int, int], ...]] = {}

    def number(self, replica: Replica) -> int:
        """The replica's number, given when it is first met."""
        found = self.numbers.get(replica)
        if found is not None:
            return found
        found = len(self.replicas)
        if found >= 1 << _ID_BITS:
            raise ValueError(f"bft's compact path numbers at most {1 << _ID_BITS} replica "
                             "states; use --no-compact")
        self.replicas.append(replica)
        self.numbers[replica] = found
        log = _log(replica)
        number = self.log_numbers.get(log)
        if number is None:
            number = self.log_numbers[log] = len(self.log_values)
            self.log_values.append(log)
        self.logs.append(number)
        self.decisions.append(replica.decision)
        return found

    def pack(self, state: BftState) -> int:
        """Budgets in the low 8 bits, then each honest replica's number."""
        code = state.crashes_left | state.version_faults_left << 4
        for k, (m, i) in enumerate(self.slots):
            replica = state.replicas[m][i]
            assert replica is not None
            code |= self.number(replica) << (8 + _ID_BITS * k)
        return code

    def unpack(self, code: int) -> BftState:
        """The state a code stands for."""
        rows = [list[Replica | None]([None] * len(row)) for row in self.shape]
        mask = (1 << _ID_BITS) - 1
        for k, (m, i) in enumerate(self.slots):
            rows[m][i] = self.replicas[(code >> (8 + _ID_BITS * k)) & mask]
        return BftState(self.constant, tuple(tuple(row) for row in rows), code & 15,
                        (code >> 4) & 15)

    def successors(self, code: int) -> list[int] | None:
        """``pack(step(s, a))`` for each of ``actions(s)``, in order; None when notable."""
        mask = (1 << _ID_BITS) - 1
        ids = [(code >> (8 + _ID_BITS * k)) & mask for k in range(len(self.slots))]
        crashes, faults = code & 15, (code >> 4) & 15
        out: list[int] = []
        for m, slots in enumerate(self.module_slots):
            decided = None
            for k in slots:
                n = ids[k]
                if not self._fine(m, n):
                    return None
                d = self.decisions[n]
                if d is not None:
                    if decided is not None and d != decided:
                        return None  # INV-AGR fails: judged the ordinary way
                    decided = d
            key = tuple(sorted(self.logs[ids[k]] for k in slots))
            for k in slots:
                n = ids[k]
                memo = (k, n, key, crashes > 0, faults)
                moves = self.moves.get(memo)
                if moves is None:
                    moves = self._moves(m, k, n, key, crashes, faults)
                    self.moves[memo] = moves
                shift = 8 + _ID_BITS * k
                base = code - (n << shift)
                for new, spent_crash, spent_fault in moves:
                    out.append(base + (new << shift) - spent_crash - (spent_fault << 4))
        return out or None

    def canonical(self, code: int) -> int:
        """Sort the numbers of each module's interchangeable replicas."""
        mask = (1 << _ID_BITS) - 1
        for slots in self.free_slots:
            if len(slots) < 2:
                continue
            ids = sorted((code >> (8 + _ID_BITS * k)) & mask for k in slots)
            for k, n in zip(slots, ids, strict=True):
                shift = 8 + _ID_BITS * k
                code = code - (((code >> shift) & mask) << shift) + (n << shift)
        return code

    def _fine(self, m: int, n: int) -> bool:
        """No state property can fail on replica ``n`` of module ``m`` by itself: its
        decision is valid (INV-VAL), its block has no transaction twice (INV-ONCE) and
        its root is serial execution's (INV-DET). Valid blocks of different modules
        share no transaction, and replicas with serial execution's root for the same
        block agree, so what is left across replicas is INV-AGR, which ``successors``
        compares."""
        known = self.fine.get((m, n))
        if known is not None:
            return known
        replica = self.replicas[n]
        if replica.decision is None:
            self.fine[m, n] = True
            return True
        setup = self.setup
        module = setup.modules[m]
        ok = Bft._valid(module, replica.decision)
        if ok and replica.executed is not None:
            ok = (len(set(replica.executed)) == len(replica.executed)
                  and replica.root == _execute(setup, module, replica.executed, 0, False))
        self.fine[m, n] = ok
        return ok

    def _moves(self, m: int, k: int, n: int, key: tuple[int, ...], crashes: int,
               faults: int) -> tuple[tuple[int, int, int], ...]:
        """Replica ``n`` in slot ``k``: for each of its actions, its number after it and
        the crash and version-fault budget it spends."""
        setup = self.setup
        sent = self.sent.get(key)
        if sent is None:
            sent = _Sent.of_logs([self.log_values[log] for log in key], setup.byzantine)
            self.sent[key] = sent
        replica = self.replicas[n]
        i = self.slots[k][1]
        design = self.design
        moves = []
        for action in design._replica_actions(setup, sent, m, i, replica, crashes, faults):
            after = design._replica_step(setup, m, i, replica, action, faults)
            moves.append((self.number(after), int(action.name == CRASH),
                          int(action.name == VERSION_FAULT)))
        return tuple(moves)


_ID_BITS = 24
"""Bits of a replica's number in a packed state."""


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
Found by: shardcheck explore bft:weak-quorum --workload bft:txs=1,rounds=1
(INV-AGR after 6 steps, 953 states).""",
        KnownFailure("bft:txs=1,rounds=1", 2, "INV-AGR", 6),
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
Found by: shardcheck explore bft:no-lock --workload bft:txs=1,rounds=2
(INV-AGR after 12 steps, 93,270 states: a decision in round 0, a round change and a
decision in round 1).""",
        KnownFailure("bft:txs=1,rounds=2", 2, "INV-AGR", 12),
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
What a user sees: an honest replica executes the decided block to a state root that
serial execution of it does not give (INV-DET): a validator that forks itself off the
chain.
Found by: shardcheck explore bft:shared-version-diverges \\
    --workload bft:txs=1,rounds=1,version_faults=1
(INV-DET after 7 steps, 332 states).""",
        KnownFailure("bft:txs=1,rounds=1,version_faults=1", 2, "INV-DET", 7),
    ),
)
