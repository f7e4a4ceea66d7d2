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

Its default workload (``default_workload``, for a run that names none) is
``xtransfers:accounts=2,reshard=1,dups=1``: one cross-module transfer whose payee the
reshard moves, one duplicate, one split. It finds ``no-dedup`` and ``reshard-misroute``
there; ``reshard-drops-nonces`` needs a sender the split moves that sends twice, which
no small xtransfers block with a cross-module transfer has (its own configuration,
``xtransfers:modules=1,accounts=2,xtxs=0,txs=2,sends=2,reshard=1``, crosses modules only
after the split), and the report header says so (``notes``).

Extending this design
---------------------

Subclass ``Receipts`` and override one method; everything the design does goes through
``self``, and every step evolves the state it is given, so fields a subclass adds to
``ReceiptsState`` (with defaults) survive every step. The names a variant needs are
public: this module's ``Receipts``, ``ReceiptsState``, ``Spec``, ``Flags``, ``MUTANTS``,
``RECEIPT`` and the progress marks ``PENDING``, ``SENT``, ``DONE``, ``REVERTED``;
``Transfer``, ``lookup``, ``with_entry``, ``replace_at``, ``writer_of``, ``with_writers``,
``number``, ``balances`` and ``negative`` from ``xmodule``; ``Message``, ``Network`` and
``deliver_action`` from ``model.network``.

State and setup:

- ``state_class`` (attribute, default ``ReceiptsState``): the class ``initial`` builds,
  by keyword; a subclass adds fields with defaults.
- ``initial(config) -> ReceiptsState``: every transfer pending, nothing in flight.
- ``moved_accounts(store) -> tuple[str, ...]``: the accounts a reshard moves to the
  child (the second half of the last module's).
- ``child_name(store) -> str``: the module a reshard creates.

Enabled steps (``protocol_actions(state)`` is the three below, in this order):

- ``debit_actions(state) -> tuple[Action, ...]``: each pending transfer whose nonce is
  due, as its source module's ``debit`` (cross-module) or ``execute`` (local) action.
- ``nonce_due(state, transfer) -> bool``: the guard on a sender's nonce order.
- ``delivery_actions(state) -> tuple[Action, ...]``: each receipt in flight, as its
  destination's ``deliver`` action.
- ``reshard_actions(state) -> tuple[Action, ...]``: the parent's ``reshard``, once.

Steps (``protocol_step(state, action)`` dispatches to them):

- ``debit(state, tx) -> ReceiptsState``: take the nonce, then revert, transfer locally
  or debit and emit the receipt (the three methods below).
- ``take_nonce(state, transfer) -> ReceiptsState``: the sender's next nonce moves on.
- ``revert(state, transfer, read) -> ReceiptsState``: the balance does not cover the
  amount; ``read`` is the source's balance as a ``ReadRecord``.
- ``transfer_locally(state, transfer, read) -> ReceiptsState``: debit and credit in one
  step, both accounts in one module.
- ``send_receipt(state, transfer, read) -> ReceiptsState``: debit, and put
  ``receipt(...)`` in flight to the module that owns ``dst`` now.
- ``receipt(transfer, src, dst) -> Message``: the receipt a debit emits.
- ``credit(state, message) -> ReceiptsState``: a delivered receipt (already taken off
  the network): discarded if ``is_duplicate``, by ``misrouted`` if the module does not
  own its account, else ``apply_receipt``.
- ``is_duplicate(state, module, tx) -> bool``: de-duplication by receipt id
  (``no-dedup`` switches it off).
- ``misrouted(state, message) -> ReceiptsState``: a receipt for an account the module no
  longer holds: discarded.
- ``apply_receipt(state, message) -> ReceiptsState``: credit the account, record the id.
- ``reshard(state) -> ReceiptsState``: the split: the moved accounts, ``reroute``,
  ``carried_applied`` and ``carried_nonces``.
- ``reroute(state, network) -> Network``: receipts in flight to the parent for a moved
  account are re-addressed to the child (``reshard-misroute`` skips it).
- ``carried_applied(state) -> tuple[tuple[str, tuple[int, ...]], ...]``: every
  module's applied set after the split (the child inherits the parent's).
- ``carried_nonces(state) -> tuple[tuple[str, int], ...]``: the next nonces after the
  split (``reshard-drops-nonces`` drops the moved senders').
- ``applied_by(state, module) -> tuple[int, ...]``: a module's de-duplication set.
- Inherited from ``xmodule.CrossModuleDesign``: ``fault_actions(state)`` and
  ``network_fault(state, action)`` (the network's duplicates), ``variant(flags,
  mutant)`` (how ``mutants()`` copies the design), ``notes(config)``.

Invariants (``properties()`` lists them; each takes a state, returns None or a message):
``once`` (INV-ONCE), ``validity`` (INV-VAL), ``conservation`` (INV-CONS, with
``in_flight_value(state) -> int``), ``no_negative`` (INV-NDS), ``sender_order``
(INV-ORD), ``exactly_once`` (INV-EXO, terminal). A subclass adds one by overriding
``properties()`` and returning ``(*super().properties(), Property(...))``.

Mutants: ``mutants()`` builds each entry of ``mutant_specs`` (default ``MUTANTS``) as
``variant(flags with its field on, name)``: a subclass's mutants run the subclass's
code. A variant with a bug of its own adds a flag: subclass ``Flags`` with the new
field, set ``flags_class`` to it, and append a ``FlagMutant`` (``model.designs.
flag_mutants``) to ``mutant_specs``.
"""

from __future__ import annotations

from collections.abc import Sequence

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
    lookup,
    number,
    replace_at,
    transfers_of,
    with_entry,
    with_writers,
    writer_of,
)
from shardcheck.model.encoding import Constant
from shardcheck.model.network import (
    Message,
    Network,
    deliver_action,
    inbox_object,
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


class Receipts(CrossModuleDesign[ReceiptsState, Flags]):
    """Debit at the source, a receipt in flight, a credit applied once at the destination."""

    name = "receipts"
    summary = ("asynchronous receipts across modules (NEAR-style): debit, receipt in flight, "
               "credit applied once; optional reshard of the destination")
    criteria: tuple[str, ...] = ()
    flags_class = Flags
    mutant_specs = MUTANTS
    state_class: type[ReceiptsState] = ReceiptsState
    """The class ``initial`` builds (by keyword): a subclass adds fields with defaults."""
    default_workload = "xtransfers:accounts=2,reshard=1,dups=1"

    # The design interface -------------------------------------------------------------

    def initial(self, config: Config) -> ReceiptsState:
        """Every transfer pending, nothing in flight, the original layout."""
        workload = config.workload
        # A reshard can make a transfer inside the parent cross into the child.
        transfers = transfers_of(self.name, config,
                                 local_only_ok=bool(budget(workload, "reshard")))
        store = workload.initial
        moved = self.moved_accounts(store) if budget(workload, "reshard") else ()
        sent: dict[str, int] = {}
        nonces = []
        for t in transfers:
            nonces.append(sent.get(t.src, 0))
            sent[t.src] = nonces[-1] + 1
        spec = Spec(transfers, balances(store), store.modules()[-1], self.child_name(store),
                    moved, tuple(nonces))
        return self.state_class(
            spec=Constant(spec), store=store, writers=(),
            progress=tuple(PENDING for _ in transfers),
            records=tuple(None for _ in transfers), applied=(), credits=(),
            network=Network(duplicates_left=budget(workload, "dups")),
            resharded=not moved, order=(),
            next_nonce=tuple(sorted((sender, 0) for sender in sent)), taken=())

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
            Property("INV-ONCE", "no receipt is applied twice", "state", self.once),
            Property("INV-VAL", "every credit comes from a receipt a debit emitted",
                     "state", self.validity),
            Property("INV-CONS", "total balance plus the receipts in flight not yet applied "
                     "is constant", "state", self.conservation),
            Property("INV-NDS", "no account is spent below zero", "state", self.no_negative),
            Property("INV-ORD", "each sender's transfers go through in nonce order, none "
                     "skipped", "state", self.sender_order),
            Property("INV-EXO", "at the end every emitted receipt has been applied exactly "
                     "once and nothing is in flight", "terminal", self.exactly_once),
        )

    def notes(self, config: Config) -> tuple[str, ...]:
        """What the run cannot show: no duplicate, no reshard, no moved sender sending
        twice."""
        workload = config.workload
        out = []
        if not budget(workload, "dups"):
            out.append("no duplicate (dups=0): this run cannot show a receipt applied twice "
                       "(no-dedup); add dups=1")
        if not budget(workload, "reshard"):
            out.append("no reshard (reshard=0): this run cannot show receipts or nonces lost "
                       "in a split (reshard-misroute, reshard-drops-nonces); add reshard=1")
            return tuple(out)
        try:
            transfers = transfers_of(self.name, config, local_only_ok=True)
        except ValueError:
            return tuple(out)  # initial() says what is wrong with the block
        moved = set(self.moved_accounts(workload.initial))
        senders = [t.src for t in transfers if t.src in moved]
        if len(senders) == len(set(senders)):
            out.append("no account the reshard moves sends twice: this run cannot show "
                       "nonce order lost in the split (reshard-drops-nonces); try "
                       "xtransfers:modules=1,accounts=2,xtxs=0,txs=2,sends=2,reshard=1")
        return tuple(out)

    # The layout ------------------------------------------------------------------------

    def moved_accounts(self, store: Store) -> tuple[str, ...]:
        """The accounts a reshard moves to the child: the second half of the last
        module's accounts, by name."""
        parent = store.modules()[-1]
        owned = sorted((k for k, _ in store.values if store.module_of(k) == parent),
                       key=lambda k: (len(k), k))
        return tuple(owned[(len(owned) + 1) // 2:])

    def child_name(self, store: Store) -> str:
        """The module a reshard creates: ``m<k>`` after ``m0 .. m<k-1>``."""
        modules = store.modules()
        parent = modules[-1]
        return f"m{len(modules)}" if parent == f"m{len(modules) - 1}" else parent + "'"

    # Enabled steps ---------------------------------------------------------------------

    def protocol_actions(self, state: ReceiptsState) -> tuple[Action, ...]:
        """Debits (and local transfers), then deliveries, then the reshard."""
        return (*self.debit_actions(state), *self.delivery_actions(state),
                *self.reshard_actions(state))

    def debit_actions(self, state: ReceiptsState) -> tuple[Action, ...]:
        """Each pending transfer whose nonce is due: its source module's ``debit``
        (``execute`` for a local transfer), which writes the destination's inbox."""
        store = state.store
        out: list[Action] = []
        for t in state.spec.value.transfers:
            if state.progress[t.index] != PENDING or not self.nonce_due(state, t):
                continue
            here, there = store.module_of(t.src), store.module_of(t.dst)
            name = "execute" if here == there else "debit"
            out.append(Action(here, name, (("tx", t.index),), frozenset({here, "store"}),
                              frozenset({here, "store", inbox_object(there)})))
        return tuple(out)

    def nonce_due(self, state: ReceiptsState, transfer: Transfer) -> bool:
        """Whether ``transfer``'s nonce is its sender's next; with no nonce recorded (the
        mutant's child) any of the sender's transfers is taken as the first."""
        due = lookup(state.next_nonce, transfer.src, None)
        return due is None or due == state.spec.value.nonces[transfer.index]

    def delivery_actions(self, state: ReceiptsState) -> tuple[Action, ...]:
        """Each receipt in flight, once, as its destination module's ``deliver``."""
        return tuple(deliver_action(message, reads={message.dst},
                                    writes={message.dst, "store"})
                     for message in state.network.distinct())

    def reshard_actions(self, state: ReceiptsState) -> tuple[Action, ...]:
        """The parent's ``reshard``, until it has happened."""
        if state.resharded:
            return ()
        spec = state.spec.value
        modules = state.store.modules()
        return (Action(spec.parent, "reshard", (("child", spec.child),),
                       frozenset({spec.parent, "store"}),
                       frozenset({spec.parent, spec.child, "store",
                                  *map(inbox_object, modules), inbox_object(spec.child)})),)

    # Steps -----------------------------------------------------------------------------

    def protocol_step(self, state: ReceiptsState, action: Action) -> ReceiptsState:
        """A reshard, a debit (or local transfer), or a delivered receipt."""
        if action.name == "reshard":
            return self.reshard(state)
        if action.name in ("debit", "execute"):
            return self.debit(state, number(action.param("tx")))
        message = message_of(action)
        return self.credit(attrs.evolve(state, network=state.network.remove(message)),
                           message)

    def debit(self, state: ReceiptsState, tx: int) -> ReceiptsState:
        """The source module takes ``src``'s nonce, then reverts, transfers locally, or
        debits ``src`` and emits a receipt."""
        t = state.spec.value.transfers[tx]
        state = self.take_nonce(state, t)
        store = state.store
        value = store.get(t.src) or 0
        read = ReadRecord("read", t.src, value, writer_of(state.writers, t.src))
        if value < t.amount:
            return self.revert(state, t, read)
        if store.module_of(t.src) == store.module_of(t.dst):
            return self.transfer_locally(state, t, read)
        return self.send_receipt(state, t, read)

    def take_nonce(self, state: ReceiptsState, transfer: Transfer) -> ReceiptsState:
        """The sender's next nonce moves past ``transfer``'s, which is recorded as taken."""
        nonce = state.spec.value.nonces[transfer.index]
        taken = (*lookup(state.taken, transfer.src, ()), nonce)
        return attrs.evolve(state, next_nonce=with_entry(state.next_nonce, transfer.src,
                                                         nonce + 1),
                            taken=with_entry(state.taken, transfer.src, taken))

    def revert(self, state: ReceiptsState, transfer: Transfer,
               read: ReadRecord) -> ReceiptsState:
        """The balance does not cover the amount: the transfer reverts (its nonce used)."""
        tx = transfer.index
        return attrs.evolve(
            state, progress=replace_at(state.progress, tx, REVERTED),
            records=replace_at(state.records, tx, TxRecord(tx, "reverted", (read,), ())),
            order=(*state.order, tx))

    def transfer_locally(self, state: ReceiptsState, transfer: Transfer,
                         read: ReadRecord) -> ReceiptsState:
        """Both accounts in one module: debit and credit in one step."""
        tx, store = transfer.index, state.store
        debit = (transfer.src, (store.get(transfer.src) or 0) - transfer.amount)
        dst_value = store.get(transfer.dst) or 0
        credit = (transfer.dst, dst_value + transfer.amount)
        reads = (read, ReadRecord("read", transfer.dst, dst_value,
                                  writer_of(state.writers, transfer.dst)))
        return attrs.evolve(
            state, store=store.with_writes((debit, credit)),
            writers=with_writers(state.writers, (transfer.src, transfer.dst), tx),
            progress=replace_at(state.progress, tx, DONE),
            records=replace_at(state.records, tx,
                               TxRecord(tx, "committed", reads, (debit, credit))),
            order=(*state.order, tx))

    def send_receipt(self, state: ReceiptsState, transfer: Transfer,
                     read: ReadRecord) -> ReceiptsState:
        """Debit ``src`` and put the receipt in flight to the module that owns ``dst``."""
        tx, store = transfer.index, state.store
        debit = (transfer.src, (store.get(transfer.src) or 0) - transfer.amount)
        receipt = self.receipt(transfer, store.module_of(transfer.src),
                               store.module_of(transfer.dst))
        return attrs.evolve(
            state, store=store.with_writes((debit,)),
            writers=with_writers(state.writers, (transfer.src,), tx),
            progress=replace_at(state.progress, tx, SENT),
            records=replace_at(state.records, tx,
                               TxRecord(tx, "committed", (read,), (debit,))),
            network=state.network.send(receipt))

    def receipt(self, transfer: Transfer, src: str, dst: str) -> Message:
        """The receipt of ``transfer`` from module ``src`` to module ``dst``."""
        return Message(src, dst, RECEIPT, (("tx", transfer.index), ("key", transfer.dst),
                                           ("amount", transfer.amount)))

    def credit(self, state: ReceiptsState, message: Message) -> ReceiptsState:
        """The destination applies a receipt once; a seen receipt is discarded."""
        if self.is_duplicate(state, message.dst, number(message.get("tx"))):
            return state
        if state.store.module_of(str(message.get("key"))) != message.dst:
            return self.misrouted(state, message)
        return self.apply_receipt(state, message)

    def is_duplicate(self, state: ReceiptsState, module: str, tx: int) -> bool:
        """Whether ``module`` has applied the receipt of ``tx`` already (de-duplication
        by receipt id)."""
        return tx in self.applied_by(state, module) and not self.flags.no_dedup

    def misrouted(self, state: ReceiptsState, message: Message) -> ReceiptsState:
        """A receipt for an account its module no longer holds (only a receipt the split
        did not re-address): the module, finding no such account, discards it."""
        return state

    def apply_receipt(self, state: ReceiptsState, message: Message) -> ReceiptsState:
        """Credit the account, and add the receipt's id to the module's applied set."""
        module = message.dst
        tx, key, amount = (number(message.get("tx")), str(message.get("key")),
                           number(message.get("amount")))
        value = state.store.get(key) or 0
        credit = (key, value + amount)
        old = state.records[tx]
        assert old is not None, "a receipt is only in flight after its debit"
        record = attrs.evolve(old, reads=(*old.reads, ReadRecord(
            "read", key, value, writer_of(state.writers, key))), writes=(*old.writes, credit))
        seen = self.applied_by(state, module)
        return attrs.evolve(
            state, store=state.store.with_writes((credit,)),
            writers=with_writers(state.writers, (key,), tx),
            applied=with_entry(state.applied, module, tuple(sorted({*seen, tx}))),
            credits=(*state.credits, tx), records=replace_at(state.records, tx, record),
            order=state.order if tx in state.order else (*state.order, tx))

    def reshard(self, state: ReceiptsState) -> ReceiptsState:
        """The parent splits: moved accounts, their receipts in flight and its applied set
        go to the child."""
        spec = state.spec.value
        owners = dict(state.store.owners)
        owners.update((key, spec.child) for key in spec.moved)
        return attrs.evolve(state, store=attrs.evolve(state.store, owners=owners),
                            network=self.reroute(state, state.network),
                            applied=self.carried_applied(state),
                            resharded=True, next_nonce=self.carried_nonces(state))

    def reroute(self, state: ReceiptsState, network: Network) -> Network:
        """Receipts in flight to the parent for a moved account, re-addressed to the
        child."""
        if self.flags.reshard_misroute:
            return network
        spec = state.spec.value
        for message in state.network.in_flight:
            if (message.dst == spec.parent and message.kind == RECEIPT
                    and message.get("key") in spec.moved):
                network = network.remove(message).send(
                    Message(message.src, spec.child, message.kind, message.payload))
        return network

    def carried_applied(self, state: ReceiptsState) -> tuple[tuple[str, tuple[int, ...]], ...]:
        """Every module's applied set after the split: the child inherits the parent's,
        so a receipt the parent applied is a duplicate at the child too."""
        spec = state.spec.value
        return with_entry(state.applied, spec.child, self.applied_by(state, spec.parent))

    def carried_nonces(self, state: ReceiptsState) -> tuple[tuple[str, int], ...]:
        """Every sender's next nonce after the split (the child holds the moved ones)."""
        if self.flags.reshard_drops_nonces:
            moved = state.spec.value.moved
            return tuple((sender, n) for sender, n in state.next_nonce if sender not in moved)
        return state.next_nonce

    def applied_by(self, state: ReceiptsState, module: str) -> tuple[int, ...]:
        """The receipt ids ``module`` has applied (its de-duplication set)."""
        return lookup(state.applied, module, ())

    # Invariants ------------------------------------------------------------------------

    def once(self, state: ReceiptsState) -> str | None:
        """INV-ONCE: no receipt is applied twice."""
        twice = first_repeat(state.credits)
        return None if twice is None else f"the receipt of T{twice} was applied twice"

    def validity(self, state: ReceiptsState) -> str | None:
        """INV-VAL: every credit comes from a receipt a debit emitted."""
        for tx in state.credits:
            if state.progress[tx] != SENT:
                return f"a credit for T{tx} was applied but T{tx} emitted no receipt"
        return None

    def in_flight_value(self, state: ReceiptsState) -> int:
        """The value of the receipts in flight whose credit has not been applied."""
        credited = set(state.credits)
        pending: dict[int, int] = {}
        for message in state.network.in_flight:
            tx = number(message.get("tx"))
            if tx not in credited:
                pending[tx] = number(message.get("amount"))
        return sum(pending.values())

    def conservation(self, state: ReceiptsState) -> str | None:
        """INV-CONS: total balance plus the receipts in flight not yet applied is the
        supply."""
        total = balances(state.store)
        flight = self.in_flight_value(state)
        supply = state.spec.value.supply
        if total + flight != supply:
            return (f"the accounts hold {total} and receipts in flight {flight}: "
                    f"{total + flight} in all, the block started with {supply}")
        return None

    def sender_order(self, state: ReceiptsState) -> str | None:
        """INV-ORD: each sender's transfers go through in nonce order, none skipped."""
        spec = state.spec.value
        for sender, nonces in state.taken:
            for expected, nonce in enumerate(nonces):
                if nonce != expected:
                    tx = next(t.index for t in spec.transfers
                              if t.src == sender and spec.nonces[t.index] == nonce)
                    return (f"{sender}'s transfer with nonce {nonce} (T{tx}) went through "
                            f"while its nonce {expected} was due")
        return None

    def exactly_once(self, state: ReceiptsState) -> str | None:
        """INV-EXO (terminal): every emitted receipt applied, nothing left in flight."""
        if state.network.in_flight:
            return f"{state.network.in_flight[0].label()} is still in flight"
        credited = set(state.credits)
        for tx, progress in enumerate(state.progress):
            if progress == SENT and tx not in credited:
                return f"the receipt of T{tx} was never applied"
        return None
