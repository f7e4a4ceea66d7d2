"""Mutants that are their design with one bug flag switched on, the shape every built-in
design's mutants take."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any, Generic, Self, TypeVar, cast

import attrs

from shardcheck.model.api import Design, KnownFailure, Mutant


@attrs.frozen
class FlagMutant:
    """One mutant: its name, the field of the design's flags that switches its bug on,
    its one-line summary, its story, and where it is known to fail."""

    name: str
    flag: str
    summary: str
    doc: str
    known_failure: KnownFailure | None


def flag_mutants(specs: Sequence[FlagMutant], flags: Any,
                 build: Callable[[Any, str], Design]) -> tuple[Mutant, ...]:
    """Each spec's mutant: ``build(flags with the spec's flag on, the spec's name)``."""
    return tuple(Mutant(spec.name, spec.summary, spec.doc,
                        build(attrs.evolve(flags, **{spec.flag: True}), spec.name),
                        spec.known_failure)
                 for spec in specs)


FlagsT = TypeVar("FlagsT")


class FlagDesign(Generic[FlagsT]):
    """A design whose mutants are itself with one bug flag on, as a base class: each
    mutant is ``variant(flags, name)``, a copy of the design, so the mutants of a
    user's subclass run the subclass's code.

    A design sets ``flags_class`` (an attrs class of booleans, all False for the design
    as published) and ``mutant_specs`` (a ``FlagMutant`` per flag).
    """

    flags_class: type[FlagsT]
    """The class of ``flags``; its all-default value is the design as published."""
    mutant_specs: tuple[FlagMutant, ...] = ()
    """The mutants ``mutants()`` builds: each switches one field of ``flags`` on."""

    def __init__(self, flags: FlagsT | None = None, mutant: str | None = None) -> None:
        self.flags: FlagsT = self.flags_class() if flags is None else flags
        self.mutant = mutant

    def mutants(self) -> Sequence[Mutant]:
        """One mutant per entry of ``mutant_specs``, each a ``variant`` of this design
        (none for a mutant itself)."""
        if self.mutant is not None:
            return ()
        return tuple(flag_mutants(self.mutant_specs, self.flags,
                                  cast(Callable[[Any, str], Design], self.variant)))

    def variant(self, flags: FlagsT, mutant: str | None) -> Self:
        """A copy of this design (same class, same attributes) with other flags: how
        ``mutants`` builds each mutant."""
        clone = copy.copy(self)
        clone.flags = flags
        clone.mutant = mutant
        return clone
