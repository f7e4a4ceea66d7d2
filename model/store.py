"""The partitioned key-value store: integer values, keys owned by modules."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

import attrs

from shardcheck.model.encoding import canonical_bytes

DEFAULT_MODULE = "m0"


def _sorted_pairs(
    items: Iterable[tuple[str, int]] | Mapping[str, int],
) -> tuple[tuple[str, int], ...]:
    pairs = items.items() if isinstance(items, Mapping) else items
    return tuple(sorted(pairs))


def _sorted_owners(
    items: Iterable[tuple[str, str]] | Mapping[str, str],
) -> tuple[tuple[str, str], ...]:
    pairs = items.items() if isinstance(items, Mapping) else items
    return tuple(sorted(pairs))


@attrs.frozen
class Store:
    """An immutable store: present keys with integer values, each key owned by a module.

    A key that is absent reads as 0 and does not exist (the ``exists`` read kind tells
    the two apart). Keys not listed in ``owners`` belong to ``DEFAULT_MODULE``.
    """

    values: tuple[tuple[str, int], ...] = attrs.field(converter=_sorted_pairs, default=())
    owners: tuple[tuple[str, str], ...] = attrs.field(converter=_sorted_owners, default=())

    def get(self, key: str) -> int | None:
        """The value of ``key``, or None when the key is absent."""
        for k, v in self.values:
            if k == key:
                return v
        return None

    def as_dict(self) -> dict[str, int]:
        """The present keys and their values."""
        return dict(self.values)

    def with_writes(self, writes: Iterable[tuple[str, int]]) -> Store:
        """A store with ``writes`` applied (later writes to a key win)."""
        merged = dict(self.values)
        merged.update(writes)
        return attrs.evolve(self, values=merged)

    def keys_with_prefix(self, prefix: str) -> tuple[str, ...]:
        """Present keys starting with ``prefix``, sorted."""
        return tuple(k for k, _ in self.values if k.startswith(prefix))

    def module_of(self, key: str) -> str:
        """The module that owns ``key``."""
        for k, m in self.owners:
            if k == key:
                return m
        return DEFAULT_MODULE

    def modules(self) -> tuple[str, ...]:
        """Every module that owns a key, plus the default module, sorted."""
        return tuple(sorted({m for _, m in self.owners} | {DEFAULT_MODULE}))

    def state_roots(self) -> tuple[tuple[str, str], ...]:
        """Per-module state roots: a BLAKE2b digest of each module's sorted key/values."""
        by_module: dict[str, list[tuple[str, int]]] = {m: [] for m in self.modules()}
        for key, value in self.values:
            by_module[self.module_of(key)].append((key, value))
        return tuple(
            (module, hashlib.blake2b(canonical_bytes(tuple(pairs)), digest_size=16).hexdigest())
            for module, pairs in sorted(by_module.items())
        )
