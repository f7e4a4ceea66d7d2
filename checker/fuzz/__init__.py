"""Fuzzing: hypothesis draws workloads, configurations and schedules; failures shrink.

The one home of hypothesis in shardcheck. ``fuzz`` runs a campaign and returns its
result; ``fuzz_design`` is the call for users' own pytest tests; ``strategies`` holds
the public strategies they compose.
"""

from shardcheck.checker.fuzz.api import (
    SEED_VARIABLE,
    FuzzFailure,
    default_seed,
    fuzz_design,
    short_timeline,
)
from shardcheck.checker.fuzz.campaign import (
    DEFAULT_EXAMPLES,
    DEFAULT_SHRINK_RUNS,
    FuzzProgress,
    FuzzResult,
    FuzzSettings,
    FuzzStats,
    fuzz,
    judge_names,
    runs,
)
from shardcheck.checker.fuzz.database import DEFAULT_DATABASE
from shardcheck.checker.fuzz.parallel import Campaign, fuzz_parallel
from shardcheck.checker.fuzz.run import FuzzConfig, Run, execute
from shardcheck.checker.fuzz.schedules import (
    SCHEDULES,
    RunsSchedule,
    ScheduleKind,
    Segment,
    UniformSchedule,
    runs_schedules,
    seeded_draw,
)

__all__ = [
    "DEFAULT_DATABASE",
    "DEFAULT_EXAMPLES",
    "DEFAULT_SHRINK_RUNS",
    "SCHEDULES",
    "SEED_VARIABLE",
    "Campaign",
    "FuzzConfig",
    "FuzzFailure",
    "FuzzProgress",
    "FuzzResult",
    "FuzzSettings",
    "FuzzStats",
    "Run",
    "RunsSchedule",
    "ScheduleKind",
    "Segment",
    "UniformSchedule",
    "default_seed",
    "execute",
    "fuzz",
    "fuzz_design",
    "fuzz_parallel",
    "judge_names",
    "runs",
    "runs_schedules",
    "seeded_draw",
    "short_timeline",
]
