"""Canonical encoding of model values and their stable fingerprints.

Fingerprints go into trace files and are compared across processes and machines, so
they must never depend on Python's salted ``hash()`` or on set iteration order. A
value is first lowered to nested tuples of ints, strings, booleans and None (attrs
classes become their class name followed by their fields in declaration order;
frozensets become tuples sorted by their own encoding), then the ``repr`` of that
plain tuple, which is stable across CPython versions for these types, is hashed with
BLAKE2b.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import attrs

T = TypeVar("T")

Plain = int | str | bool | None | tuple["Plain", ...]

FINGERPRINT_BYTES = 16

_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = tuple(f.name for f in attrs.fields(cls))
        _FIELD_NAMES[cls] = names
    return names


def _plain_attrs(value: Any) -> Plain:
    cls = type(value)
    return (cls.__name__, *(plain(getattr(value, n)) for n in _field_names(cls)))


def _plain_tuple(value: Any) -> Plain:
    return tuple(plain(v) for v in value)


def _plain_set(value: Any) -> Plain:
    return ("set", *sorted((plain(v) for v in value), key=repr))


def _plain_atom(value: Any) -> Plain:
    return value  # type: ignore[no-any-return]


def _plain_enum(value: Any) -> Plain:
    return (type(value).__name__, value.name)


def _plain_constant(value: Any) -> Plain:
    return ("constant", value.digest)


_DISPATCH: dict[type, Callable[[Any], Plain]] = {
    int: _plain_atom,
    str: _plain_atom,
    bool: _plain_atom,
    type(None): _plain_atom,
    tuple: _plain_tuple,
    frozenset: _plain_set,
}


def plain(value: object) -> Plain:
    """Lower a model value to nested tuples of atoms, canonically ordered."""
    cls = type(value)
    handler = _DISPATCH.get(cls)
    if handler is None:
        if attrs.has(cls):
            handler = _plain_attrs
        elif isinstance(value, tuple):  # NamedTuple: its position in the state names it
            handler = _plain_tuple
        elif isinstance(value, enum.Enum):
            handler = _plain_enum
        else:
            raise TypeError(
                f"cannot encode a {cls.__name__} in a model state: use ints, strings, "
                "booleans, None, tuples, frozensets, enums or attrs classes"
            )
        _DISPATCH[cls] = handler
    return handler(value)


def canonical_bytes(value: object) -> bytes:
    """The canonical byte encoding of a model value."""
    return repr(plain(value)).encode()


def fingerprint(value: object) -> str:
    """A stable 128-bit fingerprint of a model value, as 32 hex digits."""
    return hashlib.blake2b(canonical_bytes(value), digest_size=FINGERPRINT_BYTES).hexdigest()


@attrs.frozen(eq=False)
class Constant(Generic[T]):
    """Configuration data that every state of a run carries unchanged (the block, say).

    It encodes as the digest of its value, computed once, so carrying it costs nothing
    per state; two constants are equal exactly when their digests are.
    """

    value: T
    digest: str = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "digest", fingerprint(self.value))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Constant) and other.digest == self.digest

    def __hash__(self) -> int:
        return int(self.digest[:16], 16)


_DISPATCH[Constant] = _plain_constant
