"""Properties and the judge that checks them on every state a run reaches.

Three come with the checker and apply to every design: ``serial-equivalence`` (I1:
every terminal outcome equals serial execution of the block in its preset order, the
final store and every committed read), ``deadlock`` (a non-terminal state with no
enabled action) and ``termination`` (no terminal state within the step bound). A
design adds its own through ``properties()``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from shardcheck import model
from shardcheck.checker.design.guard import call_design
from shardcheck.checker.errors import BadInput, DesignBug, Inconclusive

SERIAL_EQUIVALENCE = "serial-equivalence"
DEADLOCK = "deadlock"
TERMINATION = "termination"

BUILTIN_PROPERTIES: tuple[tuple[str, str], ...] = (
    (SERIAL_EQUIVALENCE, "every terminal outcome equals serial execution in block order "
                         "(final store and every committed read)"),
    (DEADLOCK, "no non-terminal state without an enabled action"),
    (TERMINATION, "a terminal state within the step bound on every schedule"),
)


@attrs.frozen
class Violation:
    """A property that failed: which, why, and after how many actions."""

    property: str
    message: str
    step: int

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"property": self.property, "message": self.message, "step": self.step}


def _writer(writer: int | None) -> str:
    return "the initial store" if writer is None else f"T{writer}"


def _describe_read(r: model.ReadRecord) -> str:
    verb = {"read": "read", "exists": "saw exists", "scan": "scanned"}[r.kind]
    return f"{verb} {r.key} = {r.value} from {_writer(r.writer)}"


def compare_outcomes(actual: model.Outcome, expected: model.Outcome) -> str | None:
    """The first way ``actual`` differs from the serial ``expected``, in words, or None."""
    for tx_actual, tx_expected in zip(actual.transactions, expected.transactions, strict=False):
        t = f"T{tx_expected.index}"
        if tx_actual.status != tx_expected.status:
            return f"{t} {tx_actual.status}, but serially it {tx_expected.status}"
        for i, (ra, re) in enumerate(zip(tx_actual.reads, tx_expected.reads, strict=False)):
            if ra != re:
                return (f"{t}'s read #{i + 1} {_describe_read(ra)}; serially it "
                        f"{_describe_read(re)}")
        if len(tx_actual.reads) < len(tx_expected.reads):
            missing = tx_expected.reads[len(tx_actual.reads)]
            if not tx_actual.reads and not tx_actual.writes:
                return (f"{t} has no completed execution (no reads, no writes); serially it "
                        f"{_describe_read(missing)}")
            return f"{t} stopped short: serially it also {_describe_read(missing)}"
        if len(tx_actual.reads) > len(tx_expected.reads):
            extra = tx_actual.reads[len(tx_expected.reads)]
            return f"{t} also {_describe_read(extra)}, a read it does not make serially"
        if tx_actual.writes != tx_expected.writes:
            return (f"{t} wrote {dict(tx_actual.writes)}; serially it writes "
                    f"{dict(tx_expected.writes)}")
    if len(actual.transactions) != len(expected.transactions):
        return (f"{len(actual.transactions)} transactions finished; the block has "
                f"{len(expected.transactions)}")
    if actual.store != expected.store:
        got, want = actual.store.as_dict(), expected.store.as_dict()
        for key in sorted(set(got) | set(want)):
            if got.get(key) != want.get(key):
                return (f"final store has {key} = {got.get(key, 'absent')}; serial execution "
                        f"gives {want.get(key, 'absent')}")
    if actual.order != expected.order:
        return f"committed order {list(actual.order)}; the block order is {list(expected.order)}"
    return None


UNSKIPPABLE = (DEADLOCK, TERMINATION)
"""Checks that say a run is well formed; they cannot be left out (raise --step-bound, or
fix ``is_terminal``, instead)."""


def _names(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(names)


def _names_or_none(names: Iterable[str] | None) -> tuple[str, ...] | None:
    return None if names is None else tuple(names)


@attrs.frozen
class Selection:
    """Which properties a run checks: ``only`` these (None: all), minus ``skip``.

    Chosen per run (``--property``, ``--skip``) so that a variant that changes the
    protocol on purpose can leave out an inherited invariant it no longer promises, or
    look at one property alone. Names are validated against what the design offers.
    """

    only: tuple[str, ...] | None = attrs.field(default=None, converter=_names_or_none)
    skip: tuple[str, ...] = attrs.field(default=(), converter=_names)

    def chosen(self) -> bool:
        """Whether the run checks less than everything."""
        return self.only is not None or bool(self.skip)

    def describe(self) -> str:
        """A phrase for report headers."""
        parts = []
        if self.only is not None:
            parts.append("only " + ", ".join(self.only))
        if self.skip:
            parts.append("skipping " + ", ".join(self.skip))
        return "; ".join(parts)

    def apply(self, available: Sequence[str]) -> frozenset[str]:
        """The names of ``available`` this selection keeps; unknown names are bad input."""
        for option, names in (("--property", self.only or ()), ("--skip", self.skip)):
            for name in names:
                if name not in available:
                    close = difflib.get_close_matches(name, list(available), n=1)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    raise BadInput(f"{option} {name!r}: the design has no such property{hint} "
                                   f"(its properties: {', '.join(available)})")
                if option == "--skip" and name in UNSKIPPABLE:
                    raise BadInput(f"--skip {name!r}: {', '.join(UNSKIPPABLE)} say the run is "
                                   "well formed and cannot be skipped (raise --step-bound, or "
                                   "fix is_terminal, instead)")
        keep = set(available if self.only is None else (*self.only, *UNSKIPPABLE))
        return frozenset(keep - set(self.skip))


ALL = Selection()


def resolve_criteria(design: model.Design, chosen: Sequence[str] | None) -> tuple[str, ...]:
    """The criteria a run judges terminal states by: the user's choice, else the design's."""
    if chosen:
        criteria, who = tuple(chosen), "--criterion"
    else:
        criteria, who = model.design_criteria(design), f"design {design.name!r}'s criteria"
    for name in criteria:
        if name not in model.CRITERIA:
            raise BadInput(f"{who}: unknown criterion {name!r}; choose from "
                           f"{', '.join(model.CRITERIA)}")
    return tuple(dict.fromkeys(criteria))


class Judge:
    """Checks the properties of one design on one configuration, state by state."""

    def __init__(self, design: model.Design, config: model.Config, step_bound: int,
                 criteria: Sequence[str] | None = None, selection: Selection = ALL) -> None:
        self.design = design
        self.step_bound = step_bound
        self.workload = config.workload
        criteria = resolve_criteria(design, criteria)
        self._history_verdicts: dict[model.Outcome, Violation | None] = {}
        self.reference = model.execute_serially(config.workload)
        own = tuple(call_design(f"design {design.name!r}", "properties()", design.properties))
        keep = selection.apply((*criteria, DEADLOCK, TERMINATION, *(p.name for p in own)))
        # A design whose properties say everything declares no criteria; leaving every
        # criterion out of a run means the same.
        self.criteria = tuple(c for c in criteria if c in keep)
        self.state_properties: Sequence[model.Property] = tuple(
            p for p in own if p.kind == "state" and p.name in keep)
        self.terminal_properties: Sequence[model.Property] = tuple(
            p for p in own if p.kind == "terminal" and p.name in keep)

    def names(self) -> tuple[str, ...]:
        """Every property this judge checks."""
        own = tuple(p.name for p in (*self.state_properties, *self.terminal_properties))
        return (*self.criteria, DEADLOCK, TERMINATION, *own)

    def check_state(self, state: Any, depth: int, terminal: bool) -> Violation | None:
        """Check a newly reached state (and, when terminal, its outcome)."""
        for prop in self.state_properties:
            message = _run(prop, state)
            if message is not None:
                return Violation(prop.name, message, depth)
        if terminal:
            # Serial equivalence first: it is the promise users care about, and its
            # message names the read that went wrong.
            outcome = call_design(f"design {self.design.name!r}", "outcome()",
                                  self.design.outcome, state)
            found = self._judge_outcome(outcome, depth)
            if found is not None:
                return found
            for prop in self.terminal_properties:
                message = _run(prop, state)
                if message is not None:
                    return Violation(prop.name, message, depth)
        elif depth > self.step_bound:
            return Violation(TERMINATION, f"no terminal state after {self.step_bound} steps: "
                             "the run may not terminate (a livelock)", depth)
        return None

    def _judge_outcome(self, outcome: model.Outcome, depth: int) -> Violation | None:
        for criterion in self.criteria:
            if criterion == SERIAL_EQUIVALENCE:
                difference = compare_outcomes(outcome, self.reference)
                if difference is not None:
                    return Violation(SERIAL_EQUIVALENCE, difference, depth)
        if all(c == SERIAL_EQUIVALENCE for c in self.criteria):
            # Also the case for a design that declares ``criteria = ()``: one whose
            # properties() say everything (a consensus protocol, say).
            return None
        # Many terminal states share an outcome; its history is judged once.
        if outcome not in self._history_verdicts:
            self._history_verdicts[outcome] = self._judge_history(outcome)
        found = self._history_verdicts[outcome]
        return None if found is None else attrs.evolve(found, step=depth)

    def _judge_history(self, outcome: model.Outcome) -> Violation | None:
        # Imported on first use: runs judged by serial equivalence alone never need the
        # graph and solver machinery.
        from shardcheck.checker.history import check_history, from_outcome

        wanted = [c for c in self.criteria if c != SERIAL_EQUIVALENCE]
        try:
            report = check_history(from_outcome(outcome, self.workload), wanted)
        except BadInput as error:
            # The history came from the design's outcome, so a broken one is its bug.
            raise DesignBug(f"design {self.design.name!r}: outcome() describes an impossible "
                            f"history: {error}") from None
        for verdict in report.verdicts:
            if verdict.status == "violated":
                detail = verdict.anomalies[0].lines() if verdict.anomalies else []
                message = "; ".join([verdict.summary, *(line.strip() for line in detail[1:])])
                return Violation(verdict.criterion, message, 0)
            if verdict.status == "inconclusive":
                raise Inconclusive(f"{verdict.criterion} could not be decided for a terminal "
                                   f"outcome: {verdict.summary}")
        return None

    def check_deadlock(self, depth: int) -> Violation:
        """The violation for a non-terminal state with no enabled action."""
        return Violation(DEADLOCK, "no action is enabled but the run has not finished", depth)


def _run(prop: model.Property, state: Any) -> str | None:
    result: str | None = call_design(f"property {prop.name!r}", "its check", prop.check,
                                        state)
    return result
