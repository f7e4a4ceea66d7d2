"""Trace files and replay: the record of a run, re-executed step by step, and its HTML page."""

from shardcheck.checker.trace.files import (
    Trace,
    check_writable,
    holds_trace,
    load_trace,
    write_trace,
    write_trace_once,
)
from shardcheck.checker.trace.html import render_html, write_html
from shardcheck.checker.trace.replayer import ReplayResult, design_for, replay
from shardcheck.checker.trace.version import VERSION

__all__ = [
    "VERSION",
    "ReplayResult",
    "Trace",
    "check_writable",
    "design_for",
    "holds_trace",
    "load_trace",
    "render_html",
    "replay",
    "write_html",
    "write_trace",
    "write_trace_once",
]
