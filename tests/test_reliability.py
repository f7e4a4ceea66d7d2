"""Bad input of every kind is one line and exit 2, never our traceback (issue 15)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shardcheck.checker import SearchSettings
from shardcheck.checker.errors import BadInput

from .cli_helpers import assert_bad_input, invoke
from .conftest import ROOT

CORPUS = sorted((ROOT / "traces").rglob("*.trace.json"))


@pytest.mark.parametrize(("spec", "fragment"), [
    ("counter:txs=2,txs=3", "txs is given twice"),
    ("counter:txs=٣", "txs must be an integer, got '٣' (from 1 to 64)"),
    ("counter:txs=" + "9" * 5000, "is 5,012 characters long"),
    ("counter:txs=2@ctr0=" + "9" * 30, "must be an integer or 'absent'"),
])
def test_a_malformed_workload_spec_is_one_short_line(spec: str, fragment: str) -> None:
    """Duplicates, other scripts' digits and huge numbers are refused, and a long spec is
    quoted cut, once."""
    line = assert_bad_input(invoke("explore", "serial", "-w", spec), fragment)
    assert len(line) < 400


def test_transfers_with_nothing_to_transfer_runs() -> None:
    """amount=0 (drawn) on empty accounts was a ZeroDivisionError: now transfers of 1."""
    result = invoke("explore", "serial", "-w", "transfers:txs=2,amount=0,balance=0", "--quiet")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 0.0, -1.0])
def test_a_time_limit_must_be_positive_and_finite(value: float) -> None:
    """nan would mean no limit at all: refused, like every non-finite or non-positive one."""
    with pytest.raises(BadInput, match="positive, finite"):
        SearchSettings(time_limit=value)


def cut_trace(tmp_path: Path, steps: int) -> Path:
    """A corpus trace cut to its first ``steps`` steps, its violation left as recorded."""
    source = next(p for p in CORPUS if json.loads(p.read_text())["violation"]
                  and len(json.loads(p.read_text())["steps"]) > steps)
    document = json.loads(source.read_text())
    assert len(document["steps"]) > steps
    document["steps"] = document["steps"][:steps]
    path = tmp_path / "cut.trace.json"
    path.write_text(json.dumps(document))
    return path


def test_a_trace_whose_violation_lies_past_its_steps_is_malformed(tmp_path: Path) -> None:
    """Cut to 30 steps with its violation recorded later: not 'passes now', exit 2."""
    assert_bad_input(invoke("replay", str(cut_trace(tmp_path, 30))), "past its last step")


@pytest.mark.parametrize(("text", "fragment"), [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"format": "shardcheck-trace", "version": ' + "9" * 5000 + "}", "too large to read"),
])
def test_a_hostile_trace_file_is_bad_input(tmp_path: Path, text: str, fragment: str) -> None:
    """Deep nesting and huge numbers are refused with one line."""
    path = tmp_path / "hostile.trace.json"
    path.write_text(text)
    assert_bad_input(invoke("replay", str(path)), fragment)


def test_a_trace_with_a_thousand_workers_is_refused(tmp_path: Path) -> None:
    """A trace's worker count is bounded as the command line's is."""
    source = CORPUS[0]
    document = json.loads(source.read_text())
    document["config"]["workers"] = 1000
    path = tmp_path / "many.trace.json"
    path.write_text(json.dumps(document))
    assert_bad_input(invoke("replay", str(path)), "config.workers")


def test_an_invariant_of_a_hundred_thousand_characters_is_refused() -> None:
    """Parsing cannot exhaust the stack: the length is bounded first."""
    expression = " + ".join(["acct0"] * 25_000)
    assert_bad_input(invoke("prove", "invariant", "-w", "transfers:txs=2", "--invariant",
                            expression), "characters long")
