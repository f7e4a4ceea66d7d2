"""The regression corpus: every trace under traces/ replays to its recorded verdict."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from shardcheck.checker import load_trace, replay

from .conftest import ROOT

TRACES = sorted((ROOT / "traces").rglob("*.trace.json"))


def test_the_corpus_holds_a_trace_for_every_block_stm_mutant() -> None:
    """Ten mutants, ten kept counterexamples."""
    assert len([t for t in TRACES if t.parent.name == "block-stm"]) == 10


@pytest.mark.parametrize("path", TRACES, ids=lambda p: str(p.relative_to(ROOT / "traces")))
def test_a_kept_trace_still_reproduces(path: Path) -> None:
    """Each kept counterexample still reproduces, at the same step."""
    trace = load_trace(path)
    result = replay(trace)
    assert result.verdict == "reproduced", result.message
    assert result.violation == trace.violation


def test_the_published_schema_is_the_one_traces_are_checked_against() -> None:
    """traces/trace.schema.json is a copy of the schema the loader uses."""
    published = json.loads((ROOT / "traces" / "trace.schema.json").read_text())
    used = json.loads((ROOT / "checker" / "trace" / "trace.schema.json").read_text())
    assert published == used
    jsonschema.Draft202012Validator.check_schema(published)
    for path in TRACES:
        jsonschema.validate(json.loads(path.read_text()), published)
