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

Its default workload (``default_workload``, for a run that names none) is
``bft:txs=1,rounds=2``: one module of four replicas, one of them Byzantine (r0, the
first round's proposer), two rounds. ``weak-quorum`` and ``no-lock`` fail there; the
correct design passes its 228,024 states in seconds on the packed path.
``shared-version-diverges`` needs a failed version initialisation
(``version_faults=1``), which multiplies the space by nine (2,016,852 states, about half
a minute packed and minutes on the ordinary path), so the default leaves it out and the
report header says so (``notes``); its own configuration is
``bft:txs=1,rounds=1,version_faults=1``.

Tendermint assumes at most f faulty replicas per module. A workload may break that
assumption on purpose (``bft:byzantine=2`` with f=1): the run goes ahead, the header
says the assumption is exceeded, and a fork (INV-AGR) is then expected. Only a module
left with no honest replica is refused.

Extending this design
---------------------

Subclass ``Bft`` and override one method; everything the design does goes through
``self``, and every step evolves the state and the replica it is given, so fields a
subclass adds to ``BftState`` or ``Replica`` (with defaults) survive every step. The
names a variant needs are public: this module's ``Bft``, ``BftState``, ``Replica``,
``Setup``, ``ModuleSetup``, ``Proposal``, ``Vote``, ``Place``, ``Footprint``, ``Sent``,
``Flags``, ``MUTANTS``, the step and rule names (``PROPOSE``, ``PREVOTE``,
``PRECOMMIT``, ``PROPOSAL``, ``NIL``, ``ON_PROPOSAL``, ``ON_POLKA``, ``ON_NIL_POLKA``,
``DECIDE``, ``SKIP``, ``TIMEOUT_PROPOSE``, ``TIMEOUT_PREVOTE``, ``TIMEOUT_PRECOMMIT``,
``CRASH``, ``EXECUTE``, ``VERSION_FAULT``), the budget objects (``CRASHES_OBJECT``,
``VERSION_FAULTS_OBJECT``) and the functions ``sent_object``, ``with_senders``,
``value_name``, ``log_of``, ``every_proposal``, ``run_block`` and ``root_of``.

A rule's methods take a ``Place`` (``setup``, module index ``m``, replica index ``i``,
``module``, ``actor`` such as ``m0/r1``, ``own`` its footprint object, and
``place.sent(kind, round)`` the footprint object of a round's messages), what the
module has sent (``Sent``: ``prevotes_for(round, value)``, ``precommits_for``,
``prevotes_in(round)``, ``precommits_in``, ``senders_in``, ``proposals``, and
``who(kind, round, value)`` naming the senders), and the replica.

State and setup:

- ``state_class`` (attribute, default ``BftState``) and ``replica_class`` (default
  ``Replica``): the classes ``initial`` builds, by keyword.
- ``initial(config) -> BftState``; ``setup_of(config) -> Setup``;
  ``module_setup(name, transactions) -> ModuleSetup`` (the honest block and one
  conflicting valid block); ``initial_replica(place) -> Replica`` (round 0 started).
- ``place(setup, m, i) -> Place``; ``locate(setup, actor) -> (m, i)``;
  ``with_replica(state, m, i, replica) -> BftState``.

Counting and the protocol's parameters:

- ``sent_by(replicas, byzantine, named=True) -> Sent``: what a module has sent, with
  each Byzantine replica counted as having sent every vote.
- ``quorum(setup) -> int`` (2f + 1; ``weak-quorum``: f + 1) and
  ``skip_threshold(setup) -> int`` (f + 1, l.55).
- ``proposer(setup, round) -> int`` (round mod n); ``free_replicas(setup) ->
  tuple[int, ...]`` (honest replicas that lead no round: interchangeable).
- ``proposals(place, sent, round) -> tuple[Proposal, ...]``: the round's proposals, an
  honest proposer's or ``byzantine_proposals(setup, m, round)``.
- ``valid(module, value) -> bool``: valid(v), the module's own transactions, each once.
- ``proposal_value(place, replica) -> str``: l.15-18, the valid value or getValue().

The upon rules, each a guard that yields the enabled actions (``*_rule(place, sent,
replica) -> Iterator[Action]``), a footprint (``*_footprint(place, round, ...) ->
Footprint``) and an effect (``on_*(place, replica, action) -> Replica``);
``rules(place, sent, replica)`` yields them in this order:

- l.49 decide: ``decide_rule``, ``decidable(place, sent, round) -> list[str]``,
  ``decide_footprint(place, round)``, ``on_decide``.
- l.55 skip to a later round: ``skip_rule``, ``skip_footprint(place, round)``,
  ``on_skip``.
- l.22 and l.28 a proposal: ``proposal_rule``, ``proposal_ready(place, sent, round,
  proposal) -> bool`` (a polka for its valid round), ``proposal_footprint(place, round,
  proposal)``, ``on_proposal``, with ``accepts(place, replica, value, valid_round) ->
  bool`` (l.23, l.29).
- l.57 timeout-propose: ``timeout_propose_rule``, ``timeout_propose_footprint(place,
  round)``, ``on_timeout_propose``.
- l.36 a polka: ``polka_rule``, ``polkas(place, sent, round) -> list[str]``,
  ``polka_footprint(place, round, step)``, ``on_polka``, with ``lock(replica, value) ->
  Replica`` (l.38-39; ``no-lock`` skips it).
- l.44 a nil polka: ``nil_polka_rule``, ``nil_polka_footprint(place, round)``,
  ``on_nil_polka``.
- l.61 timeout-prevote: ``timeout_prevote_rule``, ``timeout_prevote_footprint(place,
  round)``, ``on_timeout_prevote``.
- l.65 timeout-precommit: ``timeout_precommit_rule``,
  ``timeout_precommit_footprint(place, round)``, ``on_timeout_precommit``.
- ``vote(replica, kind, value) -> Replica`` (broadcast a prevote or precommit) and
  ``start_round(place, replica, round) -> Replica`` (StartRound, l.11-21).

Execution and faults:

- ``execution_actions(place, version_faults_left)``: ``execute`` and
  ``version-init-fails`` of a decided replica; ``on_execute`` and
  ``execute_block(place, replica) -> Replica`` run the decided block;
  ``state_root(setup, module, txs, faults) -> str`` (``shared-version-diverges`` starts
  the retry from the partial versions) and ``reference_root(setup, module, txs) ->
  str`` (what INV-DET compares with); ``on_version_fault``.
- ``crash_action(place) -> Action`` and ``on_crash``.
- ``replica_actions(place, sent, replica, crashes_left, version_faults_left)`` and
  ``replica_step(place, replica, action, version_faults_left)``: one replica's share of
  ``actions`` and ``step``, which dispatch to all of the above (and which the packed
  path memoizes).

Invariants (``properties()`` lists them; each takes a state, returns None or a message):
``agreement`` (INV-AGR), ``validity`` (INV-VAL), ``integrity`` (INV-ONCE),
``determinism`` (INV-DET), ``stall`` (terminal); ``honest(state, m)`` lists a module's
honest replicas by actor. A subclass adds one by overriding ``properties()`` and
returning ``(*super().properties(), Property(...))``.

Mutants: ``mutants()`` builds each entry of ``mutant_specs`` (default ``MUTANTS``) as
``variant(flags with its field on, name)``, a copy of this design: a subclass's mutants
run the subclass's code. A variant with a bug of its own subclasses ``Flags``, sets
``flags_class`` and appends a ``FlagMutant`` (``model.designs.flag_mutants``) to
``mutant_specs``.

The packed path (``compact``, ``BftPacking``) is written for ``Bft``: a subclass gets
the ordinary path, and the report header says why, unless its own class body declares
``compact_fits = True``. That claim holds when the subclass changes only what the
packing reaches through the design (``replica_actions`` and ``replica_step`` with all
they call, ``sent_by``, ``free_replicas``, ``reference_root``) and keeps every state
field it adds constant; invariants it adds or overrides are checked on every packed
state (``model.packing_properties``). ``shardcheck explore --audit`` compares the two
paths.
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
from shardcheck.model.designs.flag_mutants import FlagDesign, FlagMutant
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


class Place(NamedTuple):
    """Where one replica sits, as its rules see it: the run's setup, its module's index
    ``m`` and setup ``module``, its index ``i``, its actor name and its own footprint
    object."""

    setup: Setup
    m: int
    i: int
    module: ModuleSetup
    actor: str
    """``m0/r1``: the actor whose column a timeline shows its actions in."""
    own: str
    """``replica:m0/r1``: the footprint object standing for the replica's variables."""

    def sent(self, kind: str, round_: int) -> str:
        """The footprint object of every ``kind`` message of ``round_`` in this module."""
        return sent_object(kind, self.module.name, round_)


class Footprint(NamedTuple):
    """What an action reads and writes (its ``Action.reads`` and ``Action.writes``)."""

    reads: frozenset[str]
    writes: frozenset[str]


def value_name(txs: tuple[int, ...]) -> str:
    """A value's name: its transactions (``T0.T1``), or ``empty``."""
    return ".".join(f"T{t}" for t in txs) if txs else "empty"


def tx_module(tx: Transaction, initial: Store) -> str:
    """The module a transaction belongs to: the owner of the first key it touches."""
    keys = block_keys((tx,), ())
    return initial.module_of(keys[0]) if keys else "m0"


def sent_object(kind: str, module: str, round_: int) -> str:
    """The footprint object standing for every ``kind`` message of ``round_`` in ``module``."""
    return f"{module}:{kind}:{round_}"


def with_senders(params: tuple[tuple[str, int | str], ...],
                 senders: str | None) -> tuple[tuple[str, int | str], ...]:
    """A rule's parameters with the messages it acts on (``from=r0,r1``), as if just they
    had been delivered to it: the timeline's deliveries. They grow only by sends to the
    objects the rule's footprint reads, so an action stays the same action while the
    reduction holds it asleep. None (the packed path, which shows no action): no names."""
    return params if senders is None else (*params, ("from", senders))


Log = tuple[tuple[Proposal, ...], tuple[Vote, ...], tuple[Vote, ...]]
"""What a replica sent: its proposals, prevotes and precommits."""


def log_of(replica: Replica) -> Log:
    """What a replica sent: its proposals, prevotes and precommits."""
    return replica.proposals, replica.prevotes, replica.precommits


class Sent:
    """What the honest replicas of one module have sent, counted as the upon rules count.

    Byzantine senders are counted as having sent every vote, so a count is the honest
    senders plus ``byzantine``. Built ``named`` (for ``actions``), it also knows who sent
    what, so that a rule can name the messages it acts on; built from bare logs (the
    compact path, which never shows an action) or to ask only whether a rule is enabled,
    it does not.
    """

    __slots__ = ("byzantine", "names", "precommits", "prevotes", "proposals", "senders")

    def __init__(self, replicas: Sequence[Replica | None], byzantine: int,
                 named: bool = True) -> None:
        self.byzantine = byzantine
        self.prevotes: dict[Vote, int] = {}
        self.precommits: dict[Vote, int] = {}
        self.proposals: dict[int, tuple[Proposal, ...]] = {}
        """Round to the proposal an honest proposer sent in it."""
        self.senders: dict[int, int] = {}  # round -> honest replicas with a message in it
        # (kind, round, value or None for any) -> honest senders, in index order
        self.names: dict[tuple[str, int, str | None], list[int]] | None = (
            {} if named else None)
        for i, replica in enumerate(replicas):
            if replica is not None:
                self._add(log_of(replica), i)

    def _add(self, log: Log, index: int | None = None) -> None:
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
    def of_logs(cls, logs: Sequence[Log], byzantine: int) -> Sent:
        """What honest replicas with these logs have sent (no names)."""
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
def every_proposal(setup: Setup, m: int, round_: int) -> tuple[Proposal, ...]:
    """Every proposal of ``round_`` a Byzantine proposer of module ``m`` can sign: each
    value, with every valid round before it."""
    return tuple(Proposal(round_, value, vr) for value, _ in setup.modules[m].values
                 for vr in range(-1, round_))


@functools.lru_cache(maxsize=256)
def _places(setup: Setup) -> tuple[tuple[Place, ...], ...]:
    return tuple(tuple(Place(setup, m, i, module, f"{module.name}/r{i}",
                             f"replica:{module.name}/r{i}") for i in range(setup.n))
                 for m, module in enumerate(setup.modules))


def _decision_valid(module: ModuleSetup, value: str) -> bool:
    """valid(v) as published: only the module's own transactions, each once."""
    txs = module.block(value)
    return (txs is not None and len(set(txs)) == len(txs)
            and set(txs) <= set(module.transactions))


# --- execution --------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def run_block(transactions: tuple[Transaction, ...], initial: Store, mode: str,
              workers: int) -> tuple[tuple[TxRecord, ...], Store]:
    """Execute a decided block: the records in block order and the final store.

    ``mode`` is ``serial`` (the reference interpreter) or ``block-stm`` (``BlockStm``
    with ``workers`` workers, run to its terminal state on one fixed schedule: the
    enabled worker actions taken in turn, round robin). Pure and memoized (a cache of a
    pure function changes how fast, never what).
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
def root_of(setup: Setup, module: ModuleSetup, txs: tuple[int, ...], faults: int,
            keeps_partial: bool) -> str:
    """The state root a replica reaches by executing ``txs``: its module's keys and each
    key's version (the writes it has seen). ``faults`` failed version initialisations
    came first; ``keeps_partial`` (M12) starts the retry from the version counter they
    advanced instead of from the committed versions."""
    records, store = run_block(tuple(setup.block[t] for t in txs), setup.initial,
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


# --- the design ---------------------------------------------------------------------------


class Bft(FlagDesign[Flags]):
    """Tendermint consensus per module (Buchman, Kwon, Milosevic 2018), then execution."""

    name = "bft"
    summary = "per-module Tendermint consensus over an asynchronous network, then execution"
    criteria: tuple[str, ...] = ()
    flags_class: type[Flags] = Flags
    """The class of ``flags``; its all-default value is Tendermint as published."""
    mutant_specs: tuple[FlagMutant, ...] = MUTANTS
    """The mutants ``mutants()`` builds: each switches one field of ``flags`` on."""
    state_class: type[BftState] = BftState
    """The class ``initial`` builds (by keyword): a subclass adds fields with defaults."""
    replica_class: type[Replica] = Replica
    """The class of each honest replica in ``initial``."""
    default_workload = "bft:txs=1,rounds=2"
    """One Byzantine replica (the first proposer) and two rounds: equivocation and a round
    change, where weak-quorum and no-lock fail (see ``notes`` for what it leaves out)."""
    default_workers = 2
    """Workers of a Block-STM execution (``exec=block-stm``); consensus ignores them."""
    workload_kinds = ("bft",)
    """Only ``bft`` workloads say how many replicas, faults and rounds a module has."""

    # The design interface -------------------------------------------------------------

    def initial(self, config: Config) -> BftState:
        """Every module's honest replicas start round 0 (l.10); the proposers propose."""
        setup = self.setup_of(config)
        replicas = tuple(
            tuple(None if i < setup.byzantine else self.initial_replica(self.place(setup, m, i))
                  for i in range(setup.n))
            for m in range(len(setup.modules)))
        workload = config.workload
        return self.state_class(setup=Constant(setup), replicas=replicas,
                                crashes_left=int(workload.param("crashes", 0)),
                                version_faults_left=int(workload.param("version_faults", 0)))

    def actions(self, state: BftState) -> Sequence[Action]:
        """Per replica, in index order: its enabled upon rules, timeouts and faults."""
        setup = state.setup.value
        out: list[Action] = []
        for m, row in enumerate(state.replicas):
            sent = self.sent_by(row, setup.byzantine)
            for i, replica in enumerate(row):
                if replica is not None:
                    out.extend(self.replica_actions(self.place(setup, m, i), sent, replica,
                                                    state.crashes_left,
                                                    state.version_faults_left))
        return tuple(out)

    def step(self, state: BftState, action: Action) -> BftState:
        """Apply one action: one upon rule, timeout or fault of one replica."""
        setup = state.setup.value
        m, i = self.locate(setup, action.actor)
        replica = state.replicas[m][i]
        assert replica is not None
        replica = self.replica_step(self.place(setup, m, i), replica, action,
                                    state.version_faults_left)
        state = self.with_replica(state, m, i, replica)
        if action.name == CRASH:
            return attrs.evolve(state, crashes_left=state.crashes_left - 1)
        if action.name == VERSION_FAULT:
            return attrs.evolve(state, version_faults_left=state.version_faults_left - 1)
        return state

    def is_terminal(self, state: BftState) -> bool:
        """Quiescent: no replica has an action (every budget and round bound is finite)."""
        setup = state.setup.value
        for m, row in enumerate(state.replicas):
            sent: Sent | None = None
            for i, replica in enumerate(row):
                if replica is None or replica.crashed:
                    continue
                if sent is None:
                    # Only whether an action is enabled matters here, not whom it names.
                    sent = self.sent_by(row, setup.byzantine, named=False)
                enabled = self.replica_actions(self.place(setup, m, i), sent, replica,
                                               state.crashes_left, state.version_faults_left)
                if next(iter(enabled), None) is not None:
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
            done, after = run_block(tuple(setup.block[t] for t in executed), setup.initial,
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
        free = self.free_replicas(state.setup.value)
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
                     "state", self.agreement),
            Property("INV-VAL", "a decided block holds only its module's own transactions",
                     "state", self.validity),
            Property("INV-ONCE", "no transaction is executed twice, in a block or across "
                     "modules", "state", self.integrity),
            Property("INV-DET", "an honest replica that executed a block has the state root "
                     "serial execution of it gives, so replicas that executed the same "
                     "block agree", "state", self.determinism),
            Property("stall", "a module where no honest replica decided has no live honest "
                     "replica left undecided before the last round, once every message "
                     "sent has been delivered", "terminal", self.stall),
        )

    def mutants(self) -> Sequence[Mutant]:
        """weak-quorum, no-lock and shared-version-diverges (M12): ``mutant_specs``, each
        a ``variant`` of this design (``FlagDesign``)."""
        return super().mutants()

    def notes(self, config: Config) -> tuple[str, ...]:
        """What the run cannot show, or the assumption it breaks on purpose."""
        workload = config.workload
        f = int(workload.param("f", 1))
        byzantine, crashes = (int(workload.param("byzantine", 0)),
                              int(workload.param("crashes", 0)))
        out = []
        if byzantine > f:
            out.append(f"byzantine={byzantine} exceeds f={f}: Tendermint's assumption is "
                       "broken on purpose, so a violation is expected (a fork, INV-AGR)")
        elif byzantine + crashes > f:
            out.append(f"byzantine + crashes = {byzantine + crashes} exceeds f={f}: "
                       "Tendermint's assumption is broken on purpose; crashes beyond it "
                       "cost liveness, a fork needs more than f Byzantine replicas")
        if byzantine == 0:
            out.append("no Byzantine replica: this run cannot find equivocation bugs "
                       "(weak-quorum, no-lock); set byzantine=1")
        if int(workload.param("rounds", 2)) < 2:
            out.append("one round: this run cannot find bugs that need a round change "
                       "(no-lock); set rounds=2")
        if int(workload.param("version_faults", 0)) == 0:
            out.append("no version fault: this run cannot find a retried shared-object "
                       "version initialisation that diverges (shared-version-diverges); "
                       "set version_faults=1")
        return tuple(out)

    # Setup -----------------------------------------------------------------------------

    def setup_of(self, config: Config) -> Setup:
        """What every state of the run carries: the block, the modules and their values,
        n, f, the Byzantine replicas, the round bound, how blocks execute."""
        workload = config.workload
        names = sorted({tx_module(tx, workload.initial) for tx in workload.block}
                       | set(workload.initial.modules()))
        modules = tuple(
            self.module_setup(name, tuple(tx.index for tx in workload.block
                                          if tx_module(tx, workload.initial) == name))
            for name in names)
        return Setup(workload.block, workload.initial, modules,
                     int(workload.param("replicas", 4)), int(workload.param("f", 1)),
                     int(workload.param("byzantine", 0)), int(workload.param("rounds", 2)),
                     str(workload.param("exec", "serial")), config.workers)

    def module_setup(self, name: str, transactions: tuple[int, ...]) -> ModuleSetup:
        """A module and the two values its replicas may see: its transactions in
        workload order (getValue()), and one conflicting valid block (the same
        transactions reversed, or the empty block for a single transaction)."""
        other = tuple(reversed(transactions)) if len(transactions) > 1 else ()
        return ModuleSetup(name, transactions, ((value_name(transactions), transactions),
                                                (value_name(other), other)))

    def initial_replica(self, place: Place) -> Replica:
        """An honest replica before any action: round 0 started (l.10)."""
        return self.start_round(place, self.replica_class(), 0)

    def place(self, setup: Setup, m: int, i: int) -> Place:
        """Replica ``i`` of module ``m``: its ``Place``."""
        return _places(setup)[m][i]

    def locate(self, setup: Setup, actor: str) -> tuple[int, int]:
        """The module and replica indexes of an actor name (``m0/r1``)."""
        name, _, index = actor.partition("/r")
        for m, module in enumerate(setup.modules):
            if module.name == name:
                return m, int(index)
        raise ValueError(f"bft has no replica {actor!r}")

    def with_replica(self, state: BftState, m: int, i: int, replica: Replica) -> BftState:
        """The state with replica ``i`` of module ``m`` replaced."""
        row = state.replicas[m]
        return attrs.evolve(state, replicas=(
            *state.replicas[:m], (*row[:i], replica, *row[i + 1:]), *state.replicas[m + 1:]))

    # Counting and the protocol's parameters ----------------------------------------------

    def sent_by(self, replicas: Sequence[Replica | None], byzantine: int,
                named: bool = True) -> Sent:
        """What a module's replicas have sent, counted as the upon rules count (``Sent``)."""
        return Sent(replicas, byzantine, named)

    def quorum(self, setup: Setup) -> int:
        """The quorum: 2f + 1 (``weak-quorum``: f + 1)."""
        return setup.f + 1 if self.flags.weak_quorum else 2 * setup.f + 1

    def skip_threshold(self, setup: Setup) -> int:
        """Messages of a later round that make a replica skip to it (l.55): f + 1."""
        return setup.f + 1

    def proposer(self, setup: Setup, round_: int) -> int:
        """proposer(h, round) (l.14): replica ``round mod n``."""
        return round_ % setup.n

    def free_replicas(self, setup: Setup) -> tuple[int, ...]:
        """Honest replicas that lead no round within the bound: interchangeable."""
        leaders = {self.proposer(setup, r) for r in range(setup.rounds)}
        return tuple(i for i in range(setup.byzantine, setup.n) if i not in leaders)

    def proposals(self, place: Place, sent: Sent, round_: int) -> tuple[Proposal, ...]:
        """The proposals of ``round_`` from its proposer (l.22, l.28, l.36, l.49)."""
        return (sent.proposals.get(round_, ())
                or self.byzantine_proposals(place.setup, place.m, round_))

    def byzantine_proposals(self, setup: Setup, m: int, round_: int) -> tuple[Proposal, ...]:
        """What a Byzantine proposer of ``round_`` has sent: every value with every valid
        round before it (nothing when the round's proposer is honest)."""
        if self.proposer(setup, round_) >= setup.byzantine:
            return ()
        return every_proposal(setup, m, round_)

    def valid(self, module: ModuleSetup, value: str) -> bool:
        """valid(v) (l.23, l.29, l.36, l.50): only the module's own transactions, each once."""
        return _decision_valid(module, value)

    def proposal_value(self, place: Place, replica: Replica) -> str:
        """What a proposer proposes (l.15-18): its valid value, else the module's block."""
        return replica.valid_value if replica.valid_value != NIL else place.module.honest_value

    # One replica's share of actions() and step(), which the compact path memoizes ------

    def replica_actions(self, place: Place, sent: Sent, replica: Replica, crashes_left: int,
                        version_faults_left: int) -> Iterator[Action]:
        """What a replica may do: execute a decided block, or an upon rule, a timeout or a
        crash."""
        if replica.crashed:
            return
        if replica.decision is not None:
            if replica.executed is None:
                yield from self.execution_actions(place, version_faults_left)
            return
        yield from self.rules(place, sent, replica)
        if crashes_left > 0:
            yield self.crash_action(place)

    def replica_step(self, place: Place, replica: Replica, action: Action,
                     version_faults_left: int) -> Replica:
        """The replica after one of its actions (the budgets are the caller's)."""
        name = action.name
        if name == DECIDE:
            replica = self.on_decide(place, replica, action)
            # Execution is part of the decision step unless version faults may precede it.
            return self.execute_block(place, replica) if version_faults_left == 0 else replica
        if name == ON_PROPOSAL:
            return self.on_proposal(place, replica, action)
        if name == TIMEOUT_PROPOSE:
            return self.on_timeout_propose(place, replica, action)
        if name == ON_POLKA:
            return self.on_polka(place, replica, action)
        if name == ON_NIL_POLKA:
            return self.on_nil_polka(place, replica, action)
        if name == TIMEOUT_PREVOTE:
            return self.on_timeout_prevote(place, replica, action)
        if name == TIMEOUT_PRECOMMIT:
            return self.on_timeout_precommit(place, replica, action)
        if name == SKIP:
            return self.on_skip(place, replica, action)
        if name == EXECUTE:
            return self.on_execute(place, replica, action)
        if name == VERSION_FAULT:
            return self.on_version_fault(place, replica, action)
        if name == CRASH:
            return self.on_crash(place, replica, action)
        raise ValueError(f"bft has no action {action.label()!r}")

    # Tendermint's rules ----------------------------------------------------------------

    def rules(self, place: Place, sent: Sent, replica: Replica) -> Iterator[Action]:
        """The upon rules and timeouts of an undecided replica that may fire now.

        Each reads the messages it counts (``sent_object``) and writes the replica and
        what it sends, so rules of different replicas that count different messages are
        independent for the partial-order reduction.
        """
        yield from self.decide_rule(place, sent, replica)
        yield from self.skip_rule(place, sent, replica)
        # Each rule checks its own step too; asking here first only saves the calls.
        if replica.step == PROPOSE:
            yield from self.proposal_rule(place, sent, replica)
            yield from self.timeout_propose_rule(place, sent, replica)
        else:
            yield from self.polka_rule(place, sent, replica)
            if replica.step == PREVOTE:
                yield from self.nil_polka_rule(place, sent, replica)
                yield from self.timeout_prevote_rule(place, sent, replica)
        yield from self.timeout_precommit_rule(place, sent, replica)

    # l.49-54: a proposal and 2f+1 precommits for it, in any round: decide

    def decide_rule(self, place: Place, sent: Sent, replica: Replica) -> Iterator[Action]:
        """l.49: decide each value ``decidable`` in some round."""
        for round_ in range(place.setup.rounds):
            for value in self.decidable(place, sent, round_):
                yield Action(place.actor, DECIDE,
                             with_senders((("round", round_), ("value", value)),
                                          sent.who(PRECOMMIT, round_, value)),
                             *self.decide_footprint(place, round_))

    def decidable(self, place: Place, sent: Sent, round_: int) -> list[str]:
        """The valid values proposed in ``round_`` with a quorum of precommits."""
        q = self.quorum(place.setup)
        out: list[str] = []
        for p in self.proposals(place, sent, round_):
            if (p.value not in out and sent.precommits_for(round_, p.value) >= q
                    and self.valid(place.module, p.value)):
                out.append(p.value)
        return out

    def decide_footprint(self, place: Place, round_: int) -> Footprint:
        """Reads the round's proposals and precommits (and the version-fault budget,
        which says whether execution is part of the step); writes the replica."""
        return Footprint(frozenset({place.own, place.sent(PROPOSAL, round_),
                                    place.sent(PRECOMMIT, round_), VERSION_FAULTS_OBJECT}),
                         frozenset({place.own}))

    def on_decide(self, place: Place, replica: Replica, action: Action) -> Replica:
        """l.49-51: decide the value, and halt (one height)."""
        return attrs.evolve(replica, decision=str(action.param("value")),
                            decided_in=int(str(action.param("round"))))

    # l.55-56: f+1 messages of a later round: skip to it

    def skip_rule(self, place: Place, sent: Sent, replica: Replica) -> Iterator[Action]:
        """l.55: skip to each later round with ``skip_threshold`` senders."""
        for later in range(replica.round + 1, place.setup.rounds):
            if sent.senders_in(later) >= self.skip_threshold(place.setup):
                yield Action(place.actor, SKIP,
                             with_senders((("round", later),), sent.who("any", later)),
                             *self.skip_footprint(place, later))

    def skip_footprint(self, place: Place, round_: int) -> Footprint:
        """Reads every message of the later round; writes the replica and, as its
        proposer, the round's proposals."""
        reads = {place.sent(k, round_) for k in (PROPOSAL, PREVOTE, PRECOMMIT)}
        return Footprint(frozenset({*reads, place.own}),
                         frozenset({place.own, place.sent(PROPOSAL, round_)}))

    def on_skip(self, place: Place, replica: Replica, action: Action) -> Replica:
        """l.56: StartRound(round)."""
        return self.start_round(place, replica, int(str(action.param("round"))))

    # l.22-33: the round's proposal, with a polka for its valid round if any

    def proposal_rule(self, place: Place, sent: Sent, replica: Replica) -> Iterator[Action]:
        """l.22 and l.28: in step propose, each proposal of the round that is
        ``proposal_ready``."""
        if replica.step != PROPOSE:
            return
        r = replica.round
        proposer = None if sent.names is None else f"r{self.proposer(place.setup, r)}"
        for p in self.proposals(place, sent, r):
            if self.proposal_ready(place, sent, r, p):
                yield Action(place.actor, ON_PROPOSAL,
                             with_senders((("round", r), ("value", p.value),
                                           ("vr", p.valid_round)), proposer),
                             *self.proposal_footprint(place, r, p))

    def proposal_ready(self, place: Place, sent: Sent, round_: int,
                       proposal: Proposal) -> bool:
        """No valid round (l.22), or a quorum of prevotes for the value in its valid round,
        an earlier one (l.28)."""
        vr = proposal.valid_round
        return vr == -1 or (vr < round_ and sent.prevotes_for(vr, proposal.value)
                            >= self.quorum(place.setup))

    def proposal_footprint(self, place: Place, round_: int, proposal: Proposal) -> Footprint:
        """Reads the round's proposals (and the prevotes of its valid round); writes the
        replica and its prevote."""
        reads = {place.own, place.sent(PROPOSAL, round_)}
        if proposal.valid_round >= 0:
            reads.add(place.sent(PREVOTE, proposal.valid_round))
        return Footprint(frozenset(reads),
                         frozenset({place.own, place.sent(PREVOTE, round_)}))

    def on_proposal(self, place: Place, replica: Replica, action: Action) -> Replica:
        """l.24-27, l.30-33: prevote the value if ``accepts``, else nil."""
        value, vr = str(action.param("value")), int(str(action.param("vr")))
        good = self.accepts(place, replica, value, vr)
        return self.vote(replica, PREVOTE, value if good else NIL)

    def accepts(self, place: Place, replica: Replica, value: str, valid_round: int) -> bool:
        """l.23 (no valid round): valid and not locked on another value; l.29: valid and
        locked no later than the valid round, or on this value."""
        if not self.valid(place.module, value):
            return False
        if valid_round == -1:
            return replica.locked_round == -1 or replica.locked_value == value
        return replica.locked_round <= valid_round or replica.locked_value == value

    # l.57-60: timeout-propose

    def timeout_propose_rule(self, place: Place, sent: Sent,
                             replica: Replica) -> Iterator[Action]:
        """l.21 schedules it for a replica that does not propose the round; l.57 fires it."""
        if replica.step == PROPOSE and self.proposer(place.setup, replica.round) != place.i:
            yield Action(place.actor, TIMEOUT_PROPOSE, (("round", replica.round),),
                         *self.timeout_propose_footprint(place, replica.round))

    def timeout_propose_footprint(self, place: Place, round_: int) -> Footprint:
        """Reads the replica; writes it and its prevote."""
        return Footprint(frozenset({place.own}),
                         frozenset({place.own, place.sent(PREVOTE, round_)}))

    def on_timeout_propose(self, place: Place, replica: Replica, action: Action) -> Replica:
        """l.59-60: prevote nil."""
        return self.vote(replica, PREVOTE, NIL)

    # l.36-43: a proposal and 2f+1 prevotes for it, for the first time this round

    def polka_rule(self, place: Place, sent: Sent, replica: Replica) -> Iterator[Action]:
        """l.36: in step prevote or later, each value of ``polkas``, once per round. In the
        last round, after the replica's own precommit, it would only update validValue,
        which only a later round's proposal reads: it is left out there."""
        step, r = replica.step, replica.round
        if step == PROPOSE or replica.valid_round >= r:
            return
        if step != PREVOTE and r + 1 >= place.setup.rounds:
            return
        for value in self.polkas(place, sent, r):
            yield Action(place.actor, ON_POLKA,
                         with_senders((("round", r), ("value", value)),
                                      sent.who(PREVOTE, r, value)),
                         *self.polka_footprint(place, r, step))

    def polkas(self, place: Place, sent: Sent, round_: int) -> list[str]:
        """The valid values proposed in ``round_`` with a quorum of prevotes."""
        q = self.quorum(place.setup)
        out: list[str] = []
        for p in self.proposals(place, sent, round_):
            if (p.value not in out and self.valid(place.module, p.value)
                    and sent.prevotes_for(round_, p.value) >= q):
                out.append(p.value)
        return out

    def polka_footprint(self, place: Place, round_: int, step: str) -> Footprint:
        """Reads the round's proposals and prevotes; writes the replica and, from step
        prevote, its precommit."""
        writes = {place.own}
        if step == PREVOTE:
            writes.add(place.sent(PRECOMMIT, round_))
        return Footprint(frozenset({place.own, place.sent(PROPOSAL, round_),
                                    place.sent(PREVOTE, round_)}), frozenset(writes))

    def on_polka(self, place: Place, replica: Replica, action: Action) -> Replica:
        """l.37-43: from step prevote, ``lock`` and precommit the value; in any step, the
        value becomes the valid value."""
        value, r = str(action.param("value")), replica.round
        if replica.step == PREVOTE:
            replica = self.vote(self.lock(replica, value), PRECOMMIT, value)  # l.38-41
        return attrs.evolve(replica, valid_value=value, valid_round=r)  # l.42-43

    def lock(self, replica: Replica, value: str) -> Replica:
        """l.38-39: lockedValue and lockedRound (``no-lock`` skips it)."""
        if self.flags.no_lock:
            return replica
        return attrs.evolve(replica, locked_value=value, locked_round=replica.round)

    # l.44-46: 2f+1 nil prevotes

    def nil_polka_rule(self, place: Place, sent: Sent, replica: Replica) -> Iterator[Action]:
        """l.44: in step prevote, a quorum of nil prevotes."""
        r = replica.round
        if replica.step == PREVOTE and sent.prevotes_for(r, NIL) >= self.quorum(place.setup):
            yield Action(place.actor, ON_NIL_POLKA,
                         with_senders((("round", r),), sent.who(PREVOTE, r, NIL)),
                         *self.nil_polka_footprint(place, r))

    def nil_polka_footprint(self, place: Place, round_: int) -> Footprint:
        """Reads the round's prevotes; writes the replica and its precommit."""
        return Footprint(frozenset({place.own, place.sent(PREVOTE, round_)}),
                         frozenset({place.own, place.sent(PRECOMMIT, round_)}))

    def on_nil_polka(self, place: Place, replica: Replica, action: Action) -> Replica:
        """l.45-46: precommit nil."""
        return self.vote(replica, PRECOMMIT, NIL)

    # l.34-35, l.61-64: timeout-prevote

    def timeout_prevote_rule(self, place: Place, sent: Sent,
                             replica: Replica) -> Iterator[Action]:
        """l.34 schedules it (in step prevote, a quorum of any prevotes); l.61 fires it."""
        r = replica.round
        if replica.step == PREVOTE and sent.prevotes_in(r) >= self.quorum(place.setup):
            yield Action(place.actor, TIMEOUT_PREVOTE,
                         with_senders((("round", r),), sent.who(PREVOTE, r)),
                         *self.timeout_prevote_footprint(place, r))

    def timeout_prevote_footprint(self, place: Place, round_: int) -> Footprint:
        """Reads the round's prevotes; writes the replica and its precommit."""
        return Footprint(frozenset({place.own, place.sent(PREVOTE, round_)}),
                         frozenset({place.own, place.sent(PRECOMMIT, round_)}))

    def on_timeout_prevote(self, place: Place, replica: Replica, action: Action) -> Replica:
        """l.63-64: precommit nil."""
        return self.vote(replica, PRECOMMIT, NIL)

    # l.47-48, l.65-67: timeout-precommit

    def timeout_precommit_rule(self, place: Place, sent: Sent,
                               replica: Replica) -> Iterator[Action]:
        """l.47 schedules it (a quorum of any precommits); l.65 fires it; the round bound
        stops it."""
        r = replica.round
        if r + 1 < place.setup.rounds and sent.precommits_in(r) >= self.quorum(place.setup):
            yield Action(place.actor, TIMEOUT_PRECOMMIT,
                         with_senders((("round", r),), sent.who(PRECOMMIT, r)),
                         *self.timeout_precommit_footprint(place, r))

    def timeout_precommit_footprint(self, place: Place, round_: int) -> Footprint:
        """Reads the round's precommits; writes the replica and, as the next round's
        proposer, its proposals."""
        return Footprint(frozenset({place.own, place.sent(PRECOMMIT, round_)}),
                         frozenset({place.own, place.sent(PROPOSAL, round_ + 1)}))

    def on_timeout_precommit(self, place: Place, replica: Replica,
                             action: Action) -> Replica:
        """l.67: StartRound(round + 1)."""
        return self.start_round(place, replica, replica.round + 1)

    # What the rules share

    def vote(self, replica: Replica, kind: str, value: str) -> Replica:
        """Broadcast a prevote or precommit for the replica's round and move to that step
        (l.24-27, l.30-33, l.40-41, l.45-46, l.59-60, l.63-64)."""
        vote = Vote(replica.round, value)
        if kind == PREVOTE:
            return attrs.evolve(replica, prevotes=(*replica.prevotes, vote), step=PREVOTE)
        return attrs.evolve(replica, precommits=(*replica.precommits, vote), step=PRECOMMIT)

    def start_round(self, place: Place, replica: Replica, round_: int) -> Replica:
        """StartRound(round), l.11-21: the round's proposer proposes ``proposal_value``
        (l.19); any other replica now waits for timeout-propose (l.21)."""
        replica = attrs.evolve(replica, round=round_, step=PROPOSE)
        if self.proposer(place.setup, round_) == place.i:
            proposal = Proposal(round_, self.proposal_value(place, replica),
                                replica.valid_round)
            replica = attrs.evolve(replica, proposals=(*replica.proposals, proposal))
        return replica

    # Execution and faults ----------------------------------------------------------------

    def execution_actions(self, place: Place, version_faults_left: int) -> Iterator[Action]:
        """A decided replica executes its block; while the budget lasts, a version
        initialisation may fail first."""
        yield Action(place.actor, EXECUTE, (), {place.own}, {place.own})
        if version_faults_left > 0:
            budget = {place.own, VERSION_FAULTS_OBJECT}
            yield Action(place.actor, VERSION_FAULT, (), budget, budget)

    def on_execute(self, place: Place, replica: Replica, action: Action) -> Replica:
        """Execute the decided block (``execute_block``)."""
        return self.execute_block(place, replica)

    def on_version_fault(self, place: Place, replica: Replica, action: Action) -> Replica:
        """A version initialisation failed; the replica will retry it."""
        return attrs.evolve(replica, version_faults=replica.version_faults + 1)

    def execute_block(self, place: Place, replica: Replica) -> Replica:
        """Execute the decided block: record its transactions and the ``state_root``."""
        txs = place.module.block(replica.decision or NIL)
        if txs is None:
            raise ValueError(f"{place.module.name} decided an unknown value "
                             f"{replica.decision!r}")
        root = self.state_root(place.setup, place.module, txs, replica.version_faults)
        return attrs.evolve(replica, executed=txs, root=root)

    def state_root(self, setup: Setup, module: ModuleSetup, txs: tuple[int, ...],
                   faults: int) -> str:
        """The root a replica reaches executing ``txs`` after ``faults`` failed version
        initialisations (``shared-version-diverges``: retried from the partial versions)."""
        return root_of(setup, module, txs, faults, self.flags.version_retry_keeps_partial)

    def reference_root(self, setup: Setup, module: ModuleSetup, txs: tuple[int, ...]) -> str:
        """The root INV-DET holds every replica to: ``txs`` executed with no fault."""
        return root_of(setup, module, txs, 0, False)

    def crash_action(self, place: Place) -> Action:
        """An honest replica crashes (while the ``crashes`` budget lasts)."""
        budget = {place.own, CRASHES_OBJECT}
        return Action(place.actor, CRASH, (), budget, budget)

    def on_crash(self, place: Place, replica: Replica, action: Action) -> Replica:
        """The replica stops; what it sent stays sent."""
        return attrs.evolve(replica, crashed=True)

    # Invariants ------------------------------------------------------------------------

    def honest(self, state: BftState, m: int) -> list[tuple[str, Replica]]:
        """Module ``m``'s honest replicas, by actor name."""
        name = state.setup.value.modules[m].name  # the actor names Place gives
        return [(f"{name}/r{i}", r) for i, r in enumerate(state.replicas[m]) if r is not None]

    def agreement(self, state: BftState) -> str | None:
        """INV-AGR: honest replicas of a module never decide different blocks."""
        for m in range(len(state.replicas)):
            decided = [(a, r) for a, r in self.honest(state, m) if r.decision is not None]
            for a, r in decided[1:]:
                first, d = decided[0]
                if r.decision != d.decision:
                    return (f"{first} decided {d.decision} in round {d.decided_in} but {a} "
                            f"decided {r.decision} in round {r.decided_in}")
        return None

    def validity(self, state: BftState) -> str | None:
        """INV-VAL: a decided block holds only its module's own transactions."""
        setup = state.setup.value
        for m, module in enumerate(setup.modules):
            for actor, r in self.honest(state, m):
                if r.decision is None:
                    continue
                txs = module.block(r.decision)
                if txs is None or not set(txs) <= set(module.transactions):
                    return (f"{actor} decided {r.decision}, not a block of {module.name}'s "
                            "own transactions")
        return None

    def integrity(self, state: BftState) -> str | None:
        """INV-ONCE: no transaction is executed twice, in a block or across modules."""
        executed_by: dict[int, str] = {}
        for m in range(len(state.replicas)):
            module = state.setup.value.modules[m].name
            for actor, r in self.honest(state, m):
                if r.executed is None:
                    continue
                if len(set(r.executed)) != len(r.executed):
                    return f"{actor} executed a block with a transaction twice: {r.executed}"
                for tx in r.executed:
                    other = executed_by.setdefault(tx, module)
                    if other != module:
                        return f"T{tx} was executed by {other} and by {module}"
        return None

    def determinism(self, state: BftState) -> str | None:
        """INV-DET: every replica's root is ``reference_root`` of its block, so replicas
        that executed the same block agree."""
        setup = state.setup.value
        for m, module in enumerate(setup.modules):
            seen: dict[tuple[int, ...], tuple[str, str]] = {}
            for actor, r in self.honest(state, m):
                if r.executed is None or r.root is None:
                    continue
                # Every execution mode on every replica must give serial execution's root.
                reference = self.reference_root(setup, module, r.executed)
                if r.root != reference:
                    return (f"{actor} executed {value_name(r.executed)} to state root "
                            f"{r.root}; serial execution of that block gives {reference}")
                first = seen.setdefault(r.executed, (actor, r.root))
                if first[1] != r.root:
                    return (f"{first[0]} and {actor} executed the same block "
                            f"{value_name(r.executed)} but reached state roots {first[1]} "
                            f"and {r.root}")
        return None

    def stall(self, state: BftState) -> str | None:
        """stall (terminal): a module where no honest replica decided has no live honest
        replica left undecided before the last round."""
        setup = state.setup.value
        for m in range(len(state.replicas)):
            replicas = self.honest(state, m)
            if any(r.decision is not None for _, r in replicas):
                continue
            for actor, r in replicas:
                if not r.crashed and r.round + 1 < setup.rounds:
                    return (f"{actor} is stuck undecided in round {r.round} at {r.step}, "
                            "with nothing to receive and no timeout to take")
        return None


# --- the compact path -----------------------------------------------------------------


class BftPacking:
    """States as ints, for the explorer's fast path (``model.Compact``).

    Every distinct replica value met in a run gets a number (in the order they are met,
    so the numbering is deterministic for a run), and a state packs into the crash
    budget (4 bits), the version-fault budget (4 bits) and the number of each honest
    replica (``_ID_BITS`` each). A replica's successors depend only on the replica, on
    what its module has sent and on the two budgets, so they are memoized on exactly
    that: ``successors`` is then a few dict lookups per replica, and a replica's
    actions and steps run once per distinct situation, through the design's own methods
    (``replica_actions``, ``replica_step``, ``sent_by``, ``free_replicas``). A state it
    unpacks is the run's initial state evolved, so a subclass's constant fields stay.

    What it flags as notable (``_fine``) is what ``Bft``'s own state properties check,
    computed as they compute it (through ``reference_root``), never through a guard a
    subclass may loosen.
    """

    def __init__(self, design: Bft, initial: BftState) -> None:
        self.design = design
        self.initial = initial
        self.setup = initial.setup.value
        self.shape = tuple(tuple(r is None for r in row) for row in initial.replicas)
        self.slots = tuple((m, i) for m, row in enumerate(self.shape)
                           for i, byzantine in enumerate(row) if not byzantine)
        self.places = tuple(design.place(self.setup, m, i) for m, i in self.slots)
        self.module_slots = tuple(tuple(k for k, (mm, _) in enumerate(self.slots) if mm == m)
                                  for m in range(len(self.shape)))
        free = set(design.free_replicas(self.setup))
        self.free_slots = tuple(tuple(k for k in slots if self.slots[k][1] in free)
                                for slots in self.module_slots)
        self.replicas: list[Replica] = []
        self.numbers: dict[Replica, int] = {}
        self.logs: list[int] = []  # replica number -> number of what it sent
        self.log_replicas: list[Replica] = []  # log number -> a replica that sent it
        self.log_numbers: dict[Log, int] = {}
        self.fine: dict[tuple[int, int], bool] = {}  # (module, replica number) -> _fine
        self.decisions: list[str | None] = []
        self.sent: dict[tuple[int, ...], Sent] = {}
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
        log = log_of(replica)
        number = self.log_numbers.get(log)
        if number is None:
            number = self.log_numbers[log] = len(self.log_replicas)
            self.log_replicas.append(replica)
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
        return attrs.evolve(self.initial, replicas=tuple(tuple(row) for row in rows),
                            crashes_left=code & 15, version_faults_left=(code >> 4) & 15)

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
                    moves = self._moves(k, n, key, crashes, faults)
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
        its root is the reference root (INV-DET). Valid blocks of different modules
        share no transaction, and replicas with the reference root for the same block
        agree, so what is left across replicas is INV-AGR, which ``successors``
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
        ok = _decision_valid(module, replica.decision)
        if ok and replica.executed is not None:
            ok = (len(set(replica.executed)) == len(replica.executed)
                  and replica.root == self.design.reference_root(setup, module,
                                                                  replica.executed))
        self.fine[m, n] = ok
        return ok

    def _moves(self, k: int, n: int, key: tuple[int, ...], crashes: int,
               faults: int) -> tuple[tuple[int, int, int], ...]:
        """Replica ``n`` in slot ``k``: for each of its actions, its number after it and
        the crash and version-fault budget it spends."""
        design = self.design
        sent = self.sent.get(key)
        if sent is None:
            sent = design.sent_by([self.log_replicas[log] for log in key],
                                  self.setup.byzantine, named=False)
            self.sent[key] = sent
        replica = self.replicas[n]
        place = self.places[k]
        moves = []
        for action in design.replica_actions(place, sent, replica, crashes, faults):
            after = design.replica_step(place, replica, action, faults)
            moves.append((self.number(after), int(action.name == CRASH),
                          int(action.name == VERSION_FAULT)))
        return tuple(moves)


_ID_BITS = 24
"""Bits of a replica's number in a packed state."""
