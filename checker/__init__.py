"""Everything that explores, judges, records and talks to the user.

The Python API for users' own tests: ``resolve_design`` picks a design by name,
``explore`` searches it, ``write_trace``/``load_trace`` record a run and ``replay``
re-executes one.
``load_suite`` and ``run_suite`` run a CI suite as ``shardcheck ci`` does (docs/ci.md).

The names are imported on first use (PEP 562), not with the package: importing
``checker.explorer`` (as every parallel worker process does) must not pay for
hypothesis, jsonschema and the CI code, which only fuzzing, traces and CI use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# ``replay`` is also the name of a submodule: importing that submodule later would bind
# the module, not the function, to ``checker.replay``; importing it here first keeps the
# function (the import costs little once jsonschema is imported only where it is used).
from checker.replay import ReplayResult, replay

if TYPE_CHECKING:
    from checker.ci import SuiteOutcome, run_suite
    from checker.designs import DesignRef, resolve_design
    from checker.errors import ShardcheckError
    from checker.explorer import SearchResult, SearchSettings, explore
    from checker.fuzz.api import FuzzFailure, fuzz_design
    from checker.suite import Suite, load_suite
    from checker.trace import Trace, load_trace, write_trace

# Each public name and the module that defines it.
_HOMES = {
    "DesignRef": "checker.designs",
    "FuzzFailure": "checker.fuzz.api",
    "SearchResult": "checker.explorer",
    "SearchSettings": "checker.explorer",
    "ShardcheckError": "checker.errors",
    "Suite": "checker.suite",
    "SuiteOutcome": "checker.ci",
    "Trace": "checker.trace",
    "explore": "checker.explorer",
    "fuzz_design": "checker.fuzz.api",
    "load_suite": "checker.suite",
    "load_trace": "checker.trace",
    "resolve_design": "checker.designs",
    "run_suite": "checker.ci",
    "write_trace": "checker.trace",
}

__all__ = [
    "DesignRef",
    "FuzzFailure",
    "ReplayResult",
    "SearchResult",
    "SearchSettings",
    "ShardcheckError",
    "Suite",
    "SuiteOutcome",
    "Trace",
    "explore",
    "fuzz_design",
    "load_suite",
    "load_trace",
    "replay",
    "resolve_design",
    "run_suite",
    "write_trace",
]


def __getattr__(name: str) -> Any:
    """A public name, imported from its module the first time it is asked for."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'checker' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names too, though not yet imported."""
    return sorted({*globals(), *__all__})
