"""The standard benchmark: K workers run N bank transfers under an optimistic scheduler.

This is the model every peer checker was measured on (shared/anchors: its ``README.md``,
``peers.md`` and the reference semantics in ``models/bank_ref.py``), written as a
shardcheck design so that state counts and speed can be held against minicheck, musil
and SPIN. It is also the smallest honest example of a lost update: a scheduler with no
validation at all.

The model. A block of N transfers over A accounts (``bank:txs=N,accounts=A``):
transaction i moves ``1 + i % 3`` from account ``i % A`` to account ``(i + 1) % A``.
Shared state is ``nxt``, the next transaction to claim, and the balances. Each worker
repeats five atomic steps:

1. ``claim``: if ``nxt < N`` then ``i = nxt; nxt += 1``; otherwise ``finish`` (DONE).
2. ``rsrc``: ``rs = bal[src]``.
3. ``rdst``: ``rd = bal[dst]``.
4. ``wsrc``: ``bal[src] = rs - amt``.
5. ``wdst``: ``bal[dst] = rd + amt``.

Dead registers are reset to 0, so a state is canonical and the counts agree with the
peers' exactly (41,115 states at K=3, N=4; 1,630,411 at K=3, N=6). What is abstracted
away: everything but the read and write of each balance; a transfer never reverts.

Properties: ``counter`` (``nxt <= N``, in every state) always holds. The ``final-sum``
variant also checks ``final_sum`` in terminal states (the total balance is conserved),
which lost updates break: it is the peers' variant b. The design is judged by its own
properties only (``criteria = ()``): with no validation it is not meant to equal serial
execution, and variant a is the exhaustive sweep the benchmark times.

Workers are identical, so the design is ``Symmetric`` (sorting the workers is a sound
canonical form: 292,315 states instead of 1,630,411 at N=6). It also offers the
explorer's optional fast path, ``compact``: a state packs into one int and successors
are computed on ints, with no ``Action`` objects.

Extending this design
---------------------

A variant is a subclass of ``Bank`` (``from shardcheck.model.designs.bank import Bank``)
that overrides the methods below; each is called through ``self``, so the explorer, the
fuzzer, replay and the final-sum variant of the subclass run the override
(``shardcheck explore my_bank.py:MyBank``). Its default configuration is the class
attributes ``default_workload`` and ``default_workers``, the peers' size M
(``bank:txs=4,accounts=3`` on 3 workers); it runs only ``bank`` workloads
(``workload_kinds``). The worker values (``Worker``, ``IDLE``), the program counters
(``CLAIM``, ``RSRC``, ``RDST``, ``WSRC``, ``WDST``, ``DONE``), ``BankState`` and
``Transfers`` are public names of the same module. An ``__init__`` of the subclass
calls ``super().__init__(final_sum)``, which binds the tables below.

*Steps.* ``steps`` maps each program counter to the method that takes a worker's step
there, ``(state: BankState, w: int, worker: Worker) -> BankState``: ``claim`` (``claim``;
``finish`` once none is left), ``read_source`` (``rsrc``), ``read_destination``
(``rdst``), ``write_source`` (``wsrc``), ``write_destination`` (``wdst``). A step returns
``with_worker(state, w, next_worker, nxt=..., balances=...)`` (either keyword may be
left out); ``step_worker(state, w, worker)`` is the dispatch.

*Actions.* ``footprints`` maps each program counter to the method that builds the
worker's action, footprint included, ``(state, w, worker) -> Action``: ``claim_action``
(``claim`` reads and writes ``nxt``; ``finish`` reads it), ``read_action`` (reads the
account's key), ``write_action`` (writes it); ``describe(state, w, worker)`` dispatches.

*Rules.* ``claims_left(state) -> bool`` is the claim's guard `nxt < N`;
``account(plan: Transfers, pc, tx) -> int`` the account a step touches (source for
``rsrc``/``wsrc``, destination for ``rdst``/``wdst``).

*Invariants*, bound methods ``(state) -> str | None`` that ``properties()`` lists:
``counter_in_range`` (``counter``: `nxt <= N`) and, in the final-sum variant,
``total_conserved`` (``final_sum``). Add one by extending ``super().properties()``.

*State.* ``state_class`` (default ``BankState``) is what ``initial`` creates; a subclass
may add attrs fields with defaults, and every step keeps them (``with_worker`` and
``canonical`` evolve any class but ``BankState`` itself).

*Variants.* ``variant(final_sum) -> Bank`` builds the final-sum variant, by default
``type(self)(final_sum=final_sum)``.

*The packed path* computes the five steps on bit fields without calling them, so
``compact`` refuses (with a message) a subclass that declares ``compact_fits = True``
but changes a step, an action, a rule, the tables, ``actions``, ``step``,
``is_terminal``, ``canonical`` or the state class; a subclass that only adds
properties or changes ``initial``, ``outcome`` or ``mutants`` may declare it, and its
own properties are then checked on every packed state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import ClassVar, NamedTuple

import attrs

from shardcheck.model.api import Action, Config, KnownFailure, Mutant, Outcome, ParamValue, Property
from shardcheck.model.designs.dispatch import bind_methods
from shardcheck.model.encoding import Constant
from shardcheck.model.language import BinOp, Const, Read, Transaction, Var, Write
from shardcheck.model.packing import field_sorter, overridden
from shardcheck.model.store import Store
from shardcheck.model.workloads import WorkloadError

__all__ = ["CLAIM", "DONE", "IDLE", "RDST", "RSRC", "WDST", "WSRC", "Bank", "BankPacking",
           "BankState", "Transfers", "Worker", "transfers"]

CLAIM, RSRC, RDST, WSRC, WDST, DONE = "claim", "rsrc", "rdst", "wsrc", "wdst", "done"
_PCS = (CLAIM, RSRC, RDST, WSRC, WDST, DONE)
_PC_CODE = {pc: n for n, pc in enumerate(_PCS)}


class Worker(NamedTuple):
    """One worker: where it is and its registers (0 when dead)."""

    pc: str
    tx: int
    rs: int
    rd: int


IDLE = Worker(CLAIM, 0, 0, 0)


@attrs.frozen
class Transfers:
    """The block as the design runs it: per transaction its source, destination, amount."""

    accounts: tuple[str, ...]
    src: tuple[int, ...]
    dst: tuple[int, ...]
    amount: tuple[int, ...]
    total: int
    """The sum of the initial balances, which a correct run conserves."""


@attrs.frozen
class BankState:
    """Shared memory (the claim counter and the balances) and every worker."""

    block: Constant[Transfers]
    nxt: int
    balances: tuple[int, ...]
    workers: tuple[Worker, ...]


def _amount(stmt: object, op: str, var: str, key: str) -> int | None:
    if not (isinstance(stmt, Write) and stmt.key == key and isinstance(stmt.expr, BinOp)):
        return None
    expr = stmt.expr
    if expr.op != op or expr.left != Var(var) or not isinstance(expr.right, Const):
        return None
    return expr.right.value


def _transfer(tx: Transaction) -> tuple[str, str, int]:
    """The (source key, destination key, amount) of a transfer program."""
    program = tx.program
    if len(program) == 4 and isinstance(program[0], Read) and isinstance(program[1], Read):
        rs, rd = program[0], program[1]
        out = _amount(program[2], "-", rs.var, rs.key)
        into = _amount(program[3], "+", rd.var, rd.key)
        if out is not None and out == into and rs.key != rd.key:
            return rs.key, rd.key, out
    raise WorkloadError(
        f"the bank design runs blocks of plain transfers (read src, read dst, write "
        f"src - amt, write dst + amt); transaction {tx.index} ({tx.label!r}) is not one: "
        "use a bank workload, e.g. --workload bank:txs=4,accounts=3")


StepMethod = Callable[[BankState, int, Worker], BankState]
ActionMethod = Callable[[BankState, int, Worker], Action]


def transfers(config: Config) -> tuple[Transfers, tuple[int, ...]]:
    """The block of ``config`` as transfers, and the initial balances."""
    block = config.workload.block
    moves = [_transfer(tx) for tx in block]
    keys = sorted({k for s, d, _ in moves for k in (s, d)})
    store = config.workload.initial
    balances = tuple(store.get(k) or 0 for k in keys)
    plan = Transfers(
        tuple(keys),
        tuple(keys.index(s) for s, _, _ in moves),
        tuple(keys.index(d) for _, d, _ in moves),
        tuple(a for _, _, a in moves),
        sum(balances),
    )
    return plan, balances


class Bank:
    """K identical workers run a block of transfers with no validation (peers' model)."""

    name = "bank"
    summary = "standard benchmark: K workers run N transfers with no validation (peers' model)"
    criteria: tuple[str, ...] = ()
    portable_packing = True
    """Bit fields: a packed state is the same int in every process (``model.Compactable``)."""
    default_workload = "bank:txs=4,accounts=3"
    """The peers' size M (with ``default_workers``, K=3): 41,115 states unreduced."""
    default_workers = 3
    workload_kinds: ClassVar[tuple[str, ...] | None] = ("bank",)
    """Blocks of plain transfers: the ``bank`` generator's."""

    state_class: ClassVar[type[BankState]] = BankState
    """The class of the states ``initial`` creates (a subclass may add fields)."""

    steps: ClassVar[Mapping[str, str]] = MappingProxyType({
        CLAIM: "claim",
        RSRC: "read_source",
        RDST: "read_destination",
        WSRC: "write_source",
        WDST: "write_destination",
    })
    """Program counter -> the name of the method that takes a worker's step there."""

    footprints: ClassVar[Mapping[str, str]] = MappingProxyType({
        CLAIM: "claim_action",
        RSRC: "read_action",
        RDST: "read_action",
        WSRC: "write_action",
        WDST: "write_action",
    })
    """Program counter -> the name of the method that gives the action a worker takes
    there, footprint included."""

    def __init__(self, final_sum: bool = False) -> None:
        self.final_sum = final_sum
        # Each program counter's step and action, bound once: overrides count, and a
        # dispatch costs one dict get.
        self._step_methods: dict[str, StepMethod] = bind_methods(self, self.steps, "steps")
        self._action_methods: dict[str, ActionMethod] = bind_methods(self, self.footprints,
                                                                     "footprints")

    # The design interface -------------------------------------------------------------

    def initial(self, config: Config) -> BankState:
        """Every balance as the workload starts it, every worker about to claim."""
        plan, balances = transfers(config)
        return self.state_class(block=Constant(plan), nxt=0, balances=balances,
                                workers=(IDLE,) * config.workers)

    def actions(self, state: BankState) -> Sequence[Action]:
        """One action per worker that is not DONE, in worker order (``describe``)."""
        return tuple(self.describe(state, w, worker)
                     for w, worker in enumerate(state.workers) if worker.pc != DONE)

    def step(self, state: BankState, action: Action) -> BankState:
        """Run the worker's next step (the action names the worker)."""
        w = int(action.actor[1:])
        return self.step_worker(state, w, state.workers[w])

    def is_terminal(self, state: BankState) -> bool:
        """Every worker is DONE."""
        return all(worker.pc == DONE for worker in state.workers)

    def outcome(self, state: BankState) -> Outcome:
        """The final balances; the design keeps no read records (criteria = ())."""
        plan = state.block.value
        store = Store(dict(zip(plan.accounts, state.balances, strict=True)))
        return Outcome(store, tuple(range(len(plan.src))), ())

    def canonical(self, state: BankState) -> BankState:
        """Workers are identical: sorting them picks one state per renaming."""
        ordered = tuple(sorted(state.workers))
        if ordered == state.workers:
            return state
        if type(state) is BankState:
            return BankState(state.block, state.nxt, state.balances, ordered)
        return attrs.evolve(state, workers=ordered)

    def properties(self) -> Sequence[Property]:
        """``counter`` always; ``final_sum`` in the final-sum variant."""
        counter = Property("counter", "the claim counter never passes the block size (nxt <= N)",
                           "state", self.counter_in_range)
        if not self.final_sum:
            return (counter,)
        return (counter, Property("final_sum", "when every worker is done the total balance "
                                  "is what it was at the start", "terminal",
                                  self.total_conserved))

    def mutants(self) -> Sequence[Mutant]:
        """The final-sum variant (the peers' variant b), of this design's own class."""
        if self.final_sum:
            return ()
        return (Mutant(
            "final-sum",
            "also check that the total balance is conserved (the peers' variant b)",
            "The design has no validation, so two workers that read the same balance "
            "before either writes it lose one update. The base design checks only the "
            "claim counter (the peers' variant a, an exhaustive sweep); this variant adds "
            "final_sum, which lost updates break, so a search stops at the first "
            "counterexample. Every one is exactly 5N + K steps long.",
            self.variant(final_sum=True),
            KnownFailure("bank:txs=2,accounts=3", 2, "final_sum", 12)),)

    def variant(self, final_sum: bool) -> Bank:
        """This design's class, checking ``final_sum`` or not: how ``mutants()`` builds
        the final-sum variant."""
        return type(self)(final_sum=final_sum)

    def compact(self, initial: BankState) -> BankPacking:
        """The fast path: states as ints, successors computed on ints.

        The packing works the five steps out on bit fields itself, so it describes a
        subclass only while the subclass keeps every step, action and table and the state
        class; it refuses otherwise, even where ``compact_fits = True`` says it fits.
        """
        changed = overridden(self, Bank, (
            "actions", "step", "step_worker", "describe", "is_terminal", "canonical",
            "steps", "footprints", "state_class", "claims_left", "account", "with_worker",
            *Bank.steps.values(), *Bank.footprints.values()))
        if changed or type(initial) is not BankState:
            what = ", ".join(changed) if changed else f"the state class {type(initial).__name__}"
            raise TypeError(
                f"{type(self).__name__} changes {what}, which the bank's packing works out "
                "on bit fields instead of calling: it cannot describe this design; remove "
                "compact_fits = True (the ordinary path checks it)")
        return BankPacking(initial)

    # How a step is taken -------------------------------------------------------------

    def step_worker(self, state: BankState, w: int, worker: Worker) -> BankState:
        """Worker ``w`` (that is ``worker``) takes the step ``steps`` names for its pc."""
        method = self._step_methods.get(worker.pc)
        if method is None:
            raise ValueError(f"worker w{w} is {worker.pc} and has no step")
        return method(state, w, worker)

    def describe(self, state: BankState, w: int, worker: Worker) -> Action:
        """The action worker ``w`` takes next, as ``footprints`` names it for its pc."""
        return self._action_methods[worker.pc](state, w, worker)

    def with_worker(self, state: BankState, w: int, worker: Worker, nxt: int | None = None,
                    balances: tuple[int, ...] | None = None) -> BankState:
        """``state`` with worker ``w`` replaced, and ``nxt`` or the balances if given.

        Every other field is kept, a subclass's too (``attrs.evolve``); the exact
        ``BankState`` is rebuilt positionally, which is faster on the hot path.
        """
        workers = (*state.workers[:w], worker, *state.workers[w + 1:])
        nxt = state.nxt if nxt is None else nxt
        balances = state.balances if balances is None else balances
        if type(state) is BankState:
            return BankState(state.block, nxt, balances, workers)
        return attrs.evolve(state, nxt=nxt, balances=balances, workers=workers)

    # Rules ---------------------------------------------------------------------------

    def claims_left(self, state: BankState) -> bool:
        """The claim's guard, `nxt < N`: a transfer is left to claim."""
        return state.nxt < len(state.block.value.src)

    def account(self, plan: Transfers, pc: str, tx: int) -> int:
        """The account a step at ``pc`` of transfer ``tx`` touches: the source for
        ``rsrc`` and ``wsrc``, the destination for ``rdst`` and ``wdst``."""
        return (plan.src if pc in (RSRC, WSRC) else plan.dst)[tx]

    # Invariants ----------------------------------------------------------------------

    def counter_in_range(self, state: BankState) -> str | None:
        """``counter``: `nxt <= N`, in every state."""
        n = len(state.block.value.src)
        return None if state.nxt <= n else f"nxt = {state.nxt} passed the block size {n}"

    def total_conserved(self, state: BankState) -> str | None:
        """``final_sum``: when every worker is DONE, `sum(bal)` is the initial total."""
        total = state.block.value.total
        got = sum(state.balances)
        if got == total:
            return None
        return f"the balances sum to {got}, not {total}: an update was lost"

    # Actions: what each step touches -------------------------------------------------

    def claim_action(self, state: BankState, w: int, worker: Worker) -> Action:
        """``claim`` of transfer ``nxt``, reading and writing ``nxt``; or ``finish`` once
        none is left, reading it."""
        if self.claims_left(state):
            return Action(f"w{w}", "claim", {"tx": state.nxt}, reads={"nxt"}, writes={"nxt"})
        return Action(f"w{w}", "finish", reads={"nxt"})

    def read_action(self, state: BankState, w: int, worker: Worker) -> Action:
        """``rsrc`` or ``rdst``: a read of one account's balance."""
        plan = state.block.value
        key = plan.accounts[self.account(plan, worker.pc, worker.tx)]
        params: dict[str, ParamValue] = {"tx": worker.tx, "key": key}
        return Action(f"w{w}", worker.pc, params, reads={key})

    def write_action(self, state: BankState, w: int, worker: Worker) -> Action:
        """``wsrc`` or ``wdst``: a write of one account's balance."""
        plan = state.block.value
        key = plan.accounts[self.account(plan, worker.pc, worker.tx)]
        params: dict[str, ParamValue] = {"tx": worker.tx, "key": key}
        return Action(f"w{w}", worker.pc, params, writes={key})

    # Steps: the peers' five ----------------------------------------------------------

    def claim(self, state: BankState, w: int, worker: Worker) -> BankState:
        """1. ``claim``: `if nxt < N then i = nxt; nxt += 1`; otherwise DONE."""
        if self.claims_left(state):
            return self.with_worker(state, w, Worker(RSRC, state.nxt, 0, 0), nxt=state.nxt + 1)
        return self.with_worker(state, w, Worker(DONE, 0, 0, 0))

    def read_source(self, state: BankState, w: int, worker: Worker) -> BankState:
        """2. ``rsrc``: `rs = bal[src]`."""
        plan = state.block.value
        rs = state.balances[self.account(plan, RSRC, worker.tx)]
        return self.with_worker(state, w, Worker(RDST, worker.tx, rs, 0))

    def read_destination(self, state: BankState, w: int, worker: Worker) -> BankState:
        """3. ``rdst``: `rd = bal[dst]`."""
        plan = state.block.value
        rd = state.balances[self.account(plan, RDST, worker.tx)]
        return self.with_worker(state, w, Worker(WSRC, worker.tx, worker.rs, rd))

    def write_source(self, state: BankState, w: int, worker: Worker) -> BankState:
        """4. ``wsrc``: `bal[src] = rs - amt` (``rs`` is dead after it)."""
        plan, tx = state.block.value, worker.tx
        src = self.account(plan, WSRC, tx)
        bal = state.balances
        bal = (*bal[:src], worker.rs - plan.amount[tx], *bal[src + 1:])
        return self.with_worker(state, w, Worker(WDST, tx, 0, worker.rd), balances=bal)

    def write_destination(self, state: BankState, w: int, worker: Worker) -> BankState:
        """5. ``wdst``: `bal[dst] = rd + amt`; back to ``claim``, registers cleared."""
        plan, tx = state.block.value, worker.tx
        dst = self.account(plan, WDST, tx)
        bal = state.balances
        bal = (*bal[:dst], worker.rd + plan.amount[tx], *bal[dst + 1:])
        return self.with_worker(state, w, IDLE, balances=bal)


class BankPacking:
    """A run's states as ints: ``nxt``, each balance, then each worker, in bit fields.

    A balance is stored as its distance above the lowest value any run can reach (every
    write moves at most the block's total amount); a dead register is stored as 0, and
    since the program counter says which registers are live, the packing is injective.
    """

    def __init__(self, initial: BankState) -> None:
        plan = initial.block.value
        self.block = initial.block
        self.n = n = len(plan.src)
        self.k = k = len(initial.workers)
        self.a = a = len(plan.accounts)
        spread = sum(plan.amount)
        self.low = low = min(initial.balances) - spread
        high = max(initial.balances) + spread
        bw = max(1, (high - low).bit_length())
        tw = max(1, (n - 1).bit_length())
        nw = max(1, (n + 1).bit_length())
        self.bw, self.tw, self.nw = bw, tw, nw
        self.bal_shift = tuple(nw + j * bw for j in range(a))
        base = nw + a * bw
        self.ww = ww = 3 + tw + 2 * bw
        self.w_shift = tuple(base + w * ww for w in range(k))
        self.w_mask = (1 << ww) - 1
        self.bmask = (1 << bw) - 1
        self.tmask = (1 << tw) - 1
        self.nmask = (1 << nw) - 1
        self.base = base
        # Per worker and transaction, the shifts the hot loop needs.
        self.src_shift = tuple(self.bal_shift[s] for s in plan.src)
        self.dst_shift = tuple(self.bal_shift[d] for d in plan.dst)
        self.amount = plan.amount
        self._successors = self._build_successors()
        self._canonical = self._build_canonical()
        self._persistent = self._build_persistent(plan)

    def pack(self, state: BankState) -> int:
        """The int a state packs into."""
        code = state.nxt
        for j, b in enumerate(state.balances):
            code |= (b - self.low) << self.bal_shift[j]
        for w, worker in enumerate(state.workers):
            field = _PC_CODE[worker.pc] | worker.tx << 3
            if worker.pc in (RDST, WSRC):
                field |= (worker.rs - self.low) << (3 + self.tw)
            if worker.pc in (WSRC, WDST):
                field |= (worker.rd - self.low) << (3 + self.tw + self.bw)
            code |= field << self.w_shift[w]
        return code

    def unpack(self, code: int) -> BankState:
        """The state an int stands for (``pack``'s inverse)."""
        nxt = code & self.nmask
        balances = tuple(((code >> s) & self.bmask) + self.low for s in self.bal_shift)
        workers = []
        for shift in self.w_shift:
            field = code >> shift
            pc = _PCS[field & 7]
            tx = (field >> 3) & self.tmask
            rs = ((field >> (3 + self.tw)) & self.bmask) + self.low if pc in (RDST, WSRC) else 0
            rd = ((field >> (3 + self.tw + self.bw)) & self.bmask) + self.low \
                if pc in (WSRC, WDST) else 0
            workers.append(Worker(pc, tx, rs, rd))
        return BankState(self.block, nxt, balances, tuple(workers))

    def successors(self, code: int) -> list[int] | None:
        """``pack(step(s, a))`` for each ``a`` in ``actions(s)``, in order; None when the
        state is terminal (every worker DONE) or ``counter`` might fail (nxt past N)."""
        return self._successors(code)

    def _build_successors(self) -> Callable[[int], list[int] | None]:
        # A closure over the layout: the hot loop reads locals, not attributes.
        n, nmask, bmask, tmask = self.n, self.nmask, self.bmask, self.tmask
        rs_at, rd_at = 3 + self.tw, 3 + self.tw + self.bw
        src_shift, dst_shift, amount = self.src_shift, self.dst_shift, self.amount
        w_shift, w_mask = self.w_shift, self.w_mask

        def successors(code: int) -> list[int] | None:
            out = []
            nxt = code & nmask
            if nxt > n:
                return None
            for shift in w_shift:
                field = code >> shift
                pc = field & 7
                if pc == 0:  # claim, or finish when the block is used up
                    if nxt < n:
                        out.append(code + 1 + ((1 | nxt << 3) << shift))
                    else:
                        out.append(code + (5 << shift))
                elif pc == 1:  # rsrc: rs = bal[src]
                    value = (code >> src_shift[(field >> 3) & tmask]) & bmask
                    out.append(code + ((1 | value << rs_at) << shift))
                elif pc == 2:  # rdst: rd = bal[dst]
                    value = (code >> dst_shift[(field >> 3) & tmask]) & bmask
                    out.append(code + ((1 | value << rd_at) << shift))
                elif pc == 3:  # wsrc: bal[src] = rs - amt; rs = 0
                    tx = (field >> 3) & tmask
                    rs = (field >> rs_at) & bmask
                    at = src_shift[tx]
                    out.append(code + ((rs - amount[tx] - ((code >> at) & bmask)) << at)
                               + ((1 - (rs << rs_at)) << shift))
                elif pc == 4:  # wdst: bal[dst] = rd + amt; back to claim, registers cleared
                    tx = (field >> 3) & tmask
                    rd = (field >> rd_at) & bmask
                    at = dst_shift[tx]
                    out.append(code + ((rd + amount[tx] - ((code >> at) & bmask)) << at)
                               - ((field & w_mask) << shift))
            return out or None

        return successors

    def grade(self, code: int) -> int:
        """Steps taken so far (``model.Graded``): five per transfer finished, the steps
        into each worker's current one, and one per worker done. Every action adds one,
        so every run to a state has this many steps."""
        nxt = code & self.nmask
        steps = 0
        for shift in self.w_shift:
            pc = (code >> shift) & 7
            if pc == 5:
                steps += 1
            elif pc:
                steps += pc - 5  # its claim was counted as five below, as if finished
        return 5 * nxt + steps

    def persistent(self, code: int) -> int:
        """The index of one action that alone is a persistent set, or -1 (``model.Persistent``).

        A worker's pending read or write of account x is one when no other worker can
        touch x before it: not in the rest of its current transfer, and not in any
        transfer still to be claimed (every transfer reads and writes both its accounts,
        so what a worker may read it may also write). It changes no balance another
        worker could see first, and not ``nxt``, which is all ``counter`` reads. A
        ``finish`` is one whenever it is enabled: ``nxt`` is then N and nobody writes it
        again. Claims are never singled out (they write ``nxt``). Every run ends after
        5N + K steps, so the state graph has no cycle.
        """
        return self._persistent(code)

    def _build_persistent(self, plan: Transfers) -> Callable[[int], int]:
        n, k, nmask, w_shift = self.n, self.k, self.nmask, self.w_shift
        head = (1 << (3 + self.tw)) - 1  # a worker field's pc and tx
        # Per pc|tx<<3: the accounts (as a bit mask) the rest of the transfer touches,
        # and the account of the pending step itself (0: not a read or a write).
        touches: dict[int, int] = {}
        pending: dict[int, int] = {}
        for tx in range(max(1, n)):
            both = (1 << plan.src[tx] | 1 << plan.dst[tx]) if n else 0
            for pc in range(6):
                index = pc | tx << 3
                touches[index] = both if pc in (1, 2, 3) else \
                    (1 << plan.dst[tx] if pc == 4 and n else 0)
                pending[index] = (1 << (plan.src[tx] if pc in (1, 3) else plan.dst[tx])) \
                    if pc in (1, 2, 3, 4) and n else 0
        # Per value of nxt: the accounts the transfers not yet claimed touch.
        unclaimed = [0] * (n + 2)
        for start in range(n - 1, -1, -1):
            unclaimed[start] = unclaimed[start + 1] | 1 << plan.src[start] | 1 << plan.dst[start]

        # The answer depends only on nxt and each worker's pc and tx: it is worked out once
        # per combination of those bits and then looked up.
        signature = nmask
        for shift in w_shift:
            signature |= head << shift
        known: dict[int, int] = {}

        def persistent(code: int) -> int:
            bits = code & signature
            found = known.get(bits)
            if found is None:
                found = known[bits] = choose(bits)
            return found

        def choose(code: int) -> int:
            nxt = code & nmask
            heads = [(code >> shift) & head for shift in w_shift]
            if nxt >= n:
                # Every transfer is claimed: a worker about to claim can only finish,
                # which reads nxt and nothing else, and nobody writes nxt any more.
                index = 0
                for field in heads:
                    pc = field & 7
                    if pc == 0:
                        return index
                    if pc != 5:
                        index += 1
            later = unclaimed[nxt] if k > 1 and nxt < n else 0
            index = 0
            for w, field in enumerate(heads):
                mine = pending[field]
                if mine:
                    others = later
                    for v, other in enumerate(heads):
                        if v != w:
                            others |= touches[other]
                    if not mine & others:
                        return index
                if field & 7 != 5:
                    index += 1
            return -1

        return persistent

    def canonical(self, code: int) -> int:
        """Workers sorted by their packed fields: one int per renaming of the workers."""
        return self._canonical(code)

    def _build_canonical(self) -> Callable[[int], int]:
        # The fields above ``base`` are the workers'; the bits below it are shared.
        return field_sorter(self.w_shift, self.w_mask, (1 << self.base) - 1)
