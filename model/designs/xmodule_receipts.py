"""Asynchronous receipts across modules, as NEAR and rollup messaging move value.

The real systems: NEAR's receipts (docs.near.org, "Transaction execution" and "Token
transfer flow"): a transaction's debit runs in the sender's shard and emits a receipt;
the receiver's shard applies the receipt in a later block. Resharding must carry the
receipts in flight to the new owner of their account (NEP-568; nearcore PRs #12513,
#9362, #4869, issue #11966). Rollup and bridge messages follow the same pattern and
protect against replay with a "processed message" set (designs.md §3.1).

What is modelled, for each transfer T of ``amount`` from ``src`` to ``dst``:

1. The module that owns ``src`` debits it in one step (or reverts T when the balance
   does not cover the amount), and only when T's nonce is the one ``src`` has next: a
   sender's transfers carry nonces 0, 1, ... in block order (``sends=`` repeats each
   sender's transfer), and the account's next nonce is part of its state, as an access
   key's nonce is on NEAR. A reverted transfer uses up its nonce, as on a real chain.
   When ``dst`` lives in the same module the credit happens in the same step (a local
   transfer); otherwise the step emits a receipt addressed to the module that owns
   ``dst`` now.
2. The destination module applies a receipt once: it keeps the ids of the receipts it
   has applied and discards a receipt it has seen (de-duplication by receipt id).
3. With ``reshard=1``, the last module (the parent) may split once, at any point: the
   second half of its accounts moves to a new module (the child), with their balances
   and next nonces. Receipts in flight to the parent for a moved account are
   re-addressed to the child, and the child inherits the parent's set of applied
   receipts.

Cross-module transfers are not atomic by design: between the debit and the credit the
value is in flight. Each module's ordering is abstracted as atomic steps: a debit or a
credit is one action, as if that module's BFT consensus instance had committed it
(``model/designs/bft*.py`` models that consensus). The network may duplicate a receipt
in flight (``dups=``) and delivers in any order; it never drops one (a receipt is part
of the sender's committed state and is re-sent until applied).

Properties (designs.md §3.3), judged by the design itself (``criteria = ()``): INV-ONCE
(no receipt applied twice), INV-VAL (every credit comes from a receipt a debit emitted,
for its amount and account), INV-CONS (total balance plus receipts in flight is
constant), INV-NDS (no account below zero), INV-ORD (each sender's transfers go through
their source module in nonce order, across the reshard too) in every state; INV-EXO
(every receipt applied exactly once, nothing left in flight) at the end.

Mutants: M11 of designs.md §6.2, as two (``no-dedup`` and ``reshard-misroute``), and
``reshard-drops-nonces`` for INV-ORD.
"""

from __future__ import annotations

from collections.abc import Sequence

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
from shardcheck.model.network import (
    Message,
    Network,
    apply_fault,
    deliver_action,
    fault_actions,
    inbox_object,
    is_fault,
    message_of,
)
from shardcheck.model.store import Store

RECEIPT = "receipt"
PENDING, SENT, DONE, REVERTED = "pending", "sent", "done", "reverted"


@attrs.frozen
class Spec:
    """What a run needs throughout: the transfers, the supply, and the reshard if any."""

    transfers: tuple[Transfer, ...]
    supply: int
    parent: str
    child: str
    moved: tuple[str, ...]
    """The accounts a reshard moves from ``parent`` to ``child`` (empty: no reshard)."""
    nonces: tuple[int, ...]
    """Each transfer's nonce: how many transfers of its sender come before it."""


@attrs.frozen
class ReceiptsState:
    """The store and its layout, each transfer's progress, applied receipts, the network."""

    spec: Constant[Spec]
    store: Store
    writers: tuple[tuple[str, int], ...]
    progress: tuple[str, ...]
    records: tuple[TxRecord | None, ...]
    applied: tuple[tuple[str, tuple[int, ...]], ...]
    """Each module's de-duplication set: the receipt ids it has applied."""
    credits: tuple[int, ...]
    """Every receipt credit, in the order modules applied them."""
    network: Network
    resharded: bool
    order: tuple[int, ...]
    next_nonce: tuple[tuple[str, int], ...]
    """Each sender's next nonce, as its account holds it; a sender missing here (only
    after ``reshard-drops-nonces``) has none recorded."""
    taken: tuple[tuple[str, tuple[int, ...]], ...]
    """Per sender, the nonces of the transfers its source module took (debited, executed
    or reverted), in the order it took them. Kept per sender, not as one global
    sequence, so that it tells apart only the runs INV-ORD tells apart."""


@attrs.frozen
class Flags:
    """Which bug is switched on; all False is the protocol as described."""

    no_dedup: bool = False
    reshard_misroute: bool = False
    reshard_drops_nonces: bool = False


def _receipt(t: Transfer, src: str, dst: str) -> Message:
    return Message(src, dst, RECEIPT, (("tx", t.index), ("key", t.dst), ("amount", t.amount)))


def _applied_by(state: ReceiptsState, module: str) -> tuple[int, ...]:
    for name, ids in state.applied:
        if name == module:
            return ids
    return ()


def _with_applied(applied: tuple[tuple[str, tuple[int, ...]], ...], module: str,
                  ids: tuple[int, ...]) -> tuple[tuple[str, tuple[int, ...]], ...]:
    merged = dict(applied)
    merged[module] = ids
    return tuple(sorted(merged.items()))


def _replace(items: tuple, index: int, value: object) -> tuple:  # type: ignore[type-arg]
    return (*items[:index], value, *items[index + 1:])


class Receipts:
    """Debit at the source, a receipt in flight, a credit applied once at the destination."""

    name = "receipts"
    summary = ("asynchronous receipts across modules (NEAR-style): debit, receipt in flight, "
               "credit applied once; optional reshard of the destination")
    criteria: tuple[str, ...] = ()

    def __init__(self, flags: Flags = Flags(), mutant: str | None = None) -> None:
        self.flags = flags
        self.mutant = mutant

    # The design interface -------------------------------------------------------------

    def initial(self, config: Config) -> ReceiptsState:
        """Every transfer pending, nothing in flight, the original layout."""
        workload = config.workload
        # A reshard can make a transfer inside the parent cross into the child.
        transfers = transfers_of(self.name, config,
                                 local_only_ok=bool(budget(workload, "reshard")))
        store = workload.initial
        modules = store.modules()
        parent = modules[-1]
        child = f"m{len(modules)}" if parent == f"m{len(modules) - 1}" else parent + "'"
        moved: tuple[str, ...] = ()
        if budget(workload, "reshard"):
            owned = sorted((k for k, _ in store.values if store.module_of(k) == parent),
                           key=lambda k: (len(k), k))
            moved = tuple(owned[(len(owned) + 1) // 2:])
        sent: dict[str, int] = {}
        nonces = []
        for t in transfers:
            nonces.append(sent.get(t.src, 0))
            sent[t.src] = nonces[-1] + 1
        spec = Spec(transfers, balances(store), parent, child, moved, tuple(nonces))
        return ReceiptsState(
            spec=Constant(spec), store=store, writers=(),
            progress=tuple(PENDING for _ in transfers),
            records=tuple(None for _ in transfers), applied=(), credits=(),
            network=Network(duplicates_left=budget(workload, "dups")),
            resharded=not moved, order=(),
            next_nonce=tuple(sorted((sender, 0) for sender in sent)), taken=())

    def actions(self, state: ReceiptsState) -> Sequence[Action]:
        """The modules' steps, then the network's duplications."""
        return (*self._protocol_actions(state), *fault_actions(state.network))

    def step(self, state: ReceiptsState, action: Action) -> ReceiptsState:
        """Apply one action."""
        if is_fault(action):
            return attrs.evolve(state, network=apply_fault(state.network, action))
        if action.name == "reshard":
            return self._reshard(state)
        if action.name in ("debit", "execute"):
            return self._debit(state, number(action.param("tx")))
        message = message_of(action)
        return self._credit(attrs.evolve(state, network=state.network.remove(message)),
                            message)

    def is_terminal(self, state: ReceiptsState) -> bool:
        """Nothing the modules can do is left (duplications do not count)."""
        return not self._protocol_actions(state)

    def outcome(self, state: ReceiptsState) -> Outcome:
        """The store, and each transfer's debit and credit as one record."""
        records = tuple(r if r is not None else TxRecord(t.index, "reverted", (), ())
                        for t, r in zip(state.spec.value.transfers, state.records,
                                        strict=True))
        return Outcome(state.store, state.order, records)

    def properties(self) -> Sequence[Property]:
        """INV-ONCE, INV-VAL, INV-CONS, INV-NDS, INV-ORD in every state; INV-EXO at the
        end."""
        return (
            Property("INV-ONCE", "no receipt is applied twice", "state", _once),
            Property("INV-VAL", "every credit comes from a receipt a debit emitted",
                     "state", _validity),
            Property("INV-CONS", "total balance plus the receipts in flight not yet applied "
                     "is constant", "state", _conservation),
            Property("INV-NDS", "no account is spent below zero", "state",
                     lambda s: negative(s.store)),
            Property("INV-ORD", "each sender's transfers go through in nonce order, none "
                     "skipped", "state", _sender_order),
            Property("INV-EXO", "at the end every emitted receipt has been applied exactly "
                     "once and nothing is in flight", "terminal", _exactly_once),
        )

    def mutants(self) -> Sequence[Mutant]:
        """``no-dedup`` and ``reshard-misroute`` (M11), ``reshard-drops-nonces``."""
        if self.mutant is not None:
            return ()
        return flag_mutants(MUTANTS, Flags(), Receipts)

    # The protocol ----------------------------------------------------------------------

    def _modules(self, state: ReceiptsState) -> tuple[str, ...]:
        return state.store.modules()

    def _protocol_actions(self, state: ReceiptsState) -> tuple[Action, ...]:
        spec = state.spec.value
        store = state.store
        modules = self._modules(state)
        out: list[Action] = []
        next_nonce = dict(state.next_nonce)
        for t in spec.transfers:
            if state.progress[t.index] != PENDING:
                continue
            due = next_nonce.get(t.src)
            # With no nonce recorded (the mutant's child) any of the sender's transfers
            # is taken as the first.
            if due is not None and due != spec.nonces[t.index]:
                continue
            here, there = store.module_of(t.src), store.module_of(t.dst)
            name = "execute" if here == there else "debit"
            out.append(Action(here, name, (("tx", t.index),), frozenset({here, "store"}),
                              frozenset({here, "store", inbox_object(there)})))
        for message in state.network.distinct():
            out.append(deliver_action(message, reads={message.dst},
                                      writes={message.dst, "store"}))
        if not state.resharded:
            out.append(Action(spec.parent, "reshard", (("child", spec.child),),
                              frozenset({spec.parent, "store"}),
                              frozenset({spec.parent, spec.child, "store",
                                         *map(inbox_object, modules),
                                         inbox_object(spec.child)})))
        return tuple(out)

    def _debit(self, state: ReceiptsState, tx: int) -> ReceiptsState:
        """The source module takes ``src``'s nonce, then debits it and credits locally or
        emits a receipt."""
        spec = state.spec.value
        t = spec.transfers[tx]
        next_nonce = dict(state.next_nonce)
        next_nonce[t.src] = spec.nonces[tx] + 1
        taken = dict(state.taken)
        taken[t.src] = (*taken.get(t.src, ()), spec.nonces[tx])
        state = attrs.evolve(state, next_nonce=tuple(sorted(next_nonce.items())),
                             taken=tuple(sorted(taken.items())))
        store = state.store
        here, there = store.module_of(t.src), store.module_of(t.dst)
        value = store.get(t.src) or 0
        read = ReadRecord("read", t.src, value, writer_of(state.writers, t.src))
        if value < t.amount:
            return attrs.evolve(
                state, progress=_replace(state.progress, tx, REVERTED),
                records=_replace(state.records, tx, TxRecord(tx, "reverted", (read,), ())),
                order=(*state.order, tx))
        debit = (t.src, value - t.amount)
        if here == there:
            dst_value = store.get(t.dst) or 0
            credit = (t.dst, dst_value + t.amount)
            reads = (read, ReadRecord("read", t.dst, dst_value, writer_of(state.writers, t.dst)))
            return attrs.evolve(
                state, store=store.with_writes((debit, credit)),
                writers=with_writers(state.writers, (t.src, t.dst), tx),
                progress=_replace(state.progress, tx, DONE),
                records=_replace(state.records, tx,
                                 TxRecord(tx, "committed", reads, (debit, credit))),
                order=(*state.order, tx))
        return attrs.evolve(
            state, store=store.with_writes((debit,)),
            writers=with_writers(state.writers, (t.src,), tx),
            progress=_replace(state.progress, tx, SENT),
            records=_replace(state.records, tx, TxRecord(tx, "committed", (read,), (debit,))),
            network=state.network.send(_receipt(t, here, there)))

    def _credit(self, state: ReceiptsState, message: Message) -> ReceiptsState:
        """The destination applies a receipt once; a seen receipt is discarded."""
        module = message.dst
        tx, key, amount = (number(message.get("tx")), str(message.get("key")),
                           number(message.get("amount")))
        seen = _applied_by(state, module)
        if tx in seen and not self.flags.no_dedup:
            return state
        if state.store.module_of(key) != module:
            # Only a misrouted receipt gets here: the parent no longer holds the account
            # and, finding no such account, discards the receipt.
            assert self.flags.reshard_misroute, f"{module} got a receipt for {key}"
            return state
        value = state.store.get(key) or 0
        credit = (key, value + amount)
        old = state.records[tx]
        assert old is not None, "a receipt is only in flight after its debit"
        record = attrs.evolve(old, reads=(*old.reads, ReadRecord(
            "read", key, value, writer_of(state.writers, key))), writes=(*old.writes, credit))
        return attrs.evolve(
            state, store=state.store.with_writes((credit,)),
            writers=with_writers(state.writers, (key,), tx),
            applied=_with_applied(state.applied, module, tuple(sorted({*seen, tx}))),
            credits=(*state.credits, tx), records=_replace(state.records, tx, record),
            order=state.order if tx in state.order else (*state.order, tx))

    def _reshard(self, state: ReceiptsState) -> ReceiptsState:
        """The parent splits: moved accounts, their receipts in flight and its applied set
        go to the child."""
        spec = state.spec.value
        owners = dict(state.store.owners)
        owners.update((key, spec.child) for key in spec.moved)
        store = attrs.evolve(state.store, owners=owners)
        network = state.network
        if not self.flags.reshard_misroute:
            for message in state.network.in_flight:
                if (message.dst == spec.parent and message.kind == RECEIPT
                        and message.get("key") in spec.moved):
                    network = network.remove(message).send(
                        Message(message.src, spec.child, message.kind, message.payload))
        applied = _with_applied(state.applied, spec.child, _applied_by(state, spec.parent))
        next_nonce = state.next_nonce
        if self.flags.reshard_drops_nonces:
            next_nonce = tuple((sender, n) for sender, n in next_nonce
                               if sender not in spec.moved)
        return attrs.evolve(state, store=store, network=network, applied=applied,
                            resharded=True, next_nonce=next_nonce)


def _once(state: ReceiptsState) -> str | None:
    seen: set[int] = set()
    for tx in state.credits:
        if tx in seen:
            return f"the receipt of T{tx} was applied twice"
        seen.add(tx)
    return None


def _validity(state: ReceiptsState) -> str | None:
    for tx in state.credits:
        if state.progress[tx] != SENT:
            return f"a credit for T{tx} was applied but T{tx} emitted no receipt"
    return None


def _in_flight_value(state: ReceiptsState) -> int:
    credited = set(state.credits)
    pending: dict[int, int] = {}
    for message in state.network.in_flight:
        tx = number(message.get("tx"))
        if tx not in credited:
            pending[tx] = number(message.get("amount"))
    return sum(pending.values())


def _conservation(state: ReceiptsState) -> str | None:
    total = balances(state.store)
    flight = _in_flight_value(state)
    if total + flight != state.spec.value.supply:
        return (f"the accounts hold {total} and receipts in flight {flight}: "
                f"{total + flight} in all, the block started with {state.spec.value.supply}")
    return None


def _sender_order(state: ReceiptsState) -> str | None:
    spec = state.spec.value
    for sender, nonces in state.taken:
        for expected, nonce in enumerate(nonces):
            if nonce != expected:
                tx = next(t.index for t in spec.transfers
                          if t.src == sender and spec.nonces[t.index] == nonce)
                return (f"{sender}'s transfer with nonce {nonce} (T{tx}) went through "
                        f"while its nonce {expected} was due")
    return None


def _exactly_once(state: ReceiptsState) -> str | None:
    if state.network.in_flight:
        return f"{state.network.in_flight[0].label()} is still in flight"
    credited = set(state.credits)
    for tx, progress in enumerate(state.progress):
        if progress == SENT and tx not in credited:
            return f"the receipt of T{tx} was never applied"
    return None


MUTANTS: tuple[FlagMutant, ...] = (
    FlagMutant("no-dedup", "no_dedup",
     "M11: receipts are not de-duplicated by id at the destination",
     """What is wrong: the destination module applies every receipt that reaches it,
without checking the ids of the receipts it has already applied. A receipt the network
delivers twice (a retransmission, a relayer that re-submits) credits twice.
Where: rollup bridges and cross-domain messengers keep a "processed message" mapping
for exactly this; designs.md §3.1 and §6.2 (M11, duplicates not filtered).
What a user sees: the destination account is credited twice for one debit: value is
created (INV-ONCE, then conservation).
Found by: shardcheck explore receipts:no-dedup --workload xtransfers:xtxs=1,dups=1
(BFS: INV-ONCE after 4 steps).""",
     KnownFailure("xtransfers:xtxs=1,dups=1", 2, "INV-ONCE", 4)),
    FlagMutant("reshard-misroute", "reshard_misroute",
     "M11: receipts in flight keep the route of the layout they were sent under",
     """What is wrong: when the destination module splits, receipts already in flight
stay addressed to the parent, which no longer holds the account and discards them.
Where: NEAR's resharding must move delayed, buffered and in-flight receipts to the
child shards without losing or double-executing any (NEP-568; nearcore PRs #12513,
#9362, #4869, issue #11966); designs.md §3.1 and §6.2 (M11).
What a user sees: the debit happened and the credit never does: value is lost
(conservation, then exactly-once at the end).
Found by: shardcheck explore receipts:reshard-misroute \\
    --workload xtransfers:accounts=2,reshard=1
(BFS: INV-CONS after 3 steps).""",
     KnownFailure("xtransfers:accounts=2,reshard=1", 2, "INV-CONS", 3)),
    FlagMutant("reshard-drops-nonces", "reshard_drops_nonces",
     "the split moves the accounts' balances but not their nonces",
     """What is wrong: when a module splits, the child receives the moved accounts'
balances but not their next nonces. Finding no nonce for a sender, it takes the first
of the sender's transactions it sees as the sender's current one, as a node does for an
account it has no state for.
Where: the state of a moved account, access keys with their nonces included, must move
with it (NEAR's NEP-568 resharding splits the whole account state; a split that misses a
column is this bug); designs.md §3.3 (INV-ORD: a sender's transactions keep their
relative order across partitioning and sharding).
What a user sees: after the split a sender's later transfer goes through before an
earlier one, and the earlier one can never go through (its nonce is now in the past).
Found by: shardcheck explore receipts:reshard-drops-nonces \\
    --workload xtransfers:modules=1,accounts=2,xtxs=0,txs=2,sends=2,reshard=1
(BFS: INV-ORD after 2 steps).""",
     KnownFailure("xtransfers:modules=1,accounts=2,xtxs=0,txs=2,sends=2,reshard=1", 2,
                  "INV-ORD", 2)),
)
