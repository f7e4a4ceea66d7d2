"""Exhaustive search (``shardcheck explore``): one process, several, a cluster; audit; every input.

``explore`` searches one design breadth- or depth-first; ``explore_parallel`` runs the
same search in processes or on a Dask cluster with the same result; ``audit`` checks each
reduction against none; ``explore_every_input`` runs schedules once per class of stores.
"""

from shardcheck.checker.search.audit import audit
from shardcheck.checker.search.cluster import map_tasks
from shardcheck.checker.search.every_input import (
    DEFAULT_MAX_CLASSES,
    DEFAULT_TIMEOUT,
    ClassResult,
    EveryInputResult,
    InputClasses,
    ScheduleRun,
    explore_every_input,
    input_classes,
    parse_assumption,
    prove_trace,
    run_trace,
    store_text,
)
from shardcheck.checker.search.explorer import (
    Progress,
    SearchResult,
    SearchSettings,
    Stats,
    explore,
)
from shardcheck.checker.search.packed import path_notes
from shardcheck.checker.search.parallel import (
    ProcessHost,
    check_jobs,
    check_settings,
    describe_parallel,
    explore_parallel,
)
from shardcheck.checker.search.partition import parallel_settings

__all__ = [
    "DEFAULT_MAX_CLASSES",
    "DEFAULT_TIMEOUT",
    "ClassResult",
    "EveryInputResult",
    "InputClasses",
    "ProcessHost",
    "Progress",
    "ScheduleRun",
    "SearchResult",
    "SearchSettings",
    "Stats",
    "audit",
    "check_jobs",
    "check_settings",
    "describe_parallel",
    "explore",
    "explore_every_input",
    "explore_parallel",
    "input_classes",
    "map_tasks",
    "parallel_settings",
    "parse_assumption",
    "path_notes",
    "prove_trace",
    "run_trace",
    "store_text",
]
