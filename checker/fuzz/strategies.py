"""Hypothesis strategies for workloads and configurations, public for users' own tests.

A workload is drawn as a spec string of one of the model's generators (``shardcheck
workloads``), never as a bare program: a trace names its workload by spec, so every
block the fuzzer draws is one that ``shardcheck replay`` can build again from the file
alone. Block size and conflict rate are the knobs: ``txs`` bounds the block, and
``conflict`` (0 to 1) sets how crowded the key space is, from every transaction on its
own keys (0) to all of them on one (1). Left unset, the key count is drawn too, and
shrinks towards the most crowded block, where conflicts are likeliest.

Every strategy shrinks towards smaller blocks and fewer workers, so what hypothesis
reports is the smallest configuration it could keep failing on.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from hypothesis import strategies as st

from shardcheck.checker.design import load_workload
from shardcheck.checker.errors import BadInput
from shardcheck.checker.fuzz.run import FuzzConfig

Size = int | tuple[int, int] | st.SearchStrategy[int]
"""A count given as one value, an inclusive ``(low, high)`` range, or a strategy."""

DEFAULT_TXS: tuple[int, int] = (2, 8)
DEFAULT_WORKERS: tuple[int, int] = (2, 4)
MAX_TRANSACTIONS = 64
MAX_WORKERS = 16


def _count(size: Size, what: str, low: int, high: int) -> st.SearchStrategy[int]:
    if isinstance(size, st.SearchStrategy):
        return size
    lo, hi = (size, size) if isinstance(size, int) else size
    if not low <= lo <= hi <= high:
        raise BadInput(f"{what} must be a range within {low}..{high}, got {lo}..{hi}")
    return st.integers(lo, hi)


def _check_conflict(conflict: float | None) -> None:
    if conflict is not None and not 0.0 <= conflict <= 1.0:
        raise BadInput(f"conflict must be between 0 and 1, got {conflict:g}")


def _key_count(draw: st.DrawFn, txs: int, conflict: float | None, most: int) -> int:
    """How many keys ``txs`` transactions share: fewer keys, more conflicts."""
    if conflict is None:
        return draw(st.integers(1, max(1, most)))
    return max(1, 1 + math.floor((most - 1) * (1.0 - conflict) + 0.5))


def counters(txs: Size = DEFAULT_TXS, conflict: float | None = None) -> st.SearchStrategy[str]:
    """Read-increment-write blocks on hot counters (``counter`` specs)."""
    _check_conflict(conflict)
    sizes = _count(txs, "txs", 1, MAX_TRANSACTIONS)

    @st.composite
    def build(draw: st.DrawFn) -> str:
        n = draw(sizes)
        keys = _key_count(draw, n, conflict, n)
        modules = draw(st.integers(1, 3))
        return f"counter:txs={n},keys={keys},modules={modules}"

    return build()


def transfers(txs: Size = DEFAULT_TXS, conflict: float | None = None) -> st.SearchStrategy[str]:
    """Peer-to-peer transfers that revert on insufficient balance (``transfers`` specs)."""
    _check_conflict(conflict)
    sizes = _count(txs, "txs", 1, MAX_TRANSACTIONS)

    @st.composite
    def build(draw: st.DrawFn) -> str:
        n = draw(sizes)
        # Two accounts is the most crowded a transfer can be; 2n spreads them thinly.
        accounts = 1 + _key_count(draw, n, conflict, 2 * n - 1)
        amount = draw(st.integers(0, 3))  # 0: each transfer's amount comes from the seed
        balance = draw(st.integers(1, 5))  # an amount drawn from the seed needs one
        seed = draw(st.integers(0, 1000))
        modules = draw(st.integers(1, 3))
        return (f"transfers:txs={n},accounts={accounts},amount={amount},balance={balance},"
                f"seed={seed},modules={modules}")

    return build()


def conditional_writes(txs: Size = (3, 8)) -> st.SearchStrategy[str]:
    """Blocks whose write sets depend on values read (``condwrite`` specs)."""
    sizes = _count(txs, "txs", 1, MAX_TRANSACTIONS)
    return st.builds(lambda n, mode: f"condwrite:txs={n},mode={mode}", sizes,
                     st.sampled_from(["vanish", "appear"]))


def registrations(txs: Size = DEFAULT_TXS) -> st.SearchStrategy[str]:
    """First-come name registrations through the ``exists`` read (``registry`` specs)."""
    sizes = _count(txs, "txs", 1, MAX_TRANSACTIONS)

    @st.composite
    def build(draw: st.DrawFn) -> str:
        n = draw(sizes)
        return f"registry:txs={n},names={draw(st.integers(1, n))}"

    return build()


def audits(txs: Size = DEFAULT_TXS) -> st.SearchStrategy[str]:
    """Deposits interleaved with prefix scans (``audit`` specs)."""
    sizes = _count(txs, "txs", 1, MAX_TRANSACTIONS)
    return st.builds(lambda n, accounts, insert: f"audit:txs={n},accounts={accounts},"
                     f"insert={insert}", sizes, st.integers(1, 3), st.integers(0, 1))


def chains(txs: Size = DEFAULT_TXS) -> st.SearchStrategy[str]:
    """Each transaction reads what the one before it writes (``chain`` specs)."""
    sizes = _count(txs, "txs", 1, MAX_TRANSACTIONS)
    return st.builds(lambda n: f"chain:txs={n}", sizes)


def mixed(txs: Size = DEFAULT_TXS, conflict: float | None = None) -> st.SearchStrategy[str]:
    """Any of the workload families above, the simplest (counters) first."""
    return st.one_of(counters(txs, conflict), transfers(txs, conflict),
                     conditional_writes(txs), registrations(txs), audits(txs), chains(txs))


def workers(size: Size = DEFAULT_WORKERS) -> st.SearchStrategy[int]:
    """Worker counts, shrinking towards the fewest."""
    return _count(size, "workers", 1, MAX_WORKERS)


def configs(workloads: st.SearchStrategy[str] | None = None,
            worker_counts: Size = DEFAULT_WORKERS) -> st.SearchStrategy[FuzzConfig]:
    """A workload and a worker count together: what one fuzzed run is made of."""
    return st.builds(lambda w, k: FuzzConfig(workload=w, workers=k),
                     mixed() if workloads is None else workloads, workers(worker_counts))


WorkloadFactory = Callable[..., st.SearchStrategy[str]]

WORKLOAD_STRATEGIES: dict[str, tuple[WorkloadFactory, frozenset[str], str]] = {
    "mix": (mixed, frozenset({"txs", "conflict"}), "any of the families below"),
    "counter": (counters, frozenset({"txs", "conflict"}), "read-increment-write counters"),
    "transfers": (transfers, frozenset({"txs", "conflict"}), "transfers that may revert"),
    "condwrite": (conditional_writes, frozenset({"txs"}), "data-dependent write sets"),
    "registry": (registrations, frozenset({"txs"}), "registrations through exists"),
    "audit": (audits, frozenset({"txs"}), "deposits and prefix scans"),
    "chain": (chains, frozenset({"txs"}), "cascading reads"),
}
"""The strategies ``--workload-strategy`` names: factory, parameters, one-line summary."""


def _parse_range(text: str, name: str, spec: str) -> tuple[int, int]:
    low, dash, high = text.partition("-")
    try:
        bounds = (int(low), int(high)) if dash else (int(low), int(low))
    except ValueError:
        raise BadInput(f"workload strategy {spec!r}: {name} must be N or LOW-HIGH, "
                       f"got {text!r}") from None
    return bounds


def workload_strategy(spec: str) -> st.SearchStrategy[str]:
    """The strategy ``NAME[:txs=LOW-HIGH,conflict=RATE]`` names; ``BadInput`` if none does."""
    name, _, rest = spec.strip().partition(":")
    entry = WORKLOAD_STRATEGIES.get(name)
    if entry is None:
        raise BadInput(f"unknown workload strategy {name!r} (known: "
                       f"{', '.join(WORKLOAD_STRATEGIES)}); or give a fixed --workload SPEC")
    factory, allowed, _ = entry
    kwargs: dict[str, object] = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, eq, raw = (s.strip() for s in item.partition("="))
        if not eq or not raw:
            raise BadInput(f"workload strategy {spec!r}: expected key=value, got {item!r}")
        if key not in allowed:
            raise BadInput(f"workload strategy {spec!r}: {name} has no parameter {key!r} "
                           f"(parameters: {', '.join(sorted(allowed))})")
        if key == "txs":
            kwargs["txs"] = _parse_range(raw, key, spec)
        else:
            try:
                kwargs[key] = float(raw)
            except ValueError:
                raise BadInput(f"workload strategy {spec!r}: {key} must be a number between "
                               f"0 and 1, got {raw!r}") from None
    return factory(**kwargs)


def fixed_workload(spec: str) -> st.SearchStrategy[str]:
    """Always the one workload ``spec`` names, spelled out in full (validated now)."""
    return st.just(load_workload(spec).spec)
