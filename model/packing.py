"""Helpers for packings (``model.Compact``): sorting actors kept in equal-width bit
fields, and telling whether a subclass changed the code a packing mirrors."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence


def field_sorter(shifts: Sequence[int], mask: int, keep: int) -> Callable[[int], int]:
    """A function that sorts the ``mask``-wide fields at ``shifts`` of a packed int.

    The bits in ``keep`` (everything that is not an actor's field) pass through
    unchanged. Sorting interchangeable actors' fields is a symmetry reduction's canonical
    form. Three fields, the common case, go through a sorting network instead of a list.
    """
    fields = tuple(shifts)
    if len(fields) == 3:
        s0, s1, s2 = fields

        def sort3(code: int) -> int:
            a, b, c = (code >> s0) & mask, (code >> s1) & mask, (code >> s2) & mask
            if a > b:
                a, b = b, a
            if b > c:
                b, c = c, b
                if a > b:
                    a, b = b, a
            return (code & keep) | a << s0 | b << s1 | c << s2

        return sort3

    def sort(code: int) -> int:
        values = sorted([(code >> s) & mask for s in fields])
        out = code & keep
        for shift, value in zip(fields, values, strict=True):
            out |= value << shift
        return out

    return sort


def overridden(design: object, base: type, names: Iterable[str]) -> tuple[str, ...]:
    """Which of the methods or class attributes ``names`` ``design``'s class replaces.

    A packing that mirrors a design's code instead of calling it (its successors worked
    out on ints, say) describes a subclass only while the subclass keeps that code;
    this says what it changed, so that the packing can refuse to run in its place.
    """
    cls = type(design)
    return tuple(name for name in names
                 if inspect.getattr_static(cls, name) is not inspect.getattr_static(base, name))
