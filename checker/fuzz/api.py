"""Fuzzing from a user's own tests: one call that passes, or raises with the trace.

    from shardcheck.checker import fuzz_design
    from shardcheck.checker.fuzz import strategies

    def test_my_scheduler_survives_fuzzing(tmp_path):
        fuzz_design("path/to/design.py:MyScheduler",
                    workloads=strategies.transfers(txs=(4, 10)), workers=(2, 4),
                    examples=300, trace_dir=tmp_path)

On a violation it raises ``FuzzFailure`` (an ``AssertionError``, so pytest shows it as
a test failure) whose message names the violation, the trace file and the command that
replays it, and ends with the last steps of the run.

A call that gives no ``seed`` takes it from the environment variable ``SHARDCHECK_SEED``
(0 when unset), which is what pytest's ``--shardcheck-seed N`` sets for its run
(``shardcheck/pytest_plugin.py``): a suite can be fuzzed on another seed without editing
a test, and a call that names its seed keeps it.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import strategies as st

from shardcheck.checker.design import DesignRef, resolve_design
from shardcheck.checker.errors import BadInput
from shardcheck.checker.fuzz.campaign import (
    DEFAULT_EXAMPLES,
    DEFAULT_SHRINK_RUNS,
    FuzzResult,
    FuzzSettings,
    fuzz,
)
from shardcheck.checker.fuzz.run import FuzzConfig
from shardcheck.checker.fuzz.schedules import ScheduleKind
from shardcheck.checker.fuzz.strategies import DEFAULT_WORKERS, Size, configs, mixed
from shardcheck.checker.trace import Trace, write_trace

TIMELINE_STEPS = 12
"""How many of the last steps the failure message shows."""

SEED_VARIABLE = "SHARDCHECK_SEED"
"""The environment variable that holds the seed of ``fuzz_design`` calls that give none."""


def default_seed() -> int:
    """The seed of a ``fuzz_design`` call that gives none: ``$SHARDCHECK_SEED``, else 0."""
    text = os.environ.get(SEED_VARIABLE, "").strip()
    if not text:
        return 0
    try:
        seed = int(text)
    except ValueError:
        raise BadInput(f"{SEED_VARIABLE} must be a whole number, got {text!r}") from None
    if seed < 0:
        raise BadInput(f"{SEED_VARIABLE} must be 0 or more, got {seed}")
    return seed


class FuzzFailure(AssertionError):
    """A fuzz campaign found a violation; ``trace_path`` holds its shrunk trace."""

    def __init__(self, message: str, result: FuzzResult, trace_path: Path) -> None:
        super().__init__(message)
        self.result = result
        self.trace_path = trace_path


def short_timeline(trace: Trace, last: int = TIMELINE_STEPS) -> str:
    """The last ``last`` steps of a trace, one line each: ``step  actor  action``."""
    steps = trace.steps
    first = max(0, len(steps) - last)
    lines = [f"  … {first} earlier step(s)"] if first else []
    width = max((len(s.action.actor) for s in steps[first:]), default=0)
    for index, step in enumerate(steps[first:], start=first + 1):
        mark = "✗" if trace.violation is not None and index == trace.violation.step else " "
        lines.append(f"{mark} {index:>5}  {step.action.actor:<{width}}  {step.action.label()}")
    return "\n".join(lines)


def fuzz_design(design: str | DesignRef, *, workloads: st.SearchStrategy[str] | None = None,
                workers: Size = DEFAULT_WORKERS,
                configurations: st.SearchStrategy[FuzzConfig] | None = None,
                examples: int = DEFAULT_EXAMPLES, seed: int | None = None,
                schedule: ScheduleKind = "runs",
                time_limit: float | None = None, shrink_runs: int = DEFAULT_SHRINK_RUNS,
                step_bound: int = 10_000,
                database: str | None = None, trace_dir: str | Path = ".") -> FuzzResult:
    """Fuzz ``design`` and return the result, or raise ``FuzzFailure`` on a violation.

    ``workloads`` (spec strings, see ``shardcheck.checker.fuzz.strategies``) and ``workers`` make
    the configurations, unless ``configurations`` gives them whole. The shrunk trace is
    written into ``trace_dir``. No example database by default, so a test run depends on
    its arguments alone (and ``$SHARDCHECK_SEED`` when ``seed`` is not given); pass
    ``database`` to keep failures between runs.
    """
    __tracebackhide__ = True  # pytest shows the caller's line and the message, not ours
    if seed is None:
        seed = default_seed()
    _, ref = resolve_design(design)
    drawn = configurations if configurations is not None else configs(
        mixed() if workloads is None else workloads, workers)
    settings = FuzzSettings(examples=examples, seed=seed, schedule=schedule,
                            time_limit=time_limit, shrink_runs=shrink_runs,
                            step_bound=step_bound, database=database)
    result = fuzz(ref, drawn, settings)
    if result.verdict == "interrupted":
        raise KeyboardInterrupt
    if result.trace is None or result.trace.violation is None:
        return result
    trace = result.trace
    violation = trace.violation
    assert violation is not None
    stem = Path(ref.file).stem if ref.file else ref.name
    mutant = f"-{ref.mutant}" if ref.mutant else ""
    tail = trace.steps[-1].fingerprint[:8] if trace.steps else trace.initial_fingerprint[:8]
    path = Path(trace_dir) / f"shardcheck-fuzz-{stem}{mutant}-{tail}.trace.json"
    write_trace(trace, path, overwrite=True)
    shrunk = "" if result.shrunk else f" (shrinking stopped: {result.reason})"
    message = (
        f"{ref.spec()} violates {violation.property} after {violation.step} steps on "
        f"{trace.workload} with {trace.workers} worker(s){shrunk}: {violation.message}\n"
        f"trace: {path}\nreplay with: {trace.replay_command(str(path))}\n"
        f"{short_timeline(trace)}"
    )
    raise FuzzFailure(message, result, path)
