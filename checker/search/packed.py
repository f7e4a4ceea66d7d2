"""Whether a search may take a design's packed path, and what it must still check there.

A packing (``model.Compact``) is written for one class. ``model.packing_fits`` says
whether the design being searched is that class, or a subclass that declares the
packing still describes it; otherwise the ordinary path runs and the report says why.
When a packing is taken for a subclass that adds or overrides state properties, the
packing's promise ("a state I do not flag satisfies every state property") does not
cover them, so ``Watched`` checks those properties on every packed state and flags the
states where one fails: the packed path never checks less than the ordinary path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from shardcheck import model
from shardcheck.checker.design import call_design


class Watched:
    """A packing whose states are also checked against properties it does not know.

    Every state is unpacked and the ``extra`` properties run on it; a state where one
    fails is flagged (``successors`` returns None) so that the explorer judges it the
    ordinary way and reports the violation with its path. Persistent sets are not
    offered: the packing's choice of an invisible action says nothing about what the
    extra properties read.
    """

    def __init__(self, inner: model.Compact, extra: Sequence[model.Property]) -> None:
        self.inner = inner
        self.extra = tuple(extra)
        self.pack = inner.pack
        self.unpack = inner.unpack
        self.canonical = inner.canonical

    def successors(self, code: int) -> Sequence[int] | None:
        """The inner packing's successors, unless an extra property fails here."""
        state = self.unpack(code)
        for prop in self.extra:
            if call_design(f"property {prop.name!r}", "its check", prop.check, state):
                return None
        return self.inner.successors(code)


class WatchedGraded(Watched):
    """A ``Watched`` packing over a graded one: the grade is the inner packing's."""

    def grade(self, code: int) -> int:
        """The inner packing's grade."""
        grade: Callable[[int], int] = self.inner.grade  # type: ignore[attr-defined]
        return grade(code)


def unwatched(design: model.Design,
              state_properties: Sequence[model.Property]) -> list[model.Property]:
    """The checked state properties that the design's packing does not know."""
    known = model.packing_properties(design)
    return [p for p in state_properties if p.name not in known]


def take_packing(design: model.Design, initial: Any,
                 state_properties: Sequence[model.Property]) -> model.Compact | None:
    """The packing a search of ``design`` uses, watched where it must be; None when the
    design has no packing or its packing does not fit it (``model.packing_fits``)."""
    if model.packing_fits(design) is not None:
        return None
    assert isinstance(design, model.Compactable)
    packing: model.Compact = call_design(f"design {design.name!r}", "compact()",
                                         design.compact, initial)
    extra = unwatched(design, state_properties)
    if not extra:
        return packing
    return (WatchedGraded if isinstance(packing, model.Graded) else Watched)(packing, extra)


_DECLARED = ("declared path: each actor's step memoized on the shared fields and its own "
             "value (model.Structure)")


def path_notes(design: model.Design, state_properties: Sequence[model.Property],
               compact: bool) -> tuple[str, ...]:
    """What a report header says about the packed path for this design, if anything."""
    if not compact:
        return ()
    declared = isinstance(design, model.Structured)
    if not isinstance(design, model.Compactable):
        return (_DECLARED,) if declared else ()
    reason = model.packing_fits(design)
    if reason is not None:
        return (f"{_DECLARED}, since {reason}" if declared else f"ordinary path: {reason}",)
    extra = unwatched(design, state_properties)
    if extra:
        names = ", ".join(p.name for p in extra)
        return (f"packed path, and on every packed state also {names} (the packing does "
                "not know them); no persistent sets",)
    return ()
