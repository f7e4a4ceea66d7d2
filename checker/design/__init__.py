"""A design as the checker sees it: found by name, its code called safely, its states judged.

Every other part of the checker reaches a design through this package: ``resolve_design``
turns what the user typed into a design, ``call_design`` runs the design's own code so
that its failures are reported as the design's (``fingerprint_of`` does the same for a
state that cannot be fingerprinted), ``Judge`` checks its properties on every
state, ``Step`` and ``changes`` describe one step of a run.
"""

from shardcheck.checker.design.diff import changes
from shardcheck.checker.design.guard import (
    call_design,
    design_bug,
    fingerprint_of,
    refuse_unencodable,
    refuse_unencodable_key,
    stepped,
)
from shardcheck.checker.design.properties import (
    ALL,
    BUILTIN_PROPERTIES,
    Judge,
    Selection,
    Violation,
)
from shardcheck.checker.design.resolve import (
    DesignRef,
    design_title,
    parse_design_spec,
    resolve_design,
)
from shardcheck.checker.design.step import Step
from shardcheck.checker.design.workloads import (
    block_document,
    is_block_file,
    load_workload,
    register_block,
)

__all__ = [
    "ALL",
    "BUILTIN_PROPERTIES",
    "DesignRef",
    "Judge",
    "Selection",
    "Step",
    "Violation",
    "block_document",
    "call_design",
    "changes",
    "design_bug",
    "design_title",
    "fingerprint_of",
    "is_block_file",
    "load_workload",
    "parse_design_spec",
    "refuse_unencodable",
    "refuse_unencodable_key",
    "register_block",
    "resolve_design",
    "stepped",
]
