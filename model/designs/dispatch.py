"""Dispatch through ``self``: a design's table of method names, bound once per design.

A built-in design keeps, per program counter, the *name* of the method that takes a
step there (and of the one that describes its action), never the function itself, so
that a subclass's override is what runs. The names are looked up once, when the design
is created, which also checks them: a table naming a method the class lacks is an error
the user sees at once, not a failure deep in a search.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def bind_methods(design: object, table: Mapping[str, str], which: str) -> dict[str, Any]:
    """``table`` with each method name replaced by that method, bound to ``design``."""
    bound: dict[str, Any] = {}
    for key, name in table.items():
        method = getattr(design, name, None)
        if not callable(method):
            raise TypeError(f"{type(design).__name__}.{which} maps {key!r} to {name!r}, "
                            "which is not a method of the design")
        bound[key] = method
    return bound
