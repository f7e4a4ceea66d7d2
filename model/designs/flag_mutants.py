"""Mutants that are their design with one bug flag switched on, the shape every built-in
design's mutants take."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

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
