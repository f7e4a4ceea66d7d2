"""The standard bank benchmark written as a user would write it: no packing at all.

The same model as the built-in ``bank`` (shared/anchors/peers.md: K workers run N
transfers with no validation, five atomic steps per transfer), with the same state
counts (286,014 at K=3, N=5; 1,630,411 at K=3, N=6), written the way the design protocol
(``shardcheck.model.Design``) invites: frozen attrs states, an ``Action`` with its
footprint for every enabled step, ``step`` dispatching on the action's name, and
``attrs.evolve`` for every change. Nothing in it is written for speed.

    shardcheck explore benchmarks/bank_user.py:BankUser --workload bank:txs=5,accounts=3 \
        --workers 3 --no-symmetry --no-por

``BankUserDeclared`` is the same class plus the declaration of its structure (three
lines: which field holds the actors, which fields they share), which lets the explorer
memoize each worker's step on what the worker can see (``model.Structure``).
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from shardcheck.model import (
    Action,
    Config,
    Constant,
    Mutant,
    Outcome,
    Property,
    Store,
    Structure,
)
from shardcheck.model.designs.bank import transfers


@attrs.frozen
class Plan:
    """Per transaction: source and destination account (by position), amount."""

    accounts: tuple[str, ...]
    src: tuple[int, ...]
    dst: tuple[int, ...]
    amount: tuple[int, ...]


@attrs.frozen(order=True)
class Worker:
    """Where a worker is in its transfer, and its registers (0 when dead)."""

    pc: str = "claim"
    tx: int = 0
    rs: int = 0
    rd: int = 0


@attrs.frozen
class BankState:
    """The claim counter and the balances, shared; one ``Worker`` per worker."""

    plan: Constant[Plan]
    nxt: int
    balances: tuple[int, ...]
    workers: tuple[Worker, ...]


class BankUser:
    """K workers claim transfers from a shared counter and move money with no validation."""

    name = "bank-user"
    summary = "the bank benchmark as a user writes it: attrs states, no packing"
    criteria: tuple[str, ...] = ()
    default_workload = "bank:txs=2,accounts=3"

    def initial(self, config: Config) -> BankState:
        """Every worker about to claim; the balances as the workload starts them."""
        plan, balances = transfers(config)
        return BankState(Constant(Plan(plan.accounts, plan.src, plan.dst, plan.amount)), 0,
                         balances, (Worker(),) * config.workers)

    def actions(self, state: BankState) -> Sequence[Action]:
        """Each worker that is not done takes its next step."""
        plan = state.plan.value
        out = []
        for w, worker in enumerate(state.workers):
            actor = f"w{w}"
            if worker.pc == "claim":
                if state.nxt < len(plan.src):
                    out.append(Action(actor, "claim", {"tx": state.nxt},
                                      reads={"nxt"}, writes={"nxt"}))
                else:
                    out.append(Action(actor, "finish", reads={"nxt"}))
            elif worker.pc in ("rsrc", "rdst"):
                account = (plan.src if worker.pc == "rsrc" else plan.dst)[worker.tx]
                key = plan.accounts[account]
                out.append(Action(actor, worker.pc, {"tx": worker.tx, "key": key},
                                  reads={key}))
            elif worker.pc in ("wsrc", "wdst"):
                account = (plan.src if worker.pc == "wsrc" else plan.dst)[worker.tx]
                key = plan.accounts[account]
                out.append(Action(actor, worker.pc, {"tx": worker.tx, "key": key},
                                  writes={key}))
        return tuple(out)

    def step(self, state: BankState, action: Action) -> BankState:
        """The named worker's next step."""
        w = int(action.actor[1:])
        worker = state.workers[w]
        plan = state.plan.value
        if action.name == "claim":
            return attrs.evolve(state, nxt=state.nxt + 1, workers=_put(
                state.workers, w, Worker("rsrc", state.nxt)))
        if action.name == "finish":
            return attrs.evolve(state, workers=_put(state.workers, w, Worker("done")))
        if action.name == "rsrc":
            moved = attrs.evolve(worker, pc="rdst",
                                 rs=state.balances[plan.src[worker.tx]])
            return attrs.evolve(state, workers=_put(state.workers, w, moved))
        if action.name == "rdst":
            moved = attrs.evolve(worker, pc="wsrc",
                                 rd=state.balances[plan.dst[worker.tx]])
            return attrs.evolve(state, workers=_put(state.workers, w, moved))
        if action.name == "wsrc":
            balances = _put(state.balances, plan.src[worker.tx],
                            worker.rs - plan.amount[worker.tx])
            moved = attrs.evolve(worker, pc="wdst", rs=0)
            return attrs.evolve(state, balances=balances,
                                workers=_put(state.workers, w, moved))
        if action.name == "wdst":
            balances = _put(state.balances, plan.dst[worker.tx],
                            worker.rd + plan.amount[worker.tx])
            return attrs.evolve(state, balances=balances,
                                workers=_put(state.workers, w, Worker()))
        raise ValueError(f"unknown action {action.name!r}")

    def is_terminal(self, state: BankState) -> bool:
        """Every worker is done."""
        return all(worker.pc == "done" for worker in state.workers)

    def outcome(self, state: BankState) -> Outcome:
        """The final balances (no read records: the design is judged by its properties)."""
        plan = state.plan.value
        store = Store(dict(zip(plan.accounts, state.balances, strict=True)))
        return Outcome(store, tuple(range(len(plan.src))), ())

    def canonical(self, state: BankState) -> BankState:
        """Workers are identical: sorted, they pick one state per renaming."""
        return attrs.evolve(state, workers=tuple(sorted(state.workers)))

    def properties(self) -> Sequence[Property]:
        """The claim counter never passes the block size."""
        return (Property("counter", "nxt <= N", "state", _counter),)

    def mutants(self) -> Sequence[Mutant]:
        """None."""
        return ()


def _counter(state: BankState) -> str | None:
    n = len(state.plan.value.src)
    return None if state.nxt <= n else f"nxt = {state.nxt} passed the block size {n}"


def _put(items: tuple, index: int, value: object) -> tuple:  # type: ignore[type-arg]
    return (*items[:index], value, *items[index + 1:])


class BankUserDeclared(BankUser):
    """The same design, with its structure declared: the explorer memoizes each worker's
    step on the shared memory and the worker's own registers."""

    structure = Structure(actors="workers", shared=("nxt", "balances"), interchangeable=True)
