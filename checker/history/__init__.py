"""Recorded histories and their serializability: loading, the criteria, anomalies, the report.

``load_history`` reads a history file, ``check_history`` decides a criterion,
``print_report`` shows the answer and ``render_page``/``write_page`` draw it as an HTML page.
networkx lives here (the dependency graph), and the polygraph asks the solver in
``checker.prove`` for an order only when graphs cannot decide.
"""

from shardcheck.checker.history.files import load_history
from shardcheck.checker.history.html import check_page_target, render_page, write_page
from shardcheck.checker.history.records import from_outcome
from shardcheck.checker.history.report import print_report
from shardcheck.checker.history.serializability import (
    CRITERIA,
    DEFAULT_SOLVER_TIMEOUT,
    check_history,
)

__all__ = [
    "CRITERIA",
    "DEFAULT_SOLVER_TIMEOUT",
    "check_history",
    "check_page_target",
    "from_outcome",
    "load_history",
    "print_report",
    "render_page",
    "write_page",
]
