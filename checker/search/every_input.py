"""Schedules checked for every input: one run per class of initial stores.

Exploration and fuzzing run on the values a workload spec gives, and a bug that needs a
short balance hides behind a generous one. z3 (``checker.prove``'s ``input_classes``) splits
the initial stores into classes on which every execution any schedule can make takes
the same branches (each require and conditional write, over every choice of where each
read comes from), and picks the store of each class closest to the workload's own.
A scheduler whose control flow depends on values only through those branches, as every
built-in one does, then behaves on every store of a class as on its representative:
it takes the same actions, every read comes from the same writer, and each value is the
same function of the initial store. So checking one store per class checks them all.

Two checks use the classes: ``explore_every_input`` explores every schedule under each
representative, and ``prove_trace`` runs one recorded schedule (its order of actors)
under each. Presence of keys is kept as the workload has it; values are any integers
(narrowed by ``--assume``); constants in programs (amounts) stay as the workload has
them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

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
from shardcheck.checker.errors import BadInput, Inconclusive
from shardcheck.checker.prove import StateFormula, check_atoms, parse_formula
from shardcheck.checker.search.explorer import SearchResult, SearchSettings, explore
from shardcheck.checker.trace import Trace

DEFAULT_MAX_CLASSES = 64
DEFAULT_MAX_EXECUTIONS = 20_000
DEFAULT_TIMEOUT = 10.0


@attrs.frozen
class InputClasses:
    """The classes of initial stores of a workload: a workload per class, and the cost."""

    base: model.Workload
    workloads: tuple[model.Workload, ...]
    atoms: int
    executions: int
    seconds: float

    def describe(self) -> str:
        """One line for report headers."""
        return (f"{len(self.workloads)} class(es) of initial stores from {self.atoms} branch "
                f"condition(s) over {self.executions:,} possible executions "
                f"(z3: {self.seconds:.2f}s)")


def parse_assumption(workload: model.Workload, text: str | None) -> StateFormula | None:
    """``--assume``: a formula over the workload's keys that every initial store satisfies."""
    if text is None:
        return None
    formula = parse_formula(text)
    check_atoms(formula, _universe(workload), workload.spec)
    return formula


def _universe(workload: model.Workload) -> tuple[str, ...]:
    return model.block_keys(workload.block, tuple(workload.initial.as_dict()))


def input_classes(workload: model.Workload, assume: StateFormula | None = None,
                  max_classes: int = DEFAULT_MAX_CLASSES,
                  timeout_s: float = DEFAULT_TIMEOUT) -> InputClasses:
    """The classes of ``workload``'s initial stores; raises ``Inconclusive`` when z3 cannot
    tell them all (too many, or out of time)."""
    from shardcheck.checker.prove import input_classes as solve_classes

    if max_classes < 1:
        raise BadInput(f"--max-classes must be positive, got {max_classes}")
    started = time.monotonic()
    answer = solve_classes([tx.program for tx in workload.block], _universe(workload),
                           workload.initial.as_dict(), assume, max_classes,
                           DEFAULT_MAX_EXECUTIONS, timeout_s)
    seconds = time.monotonic() - started
    if answer.status != "complete":
        if answer.status == "unknown":
            hint = " (raise --time-limit, or narrow the stores with --assume)"
        elif answer.classes or "classes" in answer.reason:
            hint = " (raise --max-classes, or narrow the stores with --assume)"
        else:
            hint = " (use a smaller block)"
        raise Inconclusive(f"the classes of initial stores could not all be found: "
                           f"{answer.reason}{hint}")
    if not answer.classes:
        raise BadInput(f"no initial store of {workload.spec} satisfies the --assume formula")
    workloads = tuple(class_workload(workload, dict(c.values)) for c in answer.classes)
    return InputClasses(workload, workloads, answer.atoms, answer.executions, seconds)


def class_workload(workload: model.Workload, values: dict[str, int]) -> model.Workload:
    """``workload`` started from ``values`` instead, spelled as a spec a user can re-run."""
    base_text = workload.spec.partition("@")[0]
    generated = model.build_workload(base_text).initial.as_dict()
    overrides = [f"{key}={value}" for key, value in sorted(values.items())
                 if generated.get(key) != value]
    overrides += [f"{key}=absent" for key in sorted(generated) if key not in values]
    spec = base_text + ("@" + ",".join(overrides) if overrides else "")
    return model.build_workload(spec)


def store_text(workload: model.Workload) -> str:
    """The initial store, for people: ``acct0=3 acct1=10``."""
    return " ".join(f"{k}={v}" for k, v in workload.initial.values) or "(empty)"


# --- every schedule, every input ------------------------------------------------------------

Verdict = Literal["pass", "violation", "inconclusive"]


@attrs.frozen
class ClassResult:
    """The search of one class's representative store."""

    workload: model.Workload
    result: SearchResult


@attrs.frozen
class EveryInputResult:
    """Exploration under every class: a verdict, and each class's search in order.

    Classes are searched in order and the first violation stops the run, so a violation
    is the last entry.
    """

    verdict: Verdict
    classes: InputClasses
    searched: tuple[ClassResult, ...]
    reason: str = ""

    @property
    def states(self) -> int:
        """Distinct states over every class searched."""
        return sum(c.result.stats.states for c in self.searched)


def explore_every_input(design: model.Design, config: model.Config, settings: SearchSettings,
                        classes: InputClasses,
                        search: Callable[[model.Config], SearchResult] | None = None,
                        on_result: Callable[[int, ClassResult], None] | None = None
                        ) -> EveryInputResult:
    """Explore every schedule of ``design`` once per class of initial stores.

    ``search`` runs one class's exploration (default: ``explore`` with ``settings``; the
    CLI wraps it in a progress display); ``on_result`` gets each class's result as it
    finishes.
    """
    if search is None:
        def search(class_config: model.Config) -> SearchResult:
            return explore(design, class_config, settings)

    searched: list[ClassResult] = []
    inconclusive = ""
    for number, workload in enumerate(classes.workloads, start=1):
        result = search(attrs.evolve(config, workload=workload))
        entry = ClassResult(workload, result)
        searched.append(entry)
        if on_result is not None:
            on_result(number, entry)
        if result.verdict == "violation":
            return EveryInputResult("violation", classes, tuple(searched))
        if result.verdict == "inconclusive" and not inconclusive:
            inconclusive = f"class {number} ({store_text(workload)}): {result.reason}"
    if inconclusive:
        return EveryInputResult("inconclusive", classes, tuple(searched), inconclusive)
    return EveryInputResult("pass", classes, tuple(searched))


# --- one recorded schedule, every input -----------------------------------------------------


@attrs.frozen
class ScheduleRun:
    """A recorded schedule followed on one class's store."""

    workload: model.Workload
    initial_fingerprint: str
    steps: tuple[Step, ...]
    violation: Violation | None
    as_recorded: int
    """Recorded steps taken exactly as recorded."""
    adapted: int
    """Recorded steps where the actor took another action (data took it elsewhere)."""
    skipped: int
    """Recorded steps whose actor had nothing to do."""
    completed: int
    """Steps added after the recording to finish the run (actors in turn)."""

    def describe(self) -> str:
        """How closely the run followed the recording, in one phrase."""
        parts = [f"{self.as_recorded} step(s) as recorded"]
        if self.adapted:
            parts.append(f"{self.adapted} taken by the same actor differently")
        if self.skipped:
            parts.append(f"{self.skipped} skipped (actor idle)")
        if self.completed:
            parts.append(f"{self.completed} added to finish")
        return ", ".join(parts)


ProofVerdict = Literal["proved", "refuted"]


@attrs.frozen
class TraceProof:
    """A recorded schedule checked on every class: proved (no class violates) or refuted."""

    verdict: ProofVerdict
    classes: InputClasses
    runs: tuple[ScheduleRun, ...]

    @property
    def failing(self) -> ScheduleRun | None:
        """The first class whose run violates a property."""
        return next((r for r in self.runs if r.violation is not None), None)


def _pick(enabled: Sequence[model.Action], recorded: model.Action) -> tuple[model.Action | None,
                                                                            str]:
    if recorded in enabled:
        return recorded, "as_recorded"
    same_actor = [a for a in enabled if a.actor == recorded.actor]
    same_name = [a for a in same_actor if a.name == recorded.name]
    if same_name or same_actor:
        return (same_name or same_actor)[0], "adapted"
    return None, "skipped"


def _round_robin(enabled: Sequence[model.Action], last: str) -> model.Action:
    # The actor after the last one to move, cyclically: a fair finish, where always the
    # first enabled action could spin one worker forever while another waits its turn.
    actors = sorted({a.actor for a in enabled})
    nxt = next((a for a in actors if a > last), actors[0])
    return next(a for a in enabled if a.actor == nxt)


def follow_schedule(design: model.Design, config: model.Config, recorded: Sequence[Step],
                    step_bound: int, criteria: tuple[str, ...] | None = None) -> ScheduleRun:
    """Run ``design`` on ``config`` giving the turns to actors in the recorded order.

    Where the data takes an actor elsewhere than the recording, it does what it now can
    (the same action if enabled, else one of the same name, else its first); an actor
    with nothing to do is skipped. After the recording, the actors take turns round
    robin until the run ends, so every run judged is a real, complete run.
    """
    judge = Judge(design, config, step_bound, criteria)

    def call(what: str, function: Callable[..., Any], *args: Any) -> Any:
        return call_design(f"design {design.name!r}", what, function, *args)

    state = call("initial()", design.initial, config)
    initial_fingerprint = fingerprint_of(design, "initial", "initial()", state)
    counts = {"as_recorded": 0, "adapted": 0, "skipped": 0, "completed": 0}
    steps: list[Step] = []
    terminal = bool(call("is_terminal()", design.is_terminal, state))
    found = judge.check_state(state, 0, terminal)

    def take(action: model.Action) -> None:
        nonlocal state, terminal, found
        what = stepped(action, len(steps))
        previous, state = state, call(what, design.step, state, action)
        steps.append(Step(action, fingerprint_of(design, "step", what, state),
                          changes(previous, state)))
        terminal = bool(call("is_terminal()", design.is_terminal, state))
        found = judge.check_state(state, len(steps), terminal)

    for step in recorded:
        if found is not None or terminal:
            break
        action, how = _pick(tuple(call("actions()", design.actions, state)), step.action)
        counts[how] += 1
        if action is not None:
            take(action)
    while found is None and not terminal:
        enabled = tuple(call("actions()", design.actions, state))
        if not enabled:
            found = judge.check_deadlock(len(steps))
            break
        counts["completed"] += 1
        take(_round_robin(enabled, steps[-1].action.actor if steps else ""))
    return ScheduleRun(config.workload, initial_fingerprint, tuple(steps), found,
                       counts["as_recorded"], counts["adapted"], counts["skipped"],
                       counts["completed"])


def prove_trace(trace: Trace, design_file: str | None, classes: InputClasses | None = None,
                assume: StateFormula | None = None, max_classes: int = DEFAULT_MAX_CLASSES,
                timeout_s: float = DEFAULT_TIMEOUT,
                on_run: Callable[[int, ScheduleRun], None] | None = None) -> TraceProof:
    """Follow ``trace``'s schedule under every class of its workload's initial stores."""
    from shardcheck.checker.trace import design_for

    design, _ = design_for(trace, design_file)
    workload = load_workload(trace.workload)
    if classes is None:
        classes = input_classes(workload, assume, max_classes, timeout_s)
    runs = []
    for number, class_load in enumerate(classes.workloads, start=1):
        config = model.Config(class_load, trace.workers)
        run = follow_schedule(design, config, trace.steps, trace.step_bound, trace.criteria)
        runs.append(run)
        if on_run is not None:
            on_run(number, run)
    verdict: ProofVerdict = "refuted" if any(r.violation for r in runs) else "proved"
    return TraceProof(verdict, classes, tuple(runs))


def run_trace(trace: Trace, run: ScheduleRun) -> Trace:
    """The trace of a followed run: it replays bit-for-bit with ``shardcheck replay``."""
    return attrs.evolve(trace, workload=run.workload.spec,
                        initial_fingerprint=run.initial_fingerprint, steps=run.steps,
                        violation=run.violation,
                        source=(("command", "prove-trace"),))

