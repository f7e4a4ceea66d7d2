"""What an action changed: a short, generic description of the difference of two states.

Timelines show it beside each action, so a reader sees what a load returned or which
index was lowered without knowing the design. It walks attrs classes and tuples a few
levels deep and prints the leaves that differ; sequences that grow or shrink (memory
entries, dependency sets) are shown as what was added and removed. A field named ``pc``
is taken for a program counter and left out: the next action already names it.
"""

from __future__ import annotations

from typing import Any

import attrs

MAX_DEPTH = 4
MAX_TEXT = 60


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _walk(path: str, before: Any, after: Any, depth: int, out: list[str]) -> None:
    if before is after or before == after:
        return
    cls = type(before)
    if depth < MAX_DEPTH and cls is type(after) and attrs.has(cls):
        for field in attrs.fields(cls):
            if field.name == "pc":
                continue
            _walk(f"{path}.{field.name}" if path else field.name,
                  getattr(before, field.name), getattr(after, field.name), depth + 1, out)
        return
    if depth < MAX_DEPTH and isinstance(before, tuple) and isinstance(after, tuple):
        if len(before) == len(after) and not _fields(before) and not _shifted(before, after):
            for i, (b, a) in enumerate(zip(before, after, strict=True)):
                _walk(f"{path}[{i}]", b, a, depth + 1, out)
            return
        if len(before) != len(after) or not _fields(before):
            added = [x for x in after if x not in before]
            removed = [x for x in before if x not in after]
            prefix = f"{path} " if path else ""
            out.extend(f"{prefix}+{_short(x)}" for x in added)
            out.extend(f"{prefix}-{_short(x)}" for x in removed)
            return
    out.append(f"{path}: {_short(before)} → {_short(after)}")


def _shifted(before: tuple[Any, ...], after: tuple[Any, ...]) -> bool:
    """True when a sorted collection lost one element and gained another (a message
    delivered and a reply sent): position by position, everything after the change
    would look different, so it reads better as what was added and removed."""
    differing = sum(1 for b, a in zip(before, after, strict=True) if b != a)
    return differing > 1 and any(x not in before for x in after)


def _fields(value: tuple[Any, ...]) -> tuple[str, ...]:
    fields: tuple[str, ...] = getattr(type(value), "_fields", ())  # a NamedTuple's names
    return fields


def changes(before: Any, after: Any) -> tuple[str, ...]:
    """The leaves that differ between two states, as ``path: old → new`` lines."""
    out: list[str] = []
    _walk("", before, after, 0, out)
    return tuple(out)
