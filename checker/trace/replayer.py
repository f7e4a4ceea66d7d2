"""Replay: re-execute a trace step by step and say whether its verdict still holds.

Replay is just another scheduler: at every step it regenerates the enabled actions,
takes the recorded one and checks that the new state has the recorded fingerprint. A
missing action or a different fingerprint means the design changed or has hidden
nondeterminism, and replay says where.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import attrs

from shardcheck import model
from shardcheck.checker.design import (
    DesignRef,
    Judge,
    Step,
    Violation,
    call_design,
    changes,
    fingerprint_of,
    load_workload,
    resolve_design,
    stepped,
)
from shardcheck.checker.errors import BadInput, TraceFileError
from shardcheck.checker.trace.files import Trace

ReplayVerdict = Literal["reproduced", "diverged", "passes"]


@attrs.frozen
class ReplayResult:
    """What replay found, the steps it executed, and where it diverged if it did."""

    verdict: ReplayVerdict
    message: str
    steps: tuple[Step, ...]
    violation: Violation | None = None
    diverged_at: int | None = None

    @property
    def failed(self) -> bool:
        """True when the exit code should say so: a violation reproduced, or a divergence."""
        return self.verdict == "diverged" or self.violation is not None


def design_for(trace: Trace, design_file: str | None) -> tuple[model.Design, DesignRef]:
    """The trace's design; a design file runs only when the user names it too."""
    ref = trace.design
    if ref.file is not None:
        if design_file is None:
            raise BadInput(
                f"this trace was recorded with the design in {ref.file}:{ref.name}; replaying "
                f"runs that file's code, so name it yourself: --design-file {ref.file}"
            )
        ref = attrs.evolve(ref, file=design_file)
    elif design_file is not None:
        raise BadInput(f"this trace uses the built-in design {ref.name!r}; drop --design-file")
    return resolve_design(ref)


def _enabled_text(actions: tuple[model.Action, ...]) -> str:
    if not actions:
        return "nothing is enabled"
    return "enabled: " + "; ".join(f"{a.actor} {a.label()}" for a in actions)


def replay(trace: Trace, design_file: str | None = None) -> ReplayResult:
    """Re-execute ``trace`` and compare every step and the verdict with the recording."""
    design, _ = design_for(trace, design_file)
    try:
        workload = load_workload(trace.workload)
    except model.WorkloadError as exc:
        raise TraceFileError(f"the trace's workload is not valid here: {exc}") from None
    config = model.Config(workload, trace.workers)
    judge = Judge(design, config, trace.step_bound, trace.criteria)

    def call(what: str, function: Callable[..., Any], *args: Any) -> Any:
        return call_design(f"design {design.name!r}", what, function, *args)

    state: Any = call("initial()", design.initial, config)
    done: list[Step] = []
    if fingerprint_of(design, "initial", "initial()", state) != trace.initial_fingerprint:
        return ReplayResult("diverged", "the initial state differs from the recorded one: the "
                            "design or the workload generator changed", (), None, 0)
    found = judge.check_state(state, 0, call("is_terminal()", design.is_terminal, state))
    for index, recorded in enumerate(trace.steps, start=1):
        if found is not None:
            # A run ends at its first violation; steps recorded past it were not made by
            # shardcheck and cannot be trusted to mean anything.
            return ReplayResult(
                "diverged", f"step {index}: the trace goes on after the violation of "
                f"{found.property} at step {found.step}, where a run stops", tuple(done),
                found, index)
        enabled = tuple(call("actions()", design.actions, state))
        if recorded.action not in enabled:
            same_actor = [a for a in enabled if a.actor == recorded.action.actor]
            hint = (f"; {recorded.action.actor} would instead do {same_actor[0].label()}"
                    if same_actor else "")
            return ReplayResult(
                "diverged",
                f"step {index}: the recorded action {recorded.action.actor} "
                f"{recorded.action.label()} is not enabled{hint} ({_enabled_text(enabled)})",
                tuple(done), None, index)
        what = stepped(recorded.action, index - 1)
        previous, state = state, call(what, design.step, state, recorded.action)
        fingerprint = fingerprint_of(design, "step", what, state)
        done.append(Step(recorded.action, fingerprint, changes(previous, state)))
        if fingerprint != recorded.fingerprint:
            return ReplayResult(
                "diverged",
                f"step {index}: {recorded.action.actor} {recorded.action.label()} led to a "
                f"different state (fingerprint {fingerprint[:12]}, recorded "
                f"{recorded.fingerprint[:12]}): the design changed, or it has hidden "
                "nondeterminism (set or dict order, a clock, randomness)",
                tuple(done), None, index)
        found = judge.check_state(state, index,
                                  call("is_terminal()", design.is_terminal, state))
    # Every recorded step replayed; a run that stopped with nothing enabled deadlocked.
    if found is None and not call("is_terminal()", design.is_terminal, state) \
            and not tuple(call("actions()", design.actions, state)):
        found = judge.check_deadlock(len(done))
    return _verdict(trace, found, tuple(done))


def _verdict(trace: Trace, found: Violation | None, done: tuple[Step, ...]) -> ReplayResult:
    expected = trace.violation
    if found is not None:
        if expected is not None and (found.property, found.step) == (expected.property,
                                                                      expected.step):
            return ReplayResult("reproduced", f"violation of {found.property} at step "
                                f"{found.step}: {found.message}", done, found)
        recorded = (f"the trace recorded {expected.property} at step {expected.step}"
                    if expected else "the trace recorded no violation")
        return ReplayResult("diverged", f"step {found.step}: {found.property} is violated "
                            f"({found.message}); {recorded}", done, found, found.step)
    if expected is None:
        return ReplayResult("reproduced", f"all {len(done)} steps match and no property is "
                            "violated", done)
    return ReplayResult("passes", f"the recorded violation of {expected.property} at step "
                        f"{expected.step} no longer happens: all {len(done)} steps replay "
                        "without it", done)
