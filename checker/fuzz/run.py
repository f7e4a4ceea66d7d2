"""One fuzzed run: a design driven by a schedule to its end, judged at every step.

A run keeps only the actions it took. Fingerprints and per-step changes cost more than
the step itself, so they are computed once, for the run that is written as a trace, by
executing the same actions again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from shardcheck import model
from shardcheck.checker.design import (
    Judge,
    Step,
    Violation,
    call_design,
    changes,
    fingerprint_of,
    load_workload,
    stepped,
)
from shardcheck.checker.fuzz.schedules import Schedule


@attrs.frozen(kw_only=True)
class FuzzConfig:
    """What one run is made of: a workload spec and a worker count."""

    workload: str
    workers: int

    def build(self) -> model.Config:
        """The model's configuration; raises ``model.WorkloadError`` on a bad spec."""
        return model.Config(load_workload(self.workload), self.workers)


@attrs.frozen(kw_only=True)
class Run:
    """One executed schedule: its configuration, the actions taken, the first violation."""

    config: FuzzConfig
    actions: tuple[model.Action, ...]
    violation: Violation | None

    def size(self) -> tuple[int, int, int]:
        """How big a counterexample this is: steps first, then the block, then workers."""
        txs = len(load_workload(self.config.workload).block)
        return (len(self.actions), txs, self.config.workers)


def _caller(design: model.Design) -> Callable[..., Any]:
    def call(what: str, function: Callable[..., Any], *args: Any) -> Any:
        return call_design(f"design {design.name!r}", what, function, *args)
    return call


def execute(design: model.Design, config: FuzzConfig, schedule: Schedule,
            step_bound: int) -> Run:
    """Run ``design`` on ``config``, letting ``schedule`` pick every step, until it ends.

    It ends at the first violation of any property (the design's own, serial
    equivalence, deadlock, or termination past ``step_bound``), or at a terminal state.
    """
    built = config.build()
    judge = Judge(design, built, step_bound)
    call = _caller(design)
    state: Any = call("initial()", design.initial, built)
    terminal = bool(call("is_terminal()", design.is_terminal, state))
    violation = judge.check_state(state, 0, terminal)
    taken: list[model.Action] = []
    while violation is None and not terminal:
        enabled = tuple(call(f"actions() at depth {len(taken)}", design.actions, state))
        if not enabled:
            violation = judge.check_deadlock(len(taken))
            break
        action = enabled[schedule.pick(enabled)]
        state = call(stepped(action, len(taken)), design.step, state, action)
        taken.append(action)
        terminal = bool(call("is_terminal()", design.is_terminal, state))
        violation = judge.check_state(state, len(taken), terminal)
    return Run(config=config, actions=tuple(taken), violation=violation)


def recorded_steps(design: model.Design, run: Run) -> tuple[str, tuple[Step, ...]]:
    """The initial fingerprint and every step with its fingerprint, as a trace holds them."""
    built = run.config.build()
    call = _caller(design)
    state: Any = call("initial()", design.initial, built)
    initial = fingerprint_of(design, "initial", "initial()", state)
    steps: list[Step] = []
    for depth, action in enumerate(run.actions):
        what = stepped(action, depth)
        previous, state = state, call(what, design.step, state, action)
        steps.append(Step(action, fingerprint_of(design, "step", what, state),
                          changes(previous, state)))
    return initial, tuple(steps)
