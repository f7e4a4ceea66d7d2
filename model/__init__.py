"""The executable model: pure, deterministic, no I/O; it never imports checker/.

This package's top level is the one seam the checker reaches the model through.
"""

from model.api import (
    CRITERIA,
    DEFAULT_CRITERIA,
    Action,
    Config,
    Design,
    KnownFailure,
    Mutant,
    Outcome,
    ParamValue,
    Property,
    ReadRecord,
    Symmetric,
    TxRecord,
    TxStatus,
    Workload,
    design_criteria,
)
from model.designs import builtin_designs
from model.encoding import Constant, canonical_bytes, digest, fingerprint
from model.language import ProgramError, Transaction, block_keys
from model.reference import execute_serially, execute_transaction, observe
from model.store import Store
from model.workloads import GENERATORS, Generator, Param, WorkloadError, build_workload

__all__ = [
    "CRITERIA",
    "DEFAULT_CRITERIA",
    "GENERATORS",
    "Action",
    "Config",
    "Constant",
    "Design",
    "Generator",
    "KnownFailure",
    "Mutant",
    "Outcome",
    "Param",
    "ParamValue",
    "ProgramError",
    "Property",
    "ReadRecord",
    "Store",
    "Symmetric",
    "Transaction",
    "TxRecord",
    "TxStatus",
    "Workload",
    "WorkloadError",
    "block_keys",
    "build_workload",
    "builtin_designs",
    "canonical_bytes",
    "design_criteria",
    "digest",
    "execute_serially",
    "execute_transaction",
    "fingerprint",
    "observe",
]
