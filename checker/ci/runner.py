"""Running a suite: each check against its expectation, then the corpus of traces.

Nothing here prints; ``checker/cli/ci.py`` shows the outcomes and ``checker/ci/junit.py``
writes them for CI systems. Outcomes come back in suite order whatever order the
checks finished in, and their messages hold no times, so the same suite on the same
designs reports the same thing every run (durations aside).

A check's status is one of:

- ``ok``: it gave the verdict it expects;
- ``mismatch``: it gave another verdict (a pass that should have been a violation, a
  violation of another property, or one that should not have happened);
- ``inconclusive``: its budget ran out before it could decide. This fails the suite:
  a bound that cut a search short has not shown what the check claims. A check that
  says ``allow_inconclusive = true`` gets ``allowed-inconclusive`` instead, which
  does not fail the suite but is still reported (and in JUnit skipped), never passed;
- ``error``: it could not run (its design raised, say).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Literal

import attrs

from shardcheck import model
from shardcheck.checker.ci.suite import Check, Suite
from shardcheck.checker.design import (
    Violation,
    load_workload,
    parse_design_spec,
    resolve_design,
)
from shardcheck.checker.errors import BadInput, ShardcheckError
from shardcheck.checker.search import Progress, SearchSettings, explore
from shardcheck.checker.trace import Trace, holds_trace, load_trace, replay, write_trace

Status = Literal["ok", "mismatch", "inconclusive", "allowed-inconclusive", "error"]
Verdict = Literal["pass", "violation", "inconclusive", "error"]

FAILING: frozenset[str] = frozenset({"mismatch", "inconclusive", "error"})
DEFAULT_TRACE_DIR = "shardcheck-ci-traces"


@attrs.frozen(kw_only=True)
class CheckOutcome:
    """What one check gave, whether that is what it expects, and its counterexample."""

    check: Check
    verdict: Verdict
    status: Status
    message: str
    """Deterministic: what happened, and against which expectation."""
    detail: str
    """How much was done: states explored or runs made."""
    seconds: float
    violation: Violation | None = None
    trace: Trace | None = None
    trace_path: str | None = None
    """Where its counterexample is: written by this run, or already in the corpus."""
    in_corpus: bool = False

    @property
    def failed(self) -> bool:
        """Whether this outcome fails the suite."""
        return self.status in FAILING


@attrs.frozen(kw_only=True)
class TraceOutcome:
    """What replaying one corpus trace gave against its recorded verdict."""

    path: str
    """The trace file, relative to the suite's directory."""
    status: Literal["ok", "mismatch", "error"]
    recorded: str
    message: str
    steps: int
    seconds: float
    replayed: Literal["reproduced", "diverged", "passes", "error"] = "error"
    """What replay said: the recorded verdict reproduced, the run diverged, the recorded
    violation passes now; or the trace could not be replayed at all."""

    @property
    def failed(self) -> bool:
        """Whether this outcome fails the suite."""
        return self.status != "ok"


@attrs.frozen(kw_only=True)
class SuiteOutcome:
    """Every check's and every trace's outcome, in suite and path order."""

    suite: Suite
    checks: tuple[CheckOutcome, ...]
    traces: tuple[TraceOutcome, ...]
    seconds: float

    @property
    def failed(self) -> bool:
        """True unless every check and trace matched (or was allowed to be inconclusive)."""
        return any(o.failed for o in self.checks) or any(t.failed for t in self.traces)

    @property
    def mismatched(self) -> bool:
        """True when something gave a wrong verdict, not merely ran out of budget."""
        return (any(o.status in ("mismatch", "error") for o in self.checks)
                or any(t.failed for t in self.traces))


def _judge(check: Check, verdict: Verdict, violation: Violation | None,
           reason: str) -> tuple[Status, str]:
    """The status of a check that gave ``verdict``, and the message that says why."""
    expected = check.expectation()
    if verdict == "inconclusive":
        status: Status = "allowed-inconclusive" if check.allow_inconclusive else "inconclusive"
        return status, (f"inconclusive: {reason}; the budget ran out before the check could "
                        f"decide, so it has not shown {expected}")
    if violation is not None:
        got = f"violation of {violation.property} at step {violation.step}: {violation.message}"
        if check.expect == "violation" and violation.property == check.property:
            return "ok", got
        return "mismatch", f"expected {expected}, got {got}"
    if check.expect == "pass":
        return "ok", f"pass: {reason}"
    return "mismatch", f"expected {expected}, got pass: {reason}"


def run_check(check: Check, progress: Progress | None = None) -> CheckOutcome:
    """Run one check within its budget and judge what it gave against its expectation."""
    started = time.monotonic()
    try:
        outcome = _explore(check, progress) if check.strategy == "explore" else _fuzz(check)
    except ShardcheckError as exc:
        outcome = CheckOutcome(check=check, verdict="error", status="error",
                               message=f"could not run: {exc}", detail="", seconds=0.0)
    return attrs.evolve(outcome, seconds=time.monotonic() - started)


def _explore(check: Check, progress: Progress | None) -> CheckOutcome:
    design, _ = resolve_design(check.resolved_design)
    assert check.workload is not None  # the suite loader requires it for explore
    config = model.Config(load_workload(check.workload), check.workers)
    settings = SearchSettings(max_states=check.budget.max_states,
                              max_depth=check.budget.max_depth,
                              time_limit=check.budget.time_limit,
                              step_bound=check.step_bound, criteria=check.criteria)
    result = explore(design, config, settings, progress)
    detail = f"{result.stats.states:,} states"
    reason = (f"every schedule explored ({detail})" if result.verdict == "pass"
              else result.reason)
    status, message = _judge(check, result.verdict, result.violation, reason)
    trace = None
    if result.violation is not None:
        # Recorded under the spec the suite wrote, so the trace reads like one from
        # `shardcheck explore` and replays with the same --design-file.
        trace = Trace(parse_design_spec(check.design), config.workload.spec, check.workers,
                      result.initial_fingerprint, result.path, result.violation,
                      check.step_bound,
                      (("check", check.name), ("command", "ci"), ("strategy", "bfs"),
                       ("symmetry", True)), check.criteria)
    return CheckOutcome(check=check, verdict=result.verdict, status=status, message=message,
                        detail=detail, seconds=0.0, violation=result.violation, trace=trace)


def _fuzz(check: Check) -> CheckOutcome:
    # Imported here: hypothesis loads slowly and explore-only suites never need it.
    from shardcheck.checker.fuzz import FuzzSettings, fuzz, strategies

    _, ref = resolve_design(check.resolved_design)
    if check.workload is not None:
        workloads = strategies.fixed_workload(check.workload)
        name = check.workload
    else:
        assert check.workload_strategy is not None  # the loader requires one of the two
        workloads = strategies.workload_strategy(check.workload_strategy)
        name = check.workload_strategy
    settings = FuzzSettings(examples=check.budget.examples or 1, seed=check.budget.seed,
                            time_limit=check.budget.time_limit, step_bound=check.step_bound,
                            database=None)  # no database: the same suite, the same result
    result = fuzz(ref, strategies.configs(workloads, check.workers), settings,
                  configs_name=f"{name}|{check.workers}")
    detail = f"{result.stats.runs:,} runs"
    verdict: Verdict
    if result.verdict == "interrupted":
        raise KeyboardInterrupt
    verdict = result.verdict
    violation = result.trace.violation if result.trace is not None else None
    status, message = _judge(check, verdict, violation, result.reason)
    trace = None
    if result.trace is not None:
        trace = attrs.evolve(result.trace, design=parse_design_spec(check.design))
    return CheckOutcome(check=check, verdict=verdict, status=status, message=message,
                        detail=detail, seconds=0.0, violation=violation, trace=trace)


def run_checks(checks: Sequence[Check], jobs: int,
               on_done: Callable[[CheckOutcome], None] | None = None,
               progress: Progress | None = None) -> tuple[CheckOutcome, ...]:
    """Run ``checks`` (in ``jobs`` processes when more than one), in suite order.

    ``on_done`` hears of each outcome as it arrives; ``progress`` follows the search
    of a check run in this process.
    """
    if jobs <= 1 or len(checks) <= 1:
        outcomes = []
        for check in checks:
            outcome = run_check(check, progress)
            if on_done is not None:
                on_done(outcome)
            outcomes.append(outcome)
        return tuple(outcomes)
    # spawn, not fork: the parent may run a live display thread, and a forked child
    # would inherit its locks.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [pool.submit(run_check, check) for check in checks]
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=futures.index):
                if on_done is not None:
                    on_done(future.result())
        return tuple(f.result() for f in futures)


def corpus_traces(suite: Suite) -> tuple[Path, ...]:
    """Every trace file under the corpus directory, in path order."""
    if not suite.corpus.is_dir():
        if suite.corpus_given:
            raise BadInput(f"{suite.path}: field corpus: directory {suite.corpus} does not "
                           "exist")
        return ()
    return tuple(sorted(suite.corpus.rglob("*.trace.json")))


def _display(path: Path, suite: Suite) -> str:
    try:
        return path.relative_to(suite.path.parent).as_posix()
    except ValueError:
        return path.as_posix()


def replay_trace(path: Path, suite: Suite) -> tuple[TraceOutcome, Trace | None]:
    """Replay one corpus trace and compare it with its recorded verdict."""
    started = time.monotonic()
    shown = _display(path, suite)
    try:
        trace = load_trace(path)
    except ShardcheckError as exc:
        return TraceOutcome(path=shown, status="error", recorded="?", message=str(exc),
                            steps=0, seconds=time.monotonic() - started), None
    recorded = (f"violation of {trace.violation.property} at step {trace.violation.step}"
                if trace.violation else "no violation")
    design_file = None
    if trace.design.file is not None:
        # A trace runs a design file only when the suite names that file in a check:
        # the user pointed at it there, and opening a trace never runs code otherwise.
        candidate = (suite.path.parent / trace.design.file).resolve()
        if candidate not in suite.design_files:
            return TraceOutcome(
                path=shown, status="error", recorded=recorded,
                message=f"the trace was recorded with {trace.design.file}, which no check in "
                        "the suite names; add a check of that design so the suite may run it",
                steps=len(trace.steps), seconds=time.monotonic() - started), trace
        design_file = str(candidate)
    try:
        result = replay(trace, design_file)
    except ShardcheckError as exc:
        return TraceOutcome(path=shown, status="error", recorded=recorded, message=str(exc),
                            steps=len(trace.steps),
                            seconds=time.monotonic() - started), trace
    status: Literal["ok", "mismatch"] = "ok" if result.verdict == "reproduced" else "mismatch"
    message = result.message if status == "ok" else f"{result.verdict}: {result.message}"
    return TraceOutcome(path=shown, status=status, recorded=recorded, message=message,
                        steps=len(trace.steps), seconds=time.monotonic() - started,
                        replayed=result.verdict), trace


def _key(trace: Trace) -> tuple[object, ...]:
    """What makes two traces the same counterexample, whoever recorded them."""
    return (trace.design, load_workload(trace.workload).spec, trace.workers,
            trace.initial_fingerprint, tuple(s.fingerprint for s in trace.steps),
            trace.violation)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "check"


def check_trace_dir(trace_dir: Path) -> None:
    """Fail before running anything if counterexamples could not be written there."""
    if trace_dir.exists() and not trace_dir.is_dir():
        raise BadInput(f"--trace-dir {trace_dir} is a file; give a directory")


def keep_counterexamples(outcomes: Sequence[CheckOutcome], corpus: dict[tuple[object, ...], str],
                         trace_dir: Path, overwrite: bool = False) -> tuple[CheckOutcome, ...]:
    """Point each counterexample at its corpus copy, or write it as a new trace file.

    New ones are named after their check, in ``trace_dir``. A file there that holds the
    same run (an earlier run of the suite wrote it) is kept as it is; one that holds
    another run is replaced only with ``overwrite`` (``--force``), and otherwise the new
    counterexample takes the next free name (``check-2.trace.json``).
    """
    kept = []
    used: set[Path] = set()
    for outcome in outcomes:
        trace = outcome.trace
        if trace is None:
            kept.append(outcome)
            continue
        known = corpus.get(_key(trace))
        if known is not None:
            kept.append(attrs.evolve(outcome, trace_path=known, in_corpus=True))
            continue
        slug, n = _slug(outcome.check.name), 1
        path = trace_dir / f"{slug}.trace.json"
        while path in used or (path.exists() and not overwrite
                               and not holds_trace(path, trace)):
            n += 1
            path = trace_dir / f"{slug}-{n}.trace.json"
        used.add(path)
        if not (path.exists() and holds_trace(path, trace)):
            trace_dir.mkdir(parents=True, exist_ok=True)
            write_trace(trace, path, overwrite=overwrite)
        kept.append(attrs.evolve(outcome, trace_path=path.as_posix()))
    return tuple(kept)


def run_suite(suite: Suite, *, jobs: int = 1, trace_dir: Path = Path(DEFAULT_TRACE_DIR),
              on_check: Callable[[CheckOutcome], None] | None = None,
              on_trace: Callable[[TraceOutcome], None] | None = None,
              progress: Progress | None = None, overwrite: bool = False) -> SuiteOutcome:
    """Run every check, replay the corpus, and keep every new counterexample (replacing
    a different one of the same check in ``trace_dir`` only with ``overwrite``)."""
    started = time.monotonic()
    check_trace_dir(trace_dir)
    paths = corpus_traces(suite)
    checks = run_checks(suite.checks, jobs, on_check, progress)
    traces: list[TraceOutcome] = []
    corpus: dict[tuple[object, ...], str] = {}
    for path in paths:
        outcome, trace = replay_trace(path, suite)
        traces.append(outcome)
        if on_trace is not None:
            on_trace(outcome)
        if trace is not None:
            with contextlib.suppress(model.WorkloadError):  # its replay reported it already
                corpus.setdefault(_key(trace), outcome.path)
    kept = keep_counterexamples(checks, corpus, trace_dir, overwrite)
    return SuiteOutcome(suite=suite, checks=kept, traces=tuple(traces),
                        seconds=time.monotonic() - started)
