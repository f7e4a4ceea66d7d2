"""The JSON documents commands write with ``--format json``: one object per run, versioned.

Every document opens with ``"format": "shardcheck-<kind>/<version>"`` and the tool that
wrote it, and holds the run's ``exit_code``. Within a version fields are only ever
added; a field that goes away or changes meaning makes a new version. Each kind has a
JSON Schema, ``traces/<kind>.schema.json``. A run that ends in an error (exit 2, 70 or
130 outside a fuzz campaign) writes no document: stdout stays empty and stderr holds
the one line that says why.
"""

from __future__ import annotations

from typing import Any

from shardcheck import model
from shardcheck.checker.design import DesignRef, Violation
from shardcheck.checker.search import SearchSettings, Stats
from shardcheck.checker.trace import VERSION

FORMAT_VERSION = 1

KINDS = ("explore-result", "fuzz-result", "replay-result", "ci-result", "designs",
         "workloads", "history-result", "prove-result", "prove-trace-result")
"""Every kind of document; ``traces/<kind>.schema.json`` is the schema of each."""


def document(kind: str, **fields: Any) -> dict[str, Any]:
    """A document of ``kind``: the format and tool fields, then ``fields`` in order."""
    assert kind in KINDS, kind
    return {"format": f"shardcheck-{kind}/{FORMAT_VERSION}",
            "tool": {"name": "shardcheck", "version": VERSION}, **fields}


def design_json(ref: DesignRef) -> dict[str, Any]:
    """The design a run used: its spec (the DESIGN argument again) and its parts."""
    return {"spec": ref.spec(), "name": ref.name, "mutant": ref.mutant, "file": ref.file}


def violation_json(violation: Violation | None) -> dict[str, Any] | None:
    """A violation, or None."""
    return None if violation is None else violation.to_json()


def config_json(config: model.Config) -> dict[str, Any]:
    """The workload spec (normalized, initial values included) and the worker count."""
    return {"workload": config.workload.spec, "workers": config.workers}


def settings_json(settings: SearchSettings) -> dict[str, Any]:
    """A search's settings, every bound and reduction."""
    return {"strategy": settings.strategy, "max_states": settings.max_states,
            "max_depth": settings.max_depth, "time_limit": settings.time_limit,
            "step_bound": settings.step_bound, "symmetry": settings.symmetry,
            "por": settings.por, "compact": settings.compact,
            "persistent": settings.persistent,
            "criteria": None if settings.criteria is None else list(settings.criteria),
            "properties": {"only": None if settings.selection.only is None
                           else list(settings.selection.only),
                           "skip": list(settings.selection.skip)}}


def stats_json(stats: Stats) -> dict[str, Any]:
    """What a search did."""
    return {"states": stats.states, "transitions": stats.transitions,
            "depth": stats.max_depth, "terminal_states": stats.terminal_states,
            "distinct_outcomes": stats.distinct_outcomes, "seconds": stats.seconds,
            "states_per_second": stats.states_per_second, "complete": stats.complete,
            "engine": stats.engine, "collision_probability": stats.collision_probability}


def store_json(workload: model.Workload) -> dict[str, int]:
    """A workload's initial store: each present key and its value."""
    return workload.initial.as_dict()
