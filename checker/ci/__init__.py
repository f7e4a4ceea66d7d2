"""CI suites: the declared checks, running them with the corpus of traces, JUnit and the summary."""

from shardcheck.checker.ci.junit import check_junit_path, write_junit
from shardcheck.checker.ci.report import print_outcome
from shardcheck.checker.ci.runner import (
    DEFAULT_TRACE_DIR,
    CheckOutcome,
    SuiteOutcome,
    TraceOutcome,
    check_trace_dir,
    corpus_traces,
    run_suite,
)
from shardcheck.checker.ci.suite import Suite, load_suite

__all__ = [
    "DEFAULT_TRACE_DIR",
    "CheckOutcome",
    "Suite",
    "SuiteOutcome",
    "TraceOutcome",
    "check_junit_path",
    "check_trace_dir",
    "corpus_traces",
    "load_suite",
    "print_outcome",
    "run_suite",
    "write_junit",
]
