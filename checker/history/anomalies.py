"""Anomalies: the named ways a history fails to be serializable, with their evidence.

The classes are Adya's (G0, G1a, G1b, G1c, G-single, G2) and Elle's refinements of
them (G-nonadjacent; the -realtime and -process variants for cycles that need an edge of
time or session order), the ones engineers name directly (lost update, write skew), the
structural faults no order can explain (a read of a value nobody wrote, a transaction
whose reads disagree with each other or with its own writes, a final store nobody
produced, facts about a version order that contradict each other) and, across modules, a
cycle whose edges come from different modules. ``unsatisfiable`` names a proof that no
order exists which is no dependency cycle (it needs an ordering the polygraph forced).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import attrs

EdgeKind = Literal["ww", "wr", "rw", "realtime", "process", "forced", "order"]
Basis = Literal["direct", "order", "forced"]
"""What an edge rests on: a dependency between adjacent versions (or a read, or an order
of time or session), an order through versions between or in every possible version order,
or an ordering the polygraph forced because the other way closes a cycle."""

_CYCLES: dict[str, str] = {
    "G0": "write cycle: transactions overwrite each other's writes in a circle",
    "G1c": "circular information flow: a cycle of write-read and write-write dependencies",
    "G-single": "read skew: a dependency cycle with exactly one anti-dependency",
    "G-nonadjacent": "non-adjacent anti-dependencies: a cycle with two or more "
                     "anti-dependencies, no two in a row (what snapshot isolation forbids)",
    "G2": "anti-dependency cycle: two or more transactions each miss another's write",
}

DESCRIPTIONS: dict[str, str] = {
    "G0": _CYCLES["G0"],
    "G1a": "aborted read: a committed transaction read a write of an aborted one",
    "G1b": "intermediate read: a committed transaction read a value its writer later "
           "overwrote",
    "G1c": _CYCLES["G1c"],
    "G-single": _CYCLES["G-single"],
    "G-nonadjacent": _CYCLES["G-nonadjacent"],
    "G2": _CYCLES["G2"],
    "write-skew": "write skew: two transactions each read what the other overwrites",
    "lost-update": "lost update: two transactions read the same version and both "
                   "overwrite it",
    "garbage-read": "a read saw a value its claimed writer (or the initial store) never "
                    "held",
    "internal": "a transaction's reads of a key disagree with each other or with its own "
                "earlier write",
    "final-state": "the final store holds a value no committed transaction wrote last",
    "cyclic-versions": "the recorded facts about a key's version order contradict each "
                       "other",
    "incompatible-order": "two observations of a key's versions cannot both be prefixes of "
                          "one version order",
    "duplicate-elements": "a list read holds one appended element twice",
    "cross-module": "each module is serializable alone, but no single order serves all "
                    "modules",
    "unsatisfiable": "no order satisfies every reads-from constraint at once",
    **{f"{name}-process": f"{text.split(':')[0]} through session order: {text.split(': ')[1]}, "
       "with a process running transactions one after another"
       for name, text in _CYCLES.items()},
    **{f"{name}-realtime": f"{text.split(':')[0]} through real time: {text.split(': ')[1]}, "
       "with a transaction that ended before another began ordered first"
       for name, text in _CYCLES.items()},
}
"""One line per anomaly class, for reports and ``--help``."""


@attrs.frozen
class Edge:
    """One dependency between two transactions, with the key and the evidence."""

    src: str
    dst: str
    kind: EdgeKind
    key: str
    why: str
    basis: Basis = "direct"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"from": self.src, "to": self.dst, "kind": self.kind, "key": self.key,
                "basis": self.basis, "why": self.why}

    def arrow(self) -> str:
        """``T1 -rw(x)-> T2``; edges of time and session order have no key."""
        label = f"{self.kind}({self.key})" if self.key else self.kind
        return f"{self.src} -{label}-> {self.dst}"


@attrs.frozen
class Anomaly:
    """One anomaly found: its class, a one-line message, the cycle that shows it."""

    kind: str
    message: str
    transactions: tuple[str, ...]
    cycle: tuple[Edge, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"kind": self.kind, "message": self.message,
                "transactions": list(self.transactions),
                "cycle": [e.to_json() for e in self.cycle]}

    def lines(self) -> list[str]:
        """The anomaly spelled out for a terminal, one edge a line."""
        out = [f"{self.kind}: {self.message}"]
        out.extend(f"  {e.arrow()}: {e.why}" for e in self.cycle)
        return out


def cycle_message(kind: str, cycle: Sequence[Edge]) -> str:
    """One line naming the transactions of a cycle in order."""
    names = " -> ".join([*(e.src for e in cycle), cycle[0].src])
    keys = sorted({e.key for e in cycle if e.key})
    on = f" on {', '.join(keys)}" if keys else ""
    return f"{DESCRIPTIONS[kind].split(':')[0]} {names}{on}"
