"""A fuzz campaign: hypothesis draws configurations and schedules, runs them, shrinks.

Each example is one whole run. Its configuration and every scheduling decision are
drawn from hypothesis's data, so when a run violates a property, hypothesis's shrinker
minimizes the block, the worker count and the schedule together, with the same
machinery, until every remaining decision matters. The smallest failing run comes back
as an ordinary trace.

Determinism: hypothesis is seeded with ``FuzzSettings.seed`` and never reads a clock
to decide anything we depend on, so one seed gives one result, byte for byte. Two
things can change that, and the result says when they did: a time limit that stops
shrinking early, and examples retried from the database (which start the search from
an earlier campaign's failure).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

import attrs
from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky, FlakyFailure, HypothesisException, Unsatisfiable

from shardcheck import model
from shardcheck.checker.design import DesignRef, Judge, resolve_design
from shardcheck.checker.errors import BadInput, DesignBug
from shardcheck.checker.fuzz.database import DEFAULT_DATABASE, CampaignDatabase, open_database
from shardcheck.checker.fuzz.run import FuzzConfig, Run, execute, recorded_steps
from shardcheck.checker.fuzz.schedules import (
    SCHEDULES,
    ScheduleKind,
    UniformSchedule,
    runs_schedules,
)
from shardcheck.checker.trace import Trace

FuzzVerdict = Literal["pass", "violation", "inconclusive", "interrupted"]
Phase_ = Literal["generating", "shrinking"]

DEFAULT_EXAMPLES = 1000
DEFAULT_SHRINK_RUNS = 500


def _positive(name: str) -> Callable[[Any, Any, Any], None]:
    def check(_instance: Any, _attribute: Any, value: Any) -> None:
        if value is not None and value <= 0:
            raise BadInput(f"{name} must be positive, got {value}")
    return check


def _non_negative(name: str) -> Callable[[Any, Any, Any], None]:
    def check(_instance: Any, _attribute: Any, value: int) -> None:
        if value < 0:
            raise BadInput(f"{name} must be 0 or more, got {value}")
    return check


def _known_schedule(_instance: Any, _attribute: Any, value: str) -> None:
    if value not in SCHEDULES:
        raise BadInput(f"unknown schedule {value!r} (known: {', '.join(SCHEDULES)})")


@attrs.frozen(kw_only=True)
class FuzzSettings:
    """The budget and the knobs of one campaign; validated on construction."""

    examples: int = attrs.field(default=DEFAULT_EXAMPLES, validator=_positive("--examples"))
    time_limit: float | None = attrs.field(default=None, validator=_positive("--time-limit"))
    seed: int = attrs.field(default=0, validator=_non_negative("--seed"))
    shrink_runs: int = attrs.field(default=DEFAULT_SHRINK_RUNS,
                                   validator=_non_negative("--shrink-runs"))
    """Runs spent shrinking after the first failure, at most: a count, not a time, so
    the result stays the same on a slower machine."""
    schedule: ScheduleKind = attrs.field(default="runs", validator=_known_schedule)
    step_bound: int = attrs.field(default=10_000, validator=_positive("--step-bound"))
    database: str | None = DEFAULT_DATABASE
    """Directory of the example database, or None for none."""

    def describe(self) -> str:
        """One line for report headers."""
        parts = [f"{self.examples:,} examples", f"{self.shrink_runs:,} shrinking runs",
                 f"seed {self.seed}",
                 f"{self.schedule} schedule", f"step bound {self.step_bound:,}"]
        if self.time_limit is not None:
            parts.append(f"time limit {self.time_limit:g}s")
        return ", ".join(parts)


@attrs.frozen
class FuzzProgress:
    """How far a campaign has got, for a progress display."""

    phase: Phase_
    runs: int
    failing_runs: int
    smallest_steps: int | None
    seconds: float


@attrs.frozen(kw_only=True)
class FuzzStats:
    """What a campaign did."""

    runs: int
    failing_runs: int
    seconds: float
    first_failure_run: int | None
    first_failure_seconds: float | None
    retried: int
    """Examples saved by earlier campaigns that were retried first."""


@attrs.frozen(kw_only=True)
class FuzzResult:
    """The verdict of a campaign and, on a violation, the smallest failing run."""

    verdict: FuzzVerdict
    stats: FuzzStats
    run: Run | None = None
    trace: Trace | None = None
    shrunk: bool = True
    """False when a time limit or Ctrl-C stopped shrinking: ``run`` is the smallest so far."""
    reason: str = ""


class _Found(Exception):
    """A run violated a property; raised so that hypothesis shrinks it."""

    def __init__(self, run: Run) -> None:
        super().__init__(str(run.violation))
        self.run = run


class _Drawn:
    """A run as the test receives it. Hypothesis builds the repr of every example it
    runs; a run's repr holds every action, which costs more than the run itself."""

    __slots__ = ("run",)

    def __init__(self, run: Run) -> None:
        self.run = run

    def __repr__(self) -> str:
        return f"<run on {self.run.config.workload}, {self.run.config.workers} workers>"


class _OutOfTime(BaseException):
    """The time limit passed. A BaseException, so hypothesis neither shrinks nor reports it."""


class _ShrinkingSpent(BaseException):
    """The shrinking budget is used up; the smallest failure so far is the result."""


@attrs.define(eq=False)
class _Tally:
    """The mutable bookkeeping of one campaign: counts, and the smallest failure so far."""

    started: float
    deadline: float | None
    progress: Callable[[FuzzProgress], None] | None
    shrink_runs: int
    runs: int = 0
    failing: int = 0
    first_failure_run: int | None = None
    first_failure_seconds: float | None = None
    smallest: Run | None = None
    smallest_size: tuple[int, int, int] | None = None

    def observe(self, run: Run) -> None:
        self.runs += 1
        if run.violation is not None:
            self.failing += 1
            if self.first_failure_run is None:
                self.first_failure_run = self.runs
                self.first_failure_seconds = time.monotonic() - self.started
            size = run.size()
            if self.smallest_size is None or size < self.smallest_size:
                self.smallest, self.smallest_size = run, size
        if self.progress is not None:
            self.progress(self.snapshot())
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise _OutOfTime
        if self.first_failure_run is not None and \
                self.runs - self.first_failure_run >= self.shrink_runs:
            raise _ShrinkingSpent

    def snapshot(self) -> FuzzProgress:
        return FuzzProgress("generating" if self.smallest is None else "shrinking", self.runs,
                            self.failing, None if self.smallest_size is None
                            else self.smallest_size[0], time.monotonic() - self.started)

    def stats(self, retried: int) -> FuzzStats:
        return FuzzStats(runs=self.runs, failing_runs=self.failing,
                         seconds=time.monotonic() - self.started,
                         first_failure_run=self.first_failure_run,
                         first_failure_seconds=self.first_failure_seconds, retried=retried)


def runs(design: model.Design, configs: st.SearchStrategy[FuzzConfig], schedule: ScheduleKind,
         step_bound: int) -> st.SearchStrategy[Run]:
    """Whole runs of ``design``: a configuration drawn, then every decision of a schedule."""
    integers: dict[tuple[int, int], st.SearchStrategy[int]] = {}
    preemptions = runs_schedules(fair_after=step_bound // 2)

    @st.composite
    def build(draw: st.DrawFn) -> Run:
        config = draw(configs)

        def decide(low: int, high: int) -> int:
            strategy = integers.get((low, high))
            if strategy is None:
                strategy = integers[(low, high)] = st.integers(low, high)
            return draw(strategy)

        if schedule == "runs":
            chosen = draw(preemptions)
            return execute(design, config, chosen.choosing_with(decide), step_bound)
        return execute(design, config, UniformSchedule(decide), step_bound)

    return build()


def campaign_key(ref: DesignRef, configs: str, fuzz: FuzzSettings) -> str:
    """What identifies a campaign in the example database."""
    return f"{ref.spec()}|{configs}|{fuzz.schedule}|{fuzz.step_bound}"


def fuzz(design: str | DesignRef, configs: st.SearchStrategy[FuzzConfig],
         fuzz_settings: FuzzSettings = FuzzSettings(), *, configs_name: str | None = None,
         progress: Callable[[FuzzProgress], None] | None = None) -> FuzzResult:
    """Fuzz ``design`` on configurations drawn from ``configs`` within the budget.

    ``configs_name`` names the configurations in the example database (default: the
    strategy's repr); give a stable one when the repr is not. ``progress`` is called
    after every run, and may raise ``KeyboardInterrupt`` to stop the campaign.
    On a violation the result holds the smallest failing run and its trace. Ctrl-C
    stops the campaign and returns what it found so far (verdict ``interrupted`` if
    nothing failed yet).
    """
    found, ref = resolve_design(design)
    database = None
    if fuzz_settings.database is not None:
        database = CampaignDatabase(
            open_database(fuzz_settings.database),
            campaign_key(ref, configs_name or repr(configs), fuzz_settings))
    started = time.monotonic()
    tally = _Tally(started, None if fuzz_settings.time_limit is None
                   else started + fuzz_settings.time_limit, progress, fuzz_settings.shrink_runs)

    @given(runs(found, configs, fuzz_settings.schedule, fuzz_settings.step_bound).map(_Drawn))
    def campaign(drawn: _Drawn) -> None:
        run = drawn.run
        tally.observe(run)
        if run.violation is not None:
            raise _Found(run)

    # The seed first: hypothesis's @seed turns the database off (a seeded run is usually
    # a reproduction), and the settings applied after it turn ours back on.
    test = settings(
        max_examples=fuzz_settings.examples,
        database=database,
        derandomize=False,  # the explicit seed decides instead
        deadline=None,
        phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
        print_blob=False,
    )(seed(fuzz_settings.seed)(campaign))

    def stats() -> FuzzStats:
        return tally.stats(0 if database is None else database.retried)

    try:
        test()
    except _Found as exc:
        # Hypothesis's minimum is the simplest choice sequence; a shorter trace may have
        # failed on the way, and a shorter trace is what a reader wants.
        smallest = tally.smallest or exc.run
        return _violation(found, ref, smallest, stats(), fuzz_settings, True, "")
    except _ShrinkingSpent:
        assert tally.smallest is not None
        return _violation(found, ref, tally.smallest, stats(), fuzz_settings, False,
                          f"its budget of {fuzz_settings.shrink_runs:,} runs was spent")
    except _OutOfTime:
        limit = f"time limit of {fuzz_settings.time_limit:g}s reached after {tally.runs:,} runs"
        if tally.smallest is not None:
            return _violation(found, ref, tally.smallest, stats(), fuzz_settings,
                              False, f"{limit}, while shrinking")
        return FuzzResult(verdict="pass", stats=stats(), reason=limit)
    except KeyboardInterrupt:
        why = f"interrupted after {tally.runs:,} runs"
        if tally.smallest is not None:
            return _violation(found, ref, tally.smallest, stats(), fuzz_settings,
                              False, f"{why}, while shrinking")
        return FuzzResult(verdict="interrupted", stats=stats(), reason=why)
    except Unsatisfiable as exc:
        return FuzzResult(verdict="inconclusive", stats=stats(),
                          reason=f"hypothesis could not generate enough runs: {exc}")
    except (Flaky, FlakyFailure):
        raise DesignBug(f"design {found.name!r} ran the same schedule twice and it came out "
                        "differently: it has hidden nondeterminism (set or dict order, a "
                        "clock, randomness)") from None
    except HypothesisException as exc:
        raise BadInput(f"hypothesis rejected the campaign: {exc}") from None
    return FuzzResult(verdict="pass", stats=stats(),
                      reason=f"{tally.runs:,} runs, every property held")


def _violation(design: model.Design, ref: DesignRef, run: Run, stats: FuzzStats,
               fuzz_settings: FuzzSettings, shrunk: bool, reason: str) -> FuzzResult:
    initial, steps = recorded_steps(design, run)
    source: tuple[tuple[str, str | int | bool | None], ...] = tuple(sorted((
        ("command", "fuzz"), ("seed", fuzz_settings.seed),
        ("schedule", fuzz_settings.schedule), ("shrunk", shrunk))))
    trace = Trace(ref, run.config.workload, run.config.workers, initial, steps, run.violation,
                  fuzz_settings.step_bound, source)
    return FuzzResult(verdict="violation", stats=stats, run=run, trace=trace, shrunk=shrunk,
                      reason=reason)


def judge_names(design: model.Design, config: FuzzConfig, step_bound: int) -> tuple[str, ...]:
    """Every property a run of ``design`` is checked against."""
    return Judge(design, config.build(), step_bound).names()
