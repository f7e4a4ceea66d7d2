"""Fuzzing: hypothesis draws workloads, configurations and schedules; failures shrink.

The one home of hypothesis in shardcheck. ``fuzz`` runs a campaign and returns its
result; ``fuzz_design`` is the call for users' own pytest tests; ``strategies`` holds
the public strategies they compose.
"""

from checker.fuzz.api import FuzzFailure, fuzz_design, short_timeline
from checker.fuzz.campaign import (
    DEFAULT_EXAMPLES,
    FuzzProgress,
    FuzzResult,
    FuzzSettings,
    FuzzStats,
    fuzz,
    runs,
)
from checker.fuzz.database import DEFAULT_DATABASE
from checker.fuzz.run import FuzzConfig, Run, execute
from checker.fuzz.schedules import (
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
    "SCHEDULES",
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
    "execute",
    "fuzz",
    "fuzz_design",
    "runs",
    "runs_schedules",
    "seeded_draw",
    "short_timeline",
]
