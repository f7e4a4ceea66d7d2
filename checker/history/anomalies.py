"""Anomalies: the named ways a history fails to be serializable, with their evidence.

The classes are Adya's (G0, G1a, G1b, G1c, G-single, G2) plus the ones engineers name
directly (lost update, write skew), the structural faults no order can explain (a read
of a value nobody wrote, a transaction that does not see its own write, a final store
nobody produced) and, across modules, a cycle whose edges come from different modules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import attrs

EdgeKind = Literal["ww", "wr", "rw"]

DESCRIPTIONS: dict[str, str] = {
    "G0": "write cycle: transactions overwrite each other's writes in a circle",
    "G1a": "aborted read: a committed transaction read a write of an aborted one",
    "G1b": "intermediate read: a committed transaction read a value its writer later "
           "overwrote",
    "G1c": "circular information flow: a cycle of write-read and write-write dependencies",
    "G-single": "read skew: a dependency cycle with exactly one anti-dependency",
    "G2": "anti-dependency cycle: two or more transactions each miss another's write",
    "write-skew": "write skew: two transactions each read what the other overwrites",
    "lost-update": "lost update: two transactions read the same version and both "
                   "overwrite it",
    "garbage-read": "a read saw a value its claimed writer (or the initial store) never "
                    "held",
    "internal": "a transaction did not see its own earlier write",
    "final-state": "the final store holds a value no committed transaction wrote last",
    "cross-module": "each module is serializable alone, but no single order serves all "
                    "modules",
    "unsatisfiable": "no order satisfies every reads-from constraint at once",
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

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"from": self.src, "to": self.dst, "kind": self.kind, "key": self.key,
                "why": self.why}


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
        out.extend(f"  {e.src} -{e.kind}({e.key})-> {e.dst}: {e.why}" for e in self.cycle)
        return out


def classify_cycle(cycle: Sequence[Edge]) -> str:
    """Adya's class of a dependency cycle, by the kinds of its edges."""
    kinds = [e.kind for e in cycle]
    anti = kinds.count("rw")
    if anti == 0:
        return "G0" if all(k == "ww" for k in kinds) else "G1c"
    if anti == 1:
        return "G-single"
    if len(cycle) == 2 and anti == 2 and cycle[0].key != cycle[1].key:
        return "write-skew"
    return "G2"


def cycle_message(kind: str, cycle: Sequence[Edge]) -> str:
    """One line naming the transactions of a cycle in order."""
    names = " -> ".join([*(e.src for e in cycle), cycle[0].src])
    keys = sorted({e.key for e in cycle})
    return f"{DESCRIPTIONS[kind].split(':')[0]} {names} on {', '.join(keys)}"
