"""The reduction audit: each reduction against the search without any, on one configuration.

A reduction earns its default by never changing an answer. The audit runs the search
with every reduction off and its visited set keyed by fingerprints of the canonical
encoding (the reference), then once per reduction the design can use,
with that reduction alone, and compares what must not change:

- the verdict, and for a violation the property violated;
- the set of distinct terminal outcomes (their fingerprints), on a complete search;
- for sleep sets and the compact path, the number of distinct states too: neither may
  drop a state (sleep sets prune transitions only; the compact path is the same search
  over packed states). For a design with no packing but a declared structure
  (``model.Structure``) the compact row is the declared path, with every memoized step
  run again on every reuse and compared. Symmetry visits one state per renaming, and
  persistent sets (on the compact path, ``model.Persistent``) skip states by design, so
  both are held to the outcomes and the verdict only.

``shardcheck explore DESIGN --audit`` prints the comparison; the test suite runs it on
every built-in design.
"""

from __future__ import annotations

import attrs

from shardcheck import model
from shardcheck.checker.search.explorer import SearchResult, SearchSettings, explore

REDUCTIONS: tuple[str, ...] = ("por", "symmetry", "compact", "persistent")
"""What the audit can switch on one at a time: sleep sets, symmetry, the compact path,
and persistent sets (which need the compact path, so that row has it on too)."""


@attrs.frozen
class AuditRow:
    """One reduction's search next to the reference search."""

    reduction: str
    result: SearchResult
    problems: tuple[str, ...]

    @property
    def agrees(self) -> bool:
        """True when nothing that must not change did."""
        return not self.problems


@attrs.frozen
class AuditReport:
    """The reference search and every applicable reduction's search."""

    reference: SearchResult
    rows: tuple[AuditRow, ...]

    @property
    def agrees(self) -> bool:
        """True when every reduction agrees with the reference."""
        return all(row.agrees for row in self.rows)


def applicable(design: model.Design, config: model.Config | None = None) -> tuple[str, ...]:
    """The reductions that change anything for ``design``; persistent sets only when a
    ``config`` is given and the design's packing for it offers them."""
    found = ["por"]
    if isinstance(design, model.Symmetric):
        found.append("symmetry")
    if isinstance(design, model.Compactable | model.Structured):
        found.append("compact")
        if config is not None and isinstance(design, model.Compactable) and isinstance(
                design.compact(design.initial(config)), model.Persistent):
            found.append("persistent")
    return tuple(found)


def _alone(settings: SearchSettings, reduction: str | None) -> SearchSettings:
    # The reference keys its visited set by fingerprints of the canonical encoding, the
    # definition of "the same state"; every other search keys it by the states themselves.
    return attrs.evolve(settings, por=reduction == "por", symmetry=reduction == "symmetry",
                        compact=reduction in ("compact", "persistent"),
                        persistent=reduction == "persistent",
                        fingerprint_keys=reduction is None,
                        verify_structure=reduction == "compact")


def _problems(reduction: str, reference: SearchResult, reduced: SearchResult) -> list[str]:
    problems: list[str] = []
    if reduced.verdict != reference.verdict:
        problems.append(f"verdict {reduced.verdict}, without reductions {reference.verdict}")
        return problems
    if reference.verdict == "violation":
        got = reduced.violation.property if reduced.violation else None
        want = reference.violation.property if reference.violation else None
        if got != want:
            problems.append(f"violates {got}, without reductions {want}")
        return problems
    if reference.verdict != "pass":
        return problems
    if reduced.outcomes != reference.outcomes:
        lost = len(reference.outcomes - reduced.outcomes)
        extra = len(reduced.outcomes - reference.outcomes)
        problems.append(f"terminal outcomes differ: {lost} lost, {extra} not found without "
                        "reductions")
    if reduction in ("por", "compact") and reduced.stats.states != reference.stats.states:
        problems.append(f"{reduced.stats.states:,} states, without reductions "
                        f"{reference.stats.states:,}")
    return problems


def audit(design: model.Design, config: model.Config,
          settings: SearchSettings | None = None,
          reductions: tuple[str, ...] | None = None) -> AuditReport:
    """Run ``design`` on ``config`` without reductions, then with each alone, and compare.

    ``settings`` gives the bounds and the strategy; its reduction switches are ignored.
    ``reductions`` defaults to every one the design can use.
    """
    settings = SearchSettings() if settings is None else settings
    chosen = applicable(design, config) if reductions is None else reductions
    for name in chosen:
        if name not in REDUCTIONS:
            raise ValueError(f"unknown reduction {name!r}; choose from {', '.join(REDUCTIONS)}")
    reference = explore(design, config, _alone(settings, None))
    rows = []
    for name in chosen:
        reduced = explore(design, config, _alone(settings, name))
        rows.append(AuditRow(name, reduced, tuple(_problems(name, reference, reduced))))
    return AuditReport(reference, tuple(rows))
