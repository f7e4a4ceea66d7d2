"""Helpers for packings (``model.Compact``) that keep actors in equal-width bit fields."""

from __future__ import annotations

from collections.abc import Callable, Sequence


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
