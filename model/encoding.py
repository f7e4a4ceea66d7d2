"""Canonical encoding of model values and their stable fingerprints.

Fingerprints go into trace files and are compared across processes and machines, so
they must never depend on Python's salted built-in hashing, on set iteration order or on
object addresses. A value is encoded as text: atoms by their ``repr`` (stable across
CPython versions for ints, strings, booleans and None), tuples and attrs instances by
their parts in order (attrs classes prefixed by their class name), frozensets by their
elements' encodings sorted, enums by class and member name, and ``Constant`` by its
digest. The text is hashed with BLAKE2b.

States share most of their parts with their parents (``attrs.evolve`` reuses every
unchanged field), so the encoding of each composite part is memoized by object
identity; the memo keeps the object alive, so an identity is never reused while its
entry exists, and it is dropped wholesale when it grows large. The memo changes how
fast the text is produced, never what it is.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import attrs

T = TypeVar("T")

FINGERPRINT_BYTES = 16
_MEMO_LIMIT = 1 << 16

_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
_MEMO: dict[int, tuple[object, str]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = tuple(f.name for f in attrs.fields(cls))
        _FIELD_NAMES[cls] = names
    return names


def _encode_attrs(value: Any) -> str:
    cls = type(value)
    parts = [cls.__name__, "("]
    for name in _FIELD_NAMES.get(cls) or _field_names(cls):
        v = getattr(value, name)
        if type(v) in _ATOMS:
            parts.append(repr(v))
        else:  # the memo lookup of encode(), inlined: most fields are unchanged parts
            hit = _MEMO.get(id(v))
            parts.append(hit[1] if hit is not None and hit[0] is v else encode(v))
        parts.append(",")
    parts.append(")")
    return "".join(parts)


def _encode_tuple(value: Any) -> str:
    return "(" + ",".join([repr(v) if type(v) in _ATOMS else encode(v) for v in value]) + ",)"


def _encode_set(value: Any) -> str:
    return "{" + ",".join(sorted(encode(v) for v in value)) + "}"


def _encode_enum(value: Any) -> str:
    return f"{type(value).__name__}.{value.name}"


def _encode_constant(value: Any) -> str:
    return "#" + str(value.digest)


_ATOMS = frozenset({int, str, bool, type(None)})
_DISPATCH: dict[type, Callable[[Any], str]] = {tuple: _encode_tuple, frozenset: _encode_set}


def _handler(cls: type, value: object) -> Callable[[Any], str]:
    if attrs.has(cls):
        handler = _encode_attrs
    elif isinstance(value, tuple):  # NamedTuple: its position in the state names it
        handler = _encode_tuple
    elif isinstance(value, enum.Enum):
        handler = _encode_enum
    else:
        raise TypeError(
            f"cannot encode a {cls.__name__} in a model state: use ints, strings, "
            "booleans, None, tuples, frozensets, enums or attrs classes"
        )
    _DISPATCH[cls] = handler
    return handler


def encode(value: object) -> str:
    """The canonical text of a model value."""
    cls = type(value)
    if cls in _ATOMS:
        return repr(value)
    key = id(value)
    hit = _MEMO.get(key)
    if hit is not None and hit[0] is value:
        return hit[1]
    handler = _DISPATCH.get(cls) or _handler(cls, value)
    text = handler(value)
    if len(_MEMO) >= _MEMO_LIMIT:
        _MEMO.clear()
    _MEMO[key] = (value, text)
    return text


def canonical_bytes(value: object) -> bytes:
    """The canonical byte encoding of a model value."""
    cls = type(value)
    if cls in _ATOMS:
        return repr(value).encode()
    # The whole value is not memoized: a state is encoded once, and keeping it (and its
    # text) alive would only cost memory. Its parts are memoized by encode().
    handler = _DISPATCH.get(cls) or _handler(cls, value)
    return handler(value).encode()


def unencodable(value: object, path: str = "state") -> tuple[str, object] | None:
    """The first part of ``value`` that has no canonical encoding, with where it sits
    (``state.workers[0].reads``); None when every part has one.

    It walks the whole value, so it is asked only after an encoding failed: it turns the
    encoder's refusal into a place the design's author can find. Parts are visited in
    field order; a frozenset's elements in the order of what is found in them, so the
    answer never depends on set iteration order.
    """
    cls = type(value)
    if cls in _ATOMS or cls is Constant or isinstance(value, enum.Enum):
        return None
    if attrs.has(cls):
        for name in _field_names(cls):
            found = unencodable(getattr(value, name), f"{path}.{name}")
            if found is not None:
                return found
        return None
    if isinstance(value, tuple):
        names = getattr(value, "_fields", None)  # a NamedTuple: its parts have names
        for index, part in enumerate(value):
            where = f"{path}.{names[index]}" if names else f"{path}[{index}]"
            found = unencodable(part, where)
            if found is not None:
                return found
        return None
    if type(value) is frozenset:
        inside = [f for f in (unencodable(v, f"{path}{{...}}") for v in value) if f is not None]
        return min(inside, key=lambda f: (f[0], type(f[1]).__name__, repr(f[1])), default=None)
    return path, value


def digest(value: object) -> bytes:
    """A stable 128-bit fingerprint of a model value, as 16 bytes."""
    return hashlib.blake2b(canonical_bytes(value), digest_size=FINGERPRINT_BYTES).digest()


def fingerprint(value: object) -> str:
    """A stable 128-bit fingerprint of a model value, as 32 hex digits."""
    return digest(value).hex()


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


_DISPATCH[Constant] = _encode_constant
