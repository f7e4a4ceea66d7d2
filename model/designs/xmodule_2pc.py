"""Two-phase commit across modules, in the shape of Chainspace's S-BAC.

The real system: M. Al-Bassam, A. Sonnino, S. Bano, D. Hrycyszyn, G. Danezis,
"Chainspace: A Sharded Smart Contracts Platform", NDSS 2018, §4 (Sharded Byzantine
Atomic Commit); its replay attacks and the Byzcuit defence: A. Sonnino, S. Bano,
M. Al-Bassam, G. Danezis, "Replay Attacks and Defenses Against Cross-shard Consensus in
Sharded Distributed Ledgers", EuroS&P 2020 (arXiv 1901.11218; code ``srene/byzcuit``).
See shared/research/designs.md §3.1.

What is modelled, for each cross-module transfer T (``amount`` from an account of the
source module to an account of the destination module):

1. The client, actor ``coordinator``, sends ``prepare`` for T's attempt 1 to both
   concerned modules (in flight in the initial state).
2. Each module, on ``prepare``, decides locally ``prepared(accept)`` — its key is not
   locked by another transaction and, at the source, the balance covers the amount — and
   then locks its key; otherwise ``prepared(abort)``. It reads its key now and computes
   what it will write. It sends ``pre-accept`` or ``pre-abort`` to the other concerned
   module. A module that pre-aborts has decided abort.
3. A module that holds every concerned module's vote decides ``accept`` (all
   pre-accepted: it installs its write) or ``abort``, and releases its lock. In S-BAC this
   is the shard's second consensus round; here it happens in the step that delivers the
   last vote.
4. When both modules decided abort, the client may retry T as attempt k + 1 (up to
   ``attempts=`` attempts). Every message carries its session: the transaction id and
   the attempt. A module handles a vote only for the attempt it is in: older ones are
   stale and discarded; newer ones wait until that attempt's ``prepare`` arrives.

A transfer whose accounts share a module is local: its module executes it in one step
once no lock covers its keys. Each module's ordering is abstracted as atomic steps: a
module's decision is one action, as if its BFT consensus instance had committed it
(``model/designs/bft*.py`` models that consensus). Messages are never dropped; the
attacker (actor ``network``) duplicates a message in flight (``dups=``) or re-sends any
message ever sent, delivered or not (``replays=``), which is the Chainspace replay.

Properties (designs.md §3.3): INV-ATOM, INV-CONS, INV-NDS and INV-ONCE in every state;
INV-LIVE (no lock or undecided transfer left) at the end; and the checker's
``global-order`` criterion over the committed history (reads at prepare time with their
writers, writes at accept). INV-VAL holds by construction (only the block's transfers
run) and INV-ORD does not apply (transfers carry no nonces).

Mutants: ``unbound-session`` (M10 of designs.md §6.2) and ``early-release``.

Its default workload (``default_workload``, for a run that names none) is
``xtransfers:xtxs=1,txs=1,accounts=2,replays=1``: one cross-module transfer, one local
transfer that spends the same account, and an attacker that may replay one message. Both
mutants fail there (``early-release`` as a lost update, INV-CONS; ``unbound-session`` as
the retry's pre-abort taken into the module's decided session of attempt 1, which leaves
attempt 2 waiting for it with its lock held, INV-LIVE), and the correct design passes
all 167 states in under a second.

Extending this design
---------------------

Subclass ``TwoPhaseCommit`` and override one method; everything the design does goes
through ``self``, and every step evolves the state it is given, so fields a subclass adds
to ``TwoPcState`` or ``ModuleState`` (with defaults) survive every step. The names a
variant needs are public: this module's ``TwoPhaseCommit``, ``TwoPcState``,
``ModuleState``, ``Session``, ``Spec``, ``Flags``, ``MUTANTS``, the vote and message
kinds (``ACCEPT``, ``ABORT``, ``PREPARE``, ``PRE_ACCEPT``, ``PRE_ABORT``), the actors
and objects (``COORDINATOR``, ``REPLAY``, ``REPLAYS_OBJECT``, ``SENT_OBJECT``),
``session_payload``, ``vote_kind``, ``message_order`` and ``install_order``;
``Transfer``, ``number``, ``replace_at``, ``writer_of``, ``with_writers``, ``balances``
from ``xmodule``; ``Message``, ``Network``, ``deliver_action``, ``network_action``,
``message_of``, ``inbox_object`` and ``message_object`` from ``model.network``.

State and setup:

- ``state_class`` (attribute, default ``TwoPcState``) and ``module_class`` (default
  ``ModuleState``): the classes ``initial`` builds, by keyword.
- ``initial(config) -> TwoPcState``: attempt 1's ``prepare`` in flight to both modules
  of every cross-module transfer.
- ``module(state, name) -> ModuleState`` and ``with_module(state, name, module,
  **changes) -> TwoPcState``: read and replace one module's state.

Enabled steps (``protocol_actions(state)``: per module, its deliveries then its local
executions; then the client's retries):

- ``delivery_actions(state, name, module) -> tuple[Action, ...]``: each message in
  flight to module ``name`` that ``deliverable`` allows, as its ``deliver`` action.
- ``deliverable(module, message) -> bool``: a ``prepare`` always; a vote once the
  module is in that attempt's session or a later one (``unbound-session``: any session).
- ``local_actions(state, name, module) -> tuple[Action, ...]``: each local transfer of
  the module whose keys no lock covers, as its ``execute`` action.
- ``retry_actions(state) -> tuple[Action, ...]``, with ``may_retry(state, transfer) ->
  bool``: the client's ``retry`` of a transfer both modules aborted.

Steps (``protocol_step(state, action)`` dispatches to them):

- ``on_prepare(state, message) -> TwoPcState``: S-BAC step 1, built from
  ``local_vote(state, module, transfer, key, value) -> str`` (accept or abort),
  ``lock(module, key, tx) -> ModuleState`` (``early-release`` skips it) and
  ``vote_messages(name, transfer, vote, attempt) -> tuple[Message, ...]``.
- ``on_vote(state, message) -> TwoPcState``: S-BAC step 2, built from
  ``ignores_vote(session, message) -> bool`` (stale, decided or duplicate),
  ``decide(votes) -> str``, ``release(module, tx) -> ModuleState`` and
  ``install(state, name, module, session) -> TwoPcState`` (accept: the write).
- ``execute_local(state, name, tx) -> TwoPcState``: a local transfer in one step.
- ``retry(state, tx) -> TwoPcState``: the client's next attempt, with
  ``prepare_messages(transfer, attempt) -> tuple[Message, ...]``.
- ``replay_actions(state) -> tuple[Action, ...]`` and ``replay(state, action) ->
  TwoPcState``: the attacker re-sends a message ever sent (``replays=``);
  ``record_sent(state, messages) -> frozenset[Message]`` is what it has seen.
- Inherited from ``xmodule.CrossModuleDesign``: ``fault_actions(state)`` (here the
  network's duplicates and the replays) and ``network_fault(state, action)``,
  ``variant(flags, mutant)`` (how ``mutants()`` copies the design), ``notes(config)``.

Invariants (``properties()`` lists them; each takes a state, returns None or a message):
``atomicity`` (INV-ATOM), ``once`` (INV-ONCE), ``conservation`` (INV-CONS),
``no_negative`` (INV-NDS), ``finished`` (INV-LIVE, terminal). A subclass adds one by
overriding ``properties()`` and returning ``(*super().properties(), Property(...))``.

Mutants: ``mutants()`` builds each entry of ``mutant_specs`` (default ``MUTANTS``) as
``variant(flags with its field on, name)``: a subclass's mutants run the subclass's
code. A variant with a bug of its own subclasses ``Flags``, sets ``flags_class`` and
appends a ``FlagMutant`` (``model.designs.flag_mutants``) to ``mutant_specs``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import attrs

from shardcheck.model.api import (
    Action,
    Config,
    KnownFailure,
    Outcome,
    Property,
    ReadRecord,
    TxRecord,
)
from shardcheck.model.designs.flag_mutants import FlagMutant
from shardcheck.model.designs.xmodule import (
    CrossModuleDesign,
    Transfer,
    balances,
    budget,
    first_repeat,
    number,
    replace_at,
    transfers_of,
    with_writers,
    writer_of,
)
from shardcheck.model.encoding import Constant
from shardcheck.model.language import Transaction
from shardcheck.model.network import (
    Message,
    Network,
    deliver_action,
    inbox_object,
    message_object,
    message_of,
    network_action,
)
from shardcheck.model.reference import execute_transaction
from shardcheck.model.store import Store

ACCEPT, ABORT = "accept", "abort"
PREPARE, PRE_ACCEPT, PRE_ABORT = "prepare", "pre-accept", "pre-abort"
COORDINATOR = "coordinator"
REPLAY = "replay"
REPLAYS_OBJECT = "net:replays"
SENT_OBJECT = "net:sent"
"""The footprint object of the attacker's record of sent messages, which every send
extends and every replay reads."""


class Session(NamedTuple):
    """A module's record of the latest attempt of one transaction it has seen.

    ``votes`` holds each concerned module's vote received so far (its own included);
    ``decision`` is "" until the module decides. ``read`` and ``write`` are its key as
    read at prepare time and the value it installs on accept.
    """

    tx: int
    attempt: int
    votes: tuple[tuple[str, str], ...]
    decision: str
    read: ReadRecord
    write: tuple[str, int]

    def __repr__(self) -> str:
        # Timelines print changed sessions by repr: say what a reader follows.
        votes = " ".join(f"{m}:{v}" for m, v in self.votes)
        return (f"<T{self.tx} attempt {self.attempt}, votes {votes}, "
                f"{self.decision or 'undecided'}>")


@attrs.frozen
class ModuleState:
    """One module: its sessions (sorted by transaction) and the locks on its keys."""

    sessions: tuple[Session, ...] = ()
    locks: tuple[tuple[str, int], ...] = ()

    def session(self, tx: int) -> Session | None:
        """The module's session of ``tx``, if it has seen ``tx``."""
        for s in self.sessions:
            if s.tx == tx:
                return s
        return None

    def holder(self, key: str) -> int | None:
        """The transaction holding the lock on ``key``."""
        for k, tx in self.locks:
            if k == key:
                return tx
        return None

    def with_session(self, session: Session) -> ModuleState:
        """The module with ``session`` as its session of that transaction (added in
        order, or replacing the one it had)."""
        others = (s for s in self.sessions if s.tx != session.tx)
        return attrs.evolve(self, sessions=tuple(sorted((*others, session))))


@attrs.frozen
class Spec:
    """What a run needs throughout: the block, its transfers, the modules, the attempts."""

    block: tuple[Transaction, ...]
    transfers: tuple[Transfer, ...]
    modules: tuple[str, ...]
    attempts: int
    supply: int


@attrs.frozen
class TwoPcState:
    """The store, every module, each transfer's current attempt, and the network."""

    spec: Constant[Spec]
    store: Store
    writers: tuple[tuple[str, int], ...]
    modules: tuple[ModuleState, ...]
    attempt: tuple[int, ...]
    local: tuple[TxRecord | None, ...]
    network: Network
    sent: frozenset[Message]
    """Every message sent so far, which the attacker may replay (empty once it cannot)."""
    replays_left: int
    log: tuple[tuple[int, str], ...]
    """Every (transaction, module) write installation, in the order they happened."""


@attrs.frozen
class Flags:
    """Which bug is switched on; all False is the protocol as published."""

    unbound_session: bool = False
    early_release: bool = False


def vote_kind(vote: str) -> str:
    """The message kind of a vote: ``pre-accept`` for accept, ``pre-abort`` for abort."""
    return PRE_ACCEPT if vote == ACCEPT else PRE_ABORT


def session_payload(tx: int, attempt: int) -> tuple[tuple[str, int], ...]:
    """The payload binding a message to its session: the transaction and the attempt."""
    return (("tx", tx), ("attempt", attempt))


def message_order(message: Message) -> tuple[str, str, str, str]:
    """The order the attacker's replays are offered in."""
    return (message.dst, message.kind, repr(message.payload), message.src)


def install_order(log: tuple[tuple[int, str], ...], n: int) -> tuple[int, ...]:
    """One order of the transactions consistent with the order writes were installed.

    Two transactions that installed writes in the same module are ordered as they
    installed them; the rest by their first installation, then by index. When the modules
    disagree (only a broken protocol does that) the first installations decide.
    """
    first: dict[int, int] = {}
    for position, (tx, _) in enumerate(log):
        first.setdefault(tx, position)
    rank = {tx: first.get(tx, len(log) + tx) for tx in range(n)}
    after: dict[int, set[int]] = {tx: set() for tx in range(n)}
    last_in: dict[str, int] = {}
    for tx, module in log:
        previous = last_in.get(module)
        if previous is not None and previous != tx:
            after[tx].add(previous)
        last_in[module] = tx
    order: list[int] = []
    placed: set[int] = set()
    while len(order) < n:
        ready = [tx for tx in range(n) if tx not in placed and after[tx] <= placed]
        if not ready:  # a cycle: the modules installed in contradicting orders
            return tuple(sorted(range(n), key=lambda tx: (rank[tx], tx)))
        choice = min(ready, key=lambda tx: (rank[tx], tx))
        order.append(choice)
        placed.add(choice)
    return tuple(order)


MUTANTS: tuple[FlagMutant, ...] = (
    FlagMutant("unbound-session", "unbound_session",
     "M10: pre-accept/pre-abort handled whatever attempt they belong to",
     """What is wrong: a module handles a pre-accept or pre-abort of transaction T as a
vote in its current session of T, whichever attempt the message came from. A pre-abort
recorded from an aborted attempt and replayed during the retry makes one module abort
while the other, which got the fresh pre-accept, accepts.
Where: Chainspace's S-BAC messages named the transaction, not the protocol instance;
Sonnino, Bano, Al-Bassam, Danezis, "Replay Attacks and Defenses Against Cross-shard
Consensus in Sharded Distributed Ledgers" (EuroS&P 2020, arXiv 1901.11218) and the
srene/byzcuit replay-attack demo; Byzcuit binds every message to its session.
designs.md §6.2 (M10).
What a user sees: the source module keeps the money and the destination is credited
anyway (or the reverse): atomicity and conservation break.
The stale message needs no attacker: asynchrony alone delivers attempt 1's pre-accept
during attempt 2, as the paper warns; a replayed one (replays=1) does the same.
Found by: shardcheck explore two-phase-commit:unbound-session --workload xtransfers:xtxs=2
(BFS: INV-ATOM after 10 steps).""",
     KnownFailure("xtransfers:xtxs=2", 2, "INV-ATOM", 10)),
    FlagMutant("early-release", "early_release",
     "a module releases its lock as soon as it has voted, before the decision",
     """What is wrong: a module that votes prepared(accept) does not keep its key locked
until accept or abort. Another transaction reads the same balance and commits in
between; the first one's accept then installs a write computed from the old balance.
Where: strict two-phase locking holds locks to the decision (Gray & Reuter, Transaction
Processing, §7; S-BAC's inputs stay locked until accept(T) or abort(T)); releasing at
prepare is the classic lost update of early lock release.
What a user sees: a debit or credit is lost: conservation breaks, and the committed
history has no serial order.
Found by: shardcheck explore two-phase-commit:early-release \\
    --workload xtransfers:xtxs=1,txs=1,accounts=2
(BFS: INV-CONS after 4 steps).""",
     KnownFailure("xtransfers:xtxs=1,txs=1,accounts=2", 2, "INV-CONS", 4)),
)


class TwoPhaseCommit(CrossModuleDesign[TwoPcState, Flags]):
    """S-BAC two-phase commit: lock at prepare, decide on every module's vote."""

    name = "two-phase-commit"
    summary = ("S-BAC two-phase commit across modules (Chainspace, NDSS 2018): locks at "
               "prepare, votes bound to their session")
    criteria = ("global-order",)
    flags_class = Flags
    mutant_specs = MUTANTS
    state_class: type[TwoPcState] = TwoPcState
    """The class ``initial`` builds (by keyword): a subclass adds fields with defaults."""
    module_class: type[ModuleState] = ModuleState
    """The class of each module's state in ``initial``."""
    default_workload = "xtransfers:xtxs=1,txs=1,accounts=2,replays=1"

    # The design interface -------------------------------------------------------------

    def initial(self, config: Config) -> TwoPcState:
        """Attempt 1 of every cross-module transfer is in flight to its modules."""
        workload = config.workload
        transfers = transfers_of(self.name, config)
        modules = tuple(sorted({m for t in transfers for m in t.modules()}))
        spec = Spec(workload.block, transfers, modules,
                    max(1, int(workload.param("attempts", 2))), balances(workload.initial))
        prepares = tuple(m for t in transfers if t.cross
                         for m in self.prepare_messages(t, 1))
        network = Network(duplicates_left=budget(workload, "dups")).send(*prepares)
        replays = budget(workload, "replays")
        return self.state_class(
            spec=Constant(spec), store=workload.initial, writers=(),
            modules=tuple(self.module_class() for _ in modules),
            attempt=tuple(1 if t.cross else 0 for t in transfers),
            local=tuple(None for _ in transfers), network=network,
            sent=frozenset(prepares) if replays else frozenset(), replays_left=replays,
            log=())

    def outcome(self, state: TwoPcState) -> Outcome:
        """The store, each transfer's committed reads and writes, installs in order."""
        spec = state.spec.value
        records = []
        for t in spec.transfers:
            local = state.local[t.index]
            if local is not None:
                records.append(local)
                continue
            applied = [self.module(state, m).session(t.index) for m in t.modules()
                       if (t.index, m) in state.log]
            if not applied:
                records.append(TxRecord(t.index, "reverted", (), ()))
                continue
            records.append(TxRecord(t.index, "committed",
                                    tuple(s.read for s in applied if s is not None),
                                    tuple(s.write for s in applied if s is not None)))
        return Outcome(state.store, install_order(state.log, len(spec.transfers)),
                       tuple(records))

    def properties(self) -> Sequence[Property]:
        """INV-ATOM, INV-ONCE, INV-CONS, INV-NDS in every state; INV-LIVE at the end."""
        return (
            Property("INV-ATOM", "the modules of a cross-module transfer never decide "
                     "differently on one attempt", "state", self.atomicity),
            Property("INV-ONCE", "no module installs a transfer's write twice, and no "
                     "transfer commits in two attempts", "state", self.once),
            Property("INV-CONS", "total balance is constant, a transfer one module has "
                     "applied and the other not yet decided counted as not applied",
                     "state", self.conservation),
            Property("INV-NDS", "no account is spent below zero", "state", self.no_negative),
            Property("INV-LIVE", "at the end every transfer is decided at each of its "
                     "modules and no lock is held", "terminal", self.finished),
        )

    def notes(self, config: Config) -> tuple[str, ...]:
        """What the run cannot show: no replayed or duplicated message, no retry."""
        workload = config.workload
        out = []
        if not budget(workload, "replays") and not budget(workload, "dups"):
            out.append("no fault budget (replays=0, dups=0): this run cannot show a bug "
                       "that only a replayed or duplicated message triggers, such as "
                       "Chainspace's replayed pre-abort; add replays=1")
        if int(workload.param("attempts", 2)) < 2:
            out.append("attempts=1: no transfer is retried, so no vote of an earlier "
                       "attempt can reach a later one (unbound-session)")
        return tuple(out)

    # Reading and replacing a module ----------------------------------------------------

    def module(self, state: TwoPcState, name: str) -> ModuleState:
        """Module ``name``'s state."""
        return state.modules[state.spec.value.modules.index(name)]

    def with_module(self, state: TwoPcState, name: str, module: ModuleState,
                    **changes: Any) -> TwoPcState:
        """The state with module ``name`` replaced by ``module`` (and ``changes``)."""
        index = state.spec.value.modules.index(name)
        return attrs.evolve(state, modules=replace_at(state.modules, index, module),
                            **changes)

    # Enabled steps ---------------------------------------------------------------------

    def protocol_actions(self, state: TwoPcState) -> tuple[Action, ...]:
        """Per module its deliveries, then its local executions; then the retries."""
        out: list[Action] = []
        for name, module in zip(state.spec.value.modules, state.modules, strict=True):
            out.extend(self.delivery_actions(state, name, module))
            out.extend(self.local_actions(state, name, module))
        out.extend(self.retry_actions(state))
        return tuple(out)

    def delivery_actions(self, state: TwoPcState, name: str,
                         module: ModuleState) -> tuple[Action, ...]:
        """Each message in flight to ``name`` that it may take now: it reads the module
        and writes the module, the store, the attacker's record and the other modules'
        inboxes (its reply)."""
        replies_to = {inbox_object(m) for m in state.spec.value.modules if m != name}
        return tuple(deliver_action(message, reads={name},
                                    writes={name, "store", SENT_OBJECT, *replies_to})
                     for message in state.network.distinct(name)
                     if self.deliverable(module, message))

    def deliverable(self, module: ModuleState, message: Message) -> bool:
        """Whether the module takes ``message`` now: a prepare always; a vote once the
        module has a session of its transaction at that attempt or a later one."""
        if message.kind == PREPARE:
            return True
        session = module.session(number(message.get("tx")))
        if session is None:
            return False  # the vote waits for this module's own prepare
        if self.flags.unbound_session:
            return True
        return session.attempt >= number(message.get("attempt"))

    def local_actions(self, state: TwoPcState, name: str,
                      module: ModuleState) -> tuple[Action, ...]:
        """Each local transfer of module ``name`` not yet run whose keys no lock covers."""
        return tuple(Action(name, "execute", (("tx", t.index),),
                            frozenset({name, "store"}), frozenset({"store"}))
                     for t in state.spec.value.transfers
                     if (not t.cross and t.src_module == name and state.local[t.index] is None
                         and module.holder(t.src) is None and module.holder(t.dst) is None))

    def retry_actions(self, state: TwoPcState) -> tuple[Action, ...]:
        """The client's ``retry`` of each transfer ``may_retry`` allows."""
        out: list[Action] = []
        for t in state.spec.value.transfers:
            if self.may_retry(state, t):
                attempt = state.attempt[t.index] + 1
                out.append(Action(COORDINATOR, "retry", session_payload(t.index, attempt),
                                  frozenset(t.modules()),
                                  frozenset({SENT_OBJECT, *map(inbox_object, t.modules()),
                                             *map(message_object,
                                                  self.prepare_messages(t, attempt))})))
        return tuple(out)

    def may_retry(self, state: TwoPcState, transfer: Transfer) -> bool:
        """Whether the client may retry: attempts remain, and both modules decided abort
        in the current one."""
        attempt = state.attempt[transfer.index]
        if not transfer.cross or attempt >= state.spec.value.attempts:
            return False
        for m in transfer.modules():
            session = self.module(state, m).session(transfer.index)
            if session is None or session.attempt != attempt or session.decision != ABORT:
                return False
        return True

    def prepare_messages(self, transfer: Transfer, attempt: int) -> tuple[Message, ...]:
        """The client's ``prepare`` of ``attempt`` to each module of ``transfer``."""
        return tuple(Message(COORDINATOR, m, PREPARE, session_payload(transfer.index, attempt))
                     for m in transfer.modules())

    # Steps -----------------------------------------------------------------------------

    def protocol_step(self, state: TwoPcState, action: Action) -> TwoPcState:
        """A replay, a retry, a local execution, or a delivered prepare or vote."""
        if action.name == REPLAY:
            return self.replay(state, action)
        if action.actor == COORDINATOR:
            return self.retry(state, number(action.param("tx")))
        if action.name == "execute":
            return self.execute_local(state, action.actor, number(action.param("tx")))
        message = message_of(action)
        state = attrs.evolve(state, network=state.network.remove(message))
        if message.kind == PREPARE:
            return self.on_prepare(state, message)
        return self.on_vote(state, message)

    def retry(self, state: TwoPcState, tx: int) -> TwoPcState:
        """The client's next attempt: its prepares in flight."""
        attempt = state.attempt[tx] + 1
        prepares = self.prepare_messages(state.spec.value.transfers[tx], attempt)
        return attrs.evolve(state, network=state.network.send(*prepares),
                            sent=self.record_sent(state, prepares),
                            attempt=replace_at(state.attempt, tx, attempt))

    def on_prepare(self, state: TwoPcState, message: Message) -> TwoPcState:
        """S-BAC step 1: decide prepared(accept) and lock, or prepared(abort); read the
        key and compute the write; send the vote to the other module."""
        name = message.dst
        tx, attempt = number(message.get("tx")), number(message.get("attempt"))
        module = self.module(state, name)
        current = module.session(tx)
        if current is not None and current.attempt >= attempt:
            return state  # a stale or duplicated prepare: this attempt is already under way
        t = state.spec.value.transfers[tx]
        source = name == t.src_module
        key = t.src if source else t.dst
        value = state.store.get(key) or 0
        vote = self.local_vote(state, module, t, key, value)
        read = ReadRecord("read", key, value, writer_of(state.writers, key))
        module = module.with_session(Session(
            tx, attempt, ((name, vote),), "" if vote == ACCEPT else ABORT, read,
            (key, value - t.amount if source else value + t.amount)))
        if vote == ACCEPT:
            module = self.lock(module, key, tx)
        replies = self.vote_messages(name, t, vote, attempt)
        return self.with_module(state, name, module, network=state.network.send(*replies),
                                sent=self.record_sent(state, replies))

    def local_vote(self, state: TwoPcState, module: ModuleState, transfer: Transfer,
                   key: str, value: int) -> str:
        """prepared(accept) when no other transaction holds ``key`` and, at the source,
        ``value`` covers the amount; else prepared(abort)."""
        covered = value >= transfer.amount or key != transfer.src
        return ACCEPT if covered and module.holder(key) in (None, transfer.index) else ABORT

    def lock(self, module: ModuleState, key: str, tx: int) -> ModuleState:
        """Lock ``key`` for ``tx`` until the decision (``early-release`` does not)."""
        if self.flags.early_release:
            return module
        return attrs.evolve(module, locks=tuple(sorted({*module.locks, (key, tx)})))

    def vote_messages(self, name: str, transfer: Transfer, vote: str,
                      attempt: int) -> tuple[Message, ...]:
        """Module ``name``'s vote, bound to its session, to every other concerned module."""
        return tuple(Message(name, other, vote_kind(vote),
                             session_payload(transfer.index, attempt))
                     for other in transfer.modules() if other != name)

    def on_vote(self, state: TwoPcState, message: Message) -> TwoPcState:
        """S-BAC step 2: record a module's vote; with every vote in, accept or abort."""
        name = message.dst
        tx = number(message.get("tx"))
        module = self.module(state, name)
        session = module.session(tx)
        assert session is not None, "a vote is delivered only once its session exists"
        if self.ignores_vote(session, message):
            return state
        vote = ACCEPT if message.kind == PRE_ACCEPT else ABORT
        votes = tuple(sorted((*session.votes, (message.src, vote))))
        if len(votes) < len(state.spec.value.transfers[tx].modules()):
            return self.with_module(state, name, module.with_session(
                session._replace(votes=votes)))
        session = session._replace(votes=votes, decision=self.decide(votes))
        module = self.release(module.with_session(session), tx)
        if session.decision == ABORT:
            return self.with_module(state, name, module)
        return self.install(state, name, module, session)

    def ignores_vote(self, session: Session, message: Message) -> bool:
        """A vote for an older attempt (``unbound-session``: never), for a session
        already decided, or a second vote of the same module."""
        stale = (session.attempt != number(message.get("attempt"))
                 and not self.flags.unbound_session)
        return stale or bool(session.decision) or any(m == message.src
                                                      for m, _ in session.votes)

    def decide(self, votes: tuple[tuple[str, str], ...]) -> str:
        """accept when every concerned module pre-accepted, else abort."""
        return ACCEPT if all(v == ACCEPT for _, v in votes) else ABORT

    def release(self, module: ModuleState, tx: int) -> ModuleState:
        """The module without ``tx``'s locks (it has decided)."""
        return attrs.evolve(module, locks=tuple(lk for lk in module.locks if lk[1] != tx))

    def install(self, state: TwoPcState, name: str, module: ModuleState,
                session: Session) -> TwoPcState:
        """Accept: module ``name`` (already ``module``) installs its session's write."""
        key = session.write[0]
        return self.with_module(state, name, module,
                                store=state.store.with_writes((session.write,)),
                                writers=with_writers(state.writers, (key,), session.tx),
                                log=(*state.log, (session.tx, name)))

    def execute_local(self, state: TwoPcState, name: str, tx: int) -> TwoPcState:
        """Module ``name`` runs local transfer ``tx`` in one step."""
        writers = dict(state.writers)
        record, store = execute_transaction(state.spec.value.block[tx], state.store, writers)
        log = (*state.log, (tx, name)) if record.writes else state.log
        return attrs.evolve(state, store=store, writers=tuple(sorted(writers.items())),
                            local=replace_at(state.local, tx, record), log=log)

    # The attacker ----------------------------------------------------------------------

    def fault_actions(self, state: TwoPcState) -> tuple[Action, ...]:
        """The network's duplicates, then the attacker's replays."""
        return (*super().fault_actions(state), *self.replay_actions(state))

    def replay_actions(self, state: TwoPcState) -> tuple[Action, ...]:
        """Re-send any message ever sent and not in flight now, while ``replays=`` lasts."""
        if state.replays_left <= 0:
            return ()
        in_flight = set(state.network.in_flight)
        return tuple(
            network_action(REPLAY, m, {REPLAYS_OBJECT, SENT_OBJECT},
                           {REPLAYS_OBJECT, SENT_OBJECT, message_object(m), inbox_object(m.dst)})
            for m in sorted(state.sent, key=message_order) if m not in in_flight)

    def replay(self, state: TwoPcState, action: Action) -> TwoPcState:
        """The attacker re-sends the message ``action`` names."""
        message = message_of(action)
        if message not in state.sent or state.replays_left <= 0:
            raise ValueError(f"cannot replay {message.label()}")
        left = state.replays_left - 1
        # With the budget spent nothing can be replayed: forget the record, so runs that
        # differ only in what was sent before meet in one state.
        return attrs.evolve(state, network=state.network.send(message), replays_left=left,
                            sent=state.sent if left else frozenset())

    def record_sent(self, state: TwoPcState,
                    messages: tuple[Message, ...]) -> frozenset[Message]:
        """What the attacker has seen once ``messages`` are sent (nothing new when it
        cannot replay)."""
        return state.sent | set(messages) if state.replays_left else state.sent

    # Invariants ------------------------------------------------------------------------

    def atomicity(self, state: TwoPcState) -> str | None:
        """INV-ATOM: the modules of a transfer never decide differently on one attempt."""
        for t in state.spec.value.transfers:
            if not t.cross:
                continue
            sessions = [(m, self.module(state, m).session(t.index)) for m in t.modules()]
            decided = [(m, s) for m, s in sessions if s is not None and s.decision]
            for m, s in decided:
                for other, o in decided:
                    if s.attempt == o.attempt and s.decision == ACCEPT != o.decision:
                        return (f"T{t.index} attempt {s.attempt}: {m} decided accept, "
                                f"{other} decided {o.decision}")
        return None

    def once(self, state: TwoPcState) -> str | None:
        """INV-ONCE: no module installs a transfer's write twice."""
        twice = first_repeat(state.log)
        return None if twice is None else f"{twice[1]} installed T{twice[0]}'s write twice"

    def conservation(self, state: TwoPcState) -> str | None:
        """INV-CONS: the supply is constant, a transfer half applied counted as not
        applied while its other half may still come."""
        spec = state.spec.value
        total = balances(state.store)
        counted = total
        for t in spec.transfers:
            if not t.cross:
                continue
            for here, there, sign in ((t.src_module, t.dst_module, 1),
                                      (t.dst_module, t.src_module, -1)):
                if (t.index, here) not in state.log or (t.index, there) in state.log:
                    continue
                mine = self.module(state, here).session(t.index)
                other = self.module(state, there).session(t.index)
                if (mine is None or other is None or other.attempt < mine.attempt
                        or other.decision in ("", ACCEPT)):
                    counted += sign * t.amount  # the other half is still to come
        if counted != spec.supply:
            return (f"the accounts hold {total} in all ({counted} counting transfers half "
                    f"applied), the block started with {spec.supply}")
        return None

    def finished(self, state: TwoPcState) -> str | None:
        """INV-LIVE (terminal): every transfer decided at each module, no lock held."""
        for name, module in zip(state.spec.value.modules, state.modules, strict=True):
            for key, tx in module.locks:
                return f"{name} still holds the lock of T{tx} on {key}"
        for t in state.spec.value.transfers:
            if not t.cross:
                if state.local[t.index] is None:
                    return f"T{t.index} never executed in {t.src_module}"
                continue
            for m in t.modules():
                session = self.module(state, m).session(t.index)
                if session is None or not session.decision:
                    return f"T{t.index} is undecided at {m}"
        return None
