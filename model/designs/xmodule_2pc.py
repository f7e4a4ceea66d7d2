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
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import attrs

from shardcheck.model.api import (
    Action,
    Config,
    KnownFailure,
    Mutant,
    Outcome,
    Property,
    ReadRecord,
    TxRecord,
)
from shardcheck.model.designs.flag_mutants import FlagMutant, flag_mutants
from shardcheck.model.designs.xmodule import (
    Transfer,
    balances,
    budget,
    negative,
    number,
    transfers_of,
    with_writers,
    writer_of,
)
from shardcheck.model.encoding import Constant
from shardcheck.model.language import Transaction
from shardcheck.model.network import (
    NETWORK_ACTOR,
    Message,
    Network,
    apply_fault,
    deliver_action,
    fault_actions,
    inbox_object,
    is_fault,
    message_object,
    message_of,
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


def _vote_kind(vote: str) -> str:
    return PRE_ACCEPT if vote == ACCEPT else PRE_ABORT


def _session_payload(tx: int, attempt: int) -> tuple[tuple[str, int], ...]:
    return (("tx", tx), ("attempt", attempt))


class TwoPhaseCommit:
    """S-BAC two-phase commit: lock at prepare, decide on every module's vote."""

    name = "two-phase-commit"
    summary = ("S-BAC two-phase commit across modules (Chainspace, NDSS 2018): locks at "
               "prepare, votes bound to their session")
    criteria = ("global-order",)

    def __init__(self, flags: Flags = Flags(), mutant: str | None = None) -> None:
        self.flags = flags
        self.mutant = mutant

    # The design interface -------------------------------------------------------------

    def initial(self, config: Config) -> TwoPcState:
        """Attempt 1 of every cross-module transfer is in flight to its modules."""
        workload = config.workload
        transfers = transfers_of(self.name, config)
        modules = tuple(sorted({m for t in transfers for m in t.modules()}))
        spec = Spec(workload.block, transfers, modules,
                    max(1, int(workload.param("attempts", 2))), balances(workload.initial))
        prepares = tuple(Message(COORDINATOR, m, PREPARE, _session_payload(t.index, 1))
                         for t in transfers if t.cross for m in t.modules())
        network = Network(duplicates_left=budget(workload, "dups")).send(*prepares)
        replays = budget(workload, "replays")
        return TwoPcState(
            spec=Constant(spec), store=workload.initial, writers=(),
            modules=tuple(ModuleState() for _ in modules),
            attempt=tuple(1 if t.cross else 0 for t in transfers),
            local=tuple(None for _ in transfers), network=network,
            sent=frozenset(prepares) if replays else frozenset(), replays_left=replays,
            log=())

    def actions(self, state: TwoPcState) -> Sequence[Action]:
        """The modules' and the client's steps, then the attacker's."""
        return (*self._protocol_actions(state), *fault_actions(state.network),
                *self._replays(state))

    def step(self, state: TwoPcState, action: Action) -> TwoPcState:
        """Apply one action."""
        if is_fault(action):
            return attrs.evolve(state, network=apply_fault(state.network, action))
        if action.name == REPLAY:
            message = _replayed(action)
            if message not in state.sent or state.replays_left <= 0:
                raise ValueError(f"cannot replay {message.label()}")
            left = state.replays_left - 1
            # With the budget spent nothing can be replayed: forget the record, so runs
            # that differ only in what was sent before meet in one state.
            return attrs.evolve(state, network=state.network.send(message), replays_left=left,
                                sent=state.sent if left else frozenset())
        if action.actor == COORDINATOR:
            return self._retry(state, number(action.param("tx")))
        if action.name == "execute":
            return self._execute_local(state, action.actor, number(action.param("tx")))
        message = message_of(action)
        state = attrs.evolve(state, network=state.network.remove(message))
        if message.kind == PREPARE:
            return self._prepare(state, message)
        return self._vote(state, message)

    def is_terminal(self, state: TwoPcState) -> bool:
        """Nothing the protocol can do is left (the attacker's budget does not count)."""
        return not self._protocol_actions(state)

    def outcome(self, state: TwoPcState) -> Outcome:
        """The store, each transfer's committed reads and writes, installs in order."""
        spec = state.spec.value
        records = []
        for t in spec.transfers:
            local = state.local[t.index]
            if local is not None:
                records.append(local)
                continue
            applied = [self._module(state, m).session(t.index) for m in t.modules()
                       if (t.index, m) in state.log]
            if not applied:
                records.append(TxRecord(t.index, "reverted", (), ()))
                continue
            records.append(TxRecord(t.index, "committed",
                                    tuple(s.read for s in applied if s is not None),
                                    tuple(s.write for s in applied if s is not None)))
        return Outcome(state.store, _install_order(state.log, len(spec.transfers)),
                       tuple(records))

    def properties(self) -> Sequence[Property]:
        """INV-ATOM, INV-ONCE, INV-CONS, INV-NDS in every state; INV-LIVE at the end."""
        return (
            Property("INV-ATOM", "the modules of a cross-module transfer never decide "
                     "differently on one attempt", "state", self._atomicity),
            Property("INV-ONCE", "no module installs a transfer's write twice, and no "
                     "transfer commits in two attempts", "state", _once),
            Property("INV-CONS", "total balance is constant, a transfer one module has "
                     "applied and the other not yet decided counted as not applied",
                     "state", self._conservation),
            Property("INV-NDS", "no account is spent below zero", "state",
                     lambda s: negative(s.store)),
            Property("INV-LIVE", "at the end every transfer is decided at each of its "
                     "modules and no lock is held", "terminal", self._finished),
        )

    def mutants(self) -> Sequence[Mutant]:
        """``unbound-session`` (M10) and ``early-release``."""
        if self.mutant is not None:
            return ()
        return flag_mutants(MUTANTS, Flags(), TwoPhaseCommit)

    # The protocol ----------------------------------------------------------------------

    def _module(self, state: TwoPcState, name: str) -> ModuleState:
        return state.modules[state.spec.value.modules.index(name)]

    def _with_module(self, state: TwoPcState, name: str, module: ModuleState,
                     **changes: Any) -> TwoPcState:
        index = state.spec.value.modules.index(name)
        modules = (*state.modules[:index], module, *state.modules[index + 1:])
        return attrs.evolve(state, modules=modules, **changes)

    def _protocol_actions(self, state: TwoPcState) -> tuple[Action, ...]:
        spec = state.spec.value
        out: list[Action] = []
        for name, module in zip(spec.modules, state.modules, strict=True):
            for message in state.network.distinct(name):
                if self._deliverable(module, message):
                    replies_to = {inbox_object(m) for m in spec.modules if m != name}
                    out.append(deliver_action(message, reads={name},
                                              writes={name, "store", SENT_OBJECT,
                                                      *replies_to}))
            for t in spec.transfers:
                if (not t.cross and t.src_module == name and state.local[t.index] is None
                        and module.holder(t.src) is None and module.holder(t.dst) is None):
                    out.append(Action(name, "execute", (("tx", t.index),),
                                      frozenset({name, "store"}), frozenset({"store"})))
        for t in spec.transfers:
            if self._may_retry(state, t):
                attempt = state.attempt[t.index] + 1
                out.append(Action(COORDINATOR, "retry", _session_payload(t.index, attempt),
                                  frozenset(t.modules()),
                                  frozenset({SENT_OBJECT, *map(inbox_object, t.modules()),
                                             *map(message_object, self._prepares(t, attempt))})))
        return tuple(out)

    def _deliverable(self, module: ModuleState, message: Message) -> bool:
        if message.kind == PREPARE:
            return True
        session = module.session(number(message.get("tx")))
        if session is None:
            return False  # the vote waits for this module's own prepare
        if self.flags.unbound_session:
            return True
        return session.attempt >= number(message.get("attempt"))

    def _prepares(self, t: Transfer, attempt: int) -> tuple[Message, ...]:
        return tuple(Message(COORDINATOR, m, PREPARE, _session_payload(t.index, attempt))
                     for m in t.modules())

    def _may_retry(self, state: TwoPcState, t: Transfer) -> bool:
        attempt = state.attempt[t.index]
        if not t.cross or attempt >= state.spec.value.attempts:
            return False
        for m in t.modules():
            session = self._module(state, m).session(t.index)
            if session is None or session.attempt != attempt or session.decision != ABORT:
                return False
        return True

    def _retry(self, state: TwoPcState, tx: int) -> TwoPcState:
        t = state.spec.value.transfers[tx]
        attempt = state.attempt[tx] + 1
        prepares = self._prepares(t, attempt)
        return attrs.evolve(state, network=state.network.send(*prepares),
                            sent=_record(state, prepares),
                            attempt=(*state.attempt[:tx], attempt, *state.attempt[tx + 1:]))

    def _prepare(self, state: TwoPcState, message: Message) -> TwoPcState:
        """S-BAC step 1: decide prepared(accept) and lock, or prepared(abort)."""
        name = message.dst
        tx, attempt = number(message.get("tx")), number(message.get("attempt"))
        module = self._module(state, name)
        current = module.session(tx)
        if current is not None and current.attempt >= attempt:
            return state  # a stale or duplicated prepare: this attempt is already under way
        t = state.spec.value.transfers[tx]
        source = name == t.src_module
        key = t.src if source else t.dst
        value = state.store.get(key) or 0
        read = ReadRecord("read", key, value, writer_of(state.writers, key))
        holder = module.holder(key)
        covered = value >= t.amount or not source
        vote = ACCEPT if covered and holder in (None, tx) else ABORT
        locks = module.locks
        if vote == ACCEPT and not self.flags.early_release:
            locks = tuple(sorted({*locks, (key, tx)}))
        session = Session(tx, attempt, ((name, vote),), "" if vote == ACCEPT else ABORT,
                          read, (key, value - t.amount if source else value + t.amount))
        sessions = tuple(sorted((*(s for s in module.sessions if s.tx != tx), session)))
        replies = tuple(Message(name, other, _vote_kind(vote), _session_payload(tx, attempt))
                        for other in t.modules() if other != name)
        return self._with_module(state, name, ModuleState(sessions, locks),
                                 network=state.network.send(*replies),
                                 sent=_record(state, replies))

    def _vote(self, state: TwoPcState, message: Message) -> TwoPcState:
        """S-BAC step 2: record a module's vote; with every vote in, accept or abort."""
        name = message.dst
        tx, attempt = number(message.get("tx")), number(message.get("attempt"))
        module = self._module(state, name)
        session = module.session(tx)
        assert session is not None, "a vote is delivered only once its session exists"
        stale = session.attempt != attempt and not self.flags.unbound_session
        if stale or session.decision or any(m == message.src for m, _ in session.votes):
            return state  # for an older attempt, already decided, or a duplicate vote
        vote = ACCEPT if message.kind == PRE_ACCEPT else ABORT
        votes = tuple(sorted((*session.votes, (message.src, vote))))
        t = state.spec.value.transfers[tx]
        if len(votes) < len(t.modules()):
            session = session._replace(votes=votes)
            return self._with_module(state, name, _replace_session(module, session))
        decision = ACCEPT if all(v == ACCEPT for _, v in votes) else ABORT
        session = session._replace(votes=votes, decision=decision)
        module = _replace_session(module, session)
        module = attrs.evolve(module, locks=tuple(lk for lk in module.locks if lk[1] != tx))
        if decision == ABORT:
            return self._with_module(state, name, module)
        key = session.write[0]
        return self._with_module(state, name, module,
                                 store=state.store.with_writes((session.write,)),
                                 writers=with_writers(state.writers, (key,), tx),
                                 log=(*state.log, (tx, name)))

    def _execute_local(self, state: TwoPcState, name: str, tx: int) -> TwoPcState:
        spec = state.spec.value
        writers = dict(state.writers)
        record, store = execute_transaction(spec.block[tx], state.store, writers)
        log = (*state.log, (tx, name)) if record.writes else state.log
        return attrs.evolve(state, store=store, writers=tuple(sorted(writers.items())),
                            local=(*state.local[:tx], record, *state.local[tx + 1:]), log=log)

    def _replays(self, state: TwoPcState) -> tuple[Action, ...]:
        if state.replays_left <= 0:
            return ()
        in_flight = set(state.network.in_flight)
        return tuple(
            Action(NETWORK_ACTOR, REPLAY,
                   (("msg", m.kind), ("from", m.src), ("to", m.dst), *m.payload),
                   frozenset({REPLAYS_OBJECT, SENT_OBJECT}),
                   frozenset({REPLAYS_OBJECT, SENT_OBJECT, message_object(m), inbox_object(m.dst)}))
            for m in sorted(state.sent, key=_message_order) if m not in in_flight)

    # Properties ------------------------------------------------------------------------

    def _atomicity(self, state: TwoPcState) -> str | None:
        for t in state.spec.value.transfers:
            if not t.cross:
                continue
            sessions = [(m, self._module(state, m).session(t.index)) for m in t.modules()]
            decided = [(m, s) for m, s in sessions if s is not None and s.decision]
            for m, s in decided:
                for other, o in decided:
                    if s.attempt == o.attempt and s.decision == ACCEPT != o.decision:
                        return (f"T{t.index} attempt {s.attempt}: {m} decided accept, "
                                f"{other} decided {o.decision}")
        return None

    def _conservation(self, state: TwoPcState) -> str | None:
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
                mine = self._module(state, here).session(t.index)
                other = self._module(state, there).session(t.index)
                if (mine is None or other is None or other.attempt < mine.attempt
                        or other.decision in ("", ACCEPT)):
                    counted += sign * t.amount  # the other half is still to come
        if counted != spec.supply:
            return (f"the accounts hold {total} in all ({counted} counting transfers half "
                    f"applied), the block started with {spec.supply}")
        return None

    def _finished(self, state: TwoPcState) -> str | None:
        for name, module in zip(state.spec.value.modules, state.modules, strict=True):
            for key, tx in module.locks:
                return f"{name} still holds the lock of T{tx} on {key}"
        for t in state.spec.value.transfers:
            if not t.cross:
                if state.local[t.index] is None:
                    return f"T{t.index} never executed in {t.src_module}"
                continue
            for m in t.modules():
                session = self._module(state, m).session(t.index)
                if session is None or not session.decision:
                    return f"T{t.index} is undecided at {m}"
        return None


def _record(state: TwoPcState, messages: tuple[Message, ...]) -> frozenset[Message]:
    """What the attacker has seen, once ``messages`` are sent (nothing when it cannot replay)."""
    return state.sent | set(messages) if state.replays_left else state.sent


def _replace_session(module: ModuleState, session: Session) -> ModuleState:
    return attrs.evolve(module, sessions=tuple(session if s.tx == session.tx else s
                                               for s in module.sessions))


def _once(state: TwoPcState) -> str | None:
    seen: set[tuple[int, str]] = set()
    for event in state.log:
        if event in seen:
            return f"{event[1]} installed T{event[0]}'s write twice"
        seen.add(event)
    return None


def _message_order(message: Message) -> tuple[str, str, str, str]:
    return (message.dst, message.kind, repr(message.payload), message.src)


def _replayed(action: Action) -> Message:
    params = dict(action.params)
    payload = tuple((k, v) for k, v in action.params if k not in ("msg", "from", "to"))
    return Message(str(params["from"]), str(params["to"]), str(params["msg"]), payload)


def _install_order(log: tuple[tuple[int, str], ...], n: int) -> tuple[int, ...]:
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
