"""A user's own block file runs through explore, fuzz, replay (from the trace alone) and ci."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from shardcheck import model
from shardcheck.checker import load_trace, replay
from shardcheck.checker.design import block_document, load_workload, register_block
from shardcheck.checker.errors import BadInput

from .cli_helpers import assert_bad_input, flat, invoke
from .conftest import ROOT

SWAP: dict[str, Any] = {
    "format": "shardcheck-block/1",
    "store": {"acct0": 10, "acct1": 5},
    "modules": {"acct1": "m1"},
    "transactions": [
        {"label": "pay 3", "program": [
            {"read": "acct0", "as": "a"}, {"read": "acct1", "as": "b"},
            {"require": "a >= 3", "reason": "insufficient"},
            {"write": "acct0", "value": "a - 3"}, {"write": "acct1", "value": "b + 3"}]},
        {"label": "audit", "program": [
            {"scan": "acct", "as": "s"}, {"exists": "total", "as": "seen"},
            {"let": "t", "be": "s + seen"},
            {"write": "total", "value": "t", "if": "t > 0"}]},
    ],
}
SCHEMA = json.loads((ROOT / "traces" / "block.schema.json").read_text())


def write_block(folder: Path, document: Any, name: str = "swap.json") -> Path:
    """The block as a file in ``folder``."""
    path = folder / name
    path.write_text(json.dumps(document))
    return path


def test_a_block_file_builds_the_block_it_states(tmp_path: Path) -> None:
    """Store, owners and every statement kind come out as the model's values."""
    workload = load_workload(str(write_block(tmp_path, SWAP)))
    assert workload.spec.startswith("block:swap#")
    assert workload.initial.as_dict() == {"acct0": 10, "acct1": 5}
    assert workload.initial.module_of("acct1") == "m1"
    assert [tx.label for tx in workload.block] == ["pay 3", "audit"]
    audit = workload.block[1].program
    assert audit[0] == model.Scan("s", "acct")
    assert audit[3] == model.WriteIf(model.BinOp(">", model.Var("t"), model.Const(0)), "total",
                                     model.Var("t"))
    serial = model.execute_serially(workload)
    assert serial.store.as_dict() == {"acct0": 7, "acct1": 8, "total": 15}


def test_the_same_block_gives_the_same_spec_and_an_edit_a_new_one(tmp_path: Path) -> None:
    """The spec's digest is of the block's content: equal specs mean equal blocks."""
    first = load_workload(str(write_block(tmp_path, SWAP)))
    again = load_workload(str(write_block(tmp_path, SWAP, "copy/swap.json"
                                          if (tmp_path / "copy").mkdir() is None else "")))
    edited = json.loads(json.dumps(SWAP))
    edited["store"]["acct0"] = 11
    other = load_workload(str(write_block(tmp_path, edited)))
    assert first.spec == again.spec != other.spec
    assert block_document(first.spec) is not None


def test_a_toml_block_means_the_same_as_its_json(tmp_path: Path) -> None:
    """TOML is accepted too, for people who write blocks by hand."""
    toml = tmp_path / "swap.toml"
    toml.write_text('''
format = "shardcheck-block/1"
[store]
acct0 = 10
acct1 = 5
[modules]
acct1 = "m1"
[[transactions]]
label = "pay 3"
program = [{read = "acct0", as = "a"}, {read = "acct1", as = "b"},
           {require = "a >= 3", reason = "insufficient"},
           {write = "acct0", value = "a - 3"}, {write = "acct1", value = "b + 3"}]
[[transactions]]
label = "audit"
program = [{scan = "acct", as = "s"}, {exists = "total", as = "seen"},
           {let = "t", be = "s + seen"}, {write = "total", value = "t", if = "t > 0"}]
''')
    assert load_workload(str(toml)).spec == load_workload(str(write_block(tmp_path, SWAP))).spec


@pytest.mark.parametrize(("change", "where", "in_schema"), [
    (lambda d: d["transactions"][0]["program"].append({"write": "x"}),
     "transactions[0].program[5].value", True),
    (lambda d: d["transactions"][1]["program"][2].update(be="s +"),
     "transactions[1].program[2].be", False),
    (lambda d: d["transactions"][0]["program"][0].update(read=3),
     "transactions[0].program[0].read", True),
    (lambda d: d["store"].update(acct0="ten"), "store.acct0", True),
    (lambda d: d["store"].update(acct0=True), "store.acct0", True),
    (lambda d: d.update(transactions=[]), "transactions", True),
    (lambda d: d.update(extra=1), "extra", True),
    (lambda d: d["transactions"][0]["program"][2].update(require="__import__('os')"),
     "transactions[0].program[2].require", False),
    (lambda d: d["transactions"][0]["program"].append({"read": "k", "as": "1x"}),
     "transactions[0].program[5].as", True),
])
def test_a_mistake_in_a_block_is_exit_2_with_its_json_path(tmp_path: Path, change: Any,
                                                          where: str, in_schema: bool) -> None:
    """Each mistake names the field it is in; the schema rejects the structural ones (an
    expression that does not parse is only found by reading it)."""
    document = json.loads(json.dumps(SWAP))
    change(document)
    path = write_block(tmp_path, document)
    result = invoke("explore", "block-stm", "-w", str(path))
    assert_bad_input(result, str(path), where)
    if in_schema:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(document, SCHEMA)


def test_the_published_schema_accepts_the_examples() -> None:
    """The example block validates against traces/block.schema.json."""
    jsonschema.validate(SWAP, SCHEMA)


def test_explore_finds_a_bug_on_a_block_file_and_the_trace_carries_it(tmp_path: Path) -> None:
    """The trace replays from the file alone: the block file can be gone."""
    path = write_block(tmp_path, SWAP)
    trace = tmp_path / "t.json"
    result = invoke("explore", "block-stm:scan-keys-only", "-w", str(path), "--trace-out",
                    str(trace), "--quiet", "--no-timeline")
    assert result.exit_code == 1, result.output
    assert "serial-equivalence after 66 steps" in flat(result.output)
    document = json.loads(trace.read_text())
    assert document["block"]["store"] == {"acct0": 10, "acct1": 5}
    path.unlink()
    recorded = load_trace(trace)
    assert replay(recorded).verdict == "reproduced"


def test_a_trace_whose_block_was_edited_is_refused(tmp_path: Path) -> None:
    """The embedded block must be the one the config's spec names."""
    path = write_block(tmp_path, SWAP)
    trace = tmp_path / "t.json"
    invoke("explore", "block-stm:scan-keys-only", "-w", str(path), "--trace-out", str(trace),
           "--quiet")
    document = json.loads(trace.read_text())
    document["block"]["store"]["acct0"] = 99
    trace.write_text(json.dumps(document))
    assert_bad_input(invoke("replay", str(trace)), "the block was edited after the run")


def test_the_correct_design_passes_the_block(tmp_path: Path) -> None:
    """Block-STM as published passes every schedule of the block."""
    result = invoke("explore", "block-stm", "-w", str(write_block(tmp_path, SWAP)), "--quiet")
    assert result.exit_code == 0, result.output
    assert "every schedule explored" in result.output


def test_fuzz_runs_a_block_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fuzzing a fixed block file finds the mutant's bug and writes a trace that replays."""
    monkeypatch.chdir(tmp_path)
    path = write_block(tmp_path, SWAP)
    result = invoke("fuzz", "block-stm:scan-keys-only", "-w", str(path), "--seed", "1",
                    "--examples", "300", "--no-database", "--quiet", "--trace-out", "f.json")
    assert result.exit_code == 1, result.output
    assert replay(load_trace(tmp_path / "f.json")).verdict == "reproduced"


def test_ci_runs_a_check_on_a_block_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A suite check may name a block file as its workload."""
    monkeypatch.chdir(tmp_path)
    write_block(tmp_path, SWAP)
    (tmp_path / "shardcheck.toml").write_text('''
[checks.my-block]
design = "block-stm"
workload = "swap.json"
expect = "pass"

[checks.my-block-mutant]
design = "block-stm:scan-keys-only"
workload = "swap.json"
expect = "violation"
property = "serial-equivalence"
''')
    result = invoke("ci", "--quiet", "--trace-dir", str(tmp_path / "traces-out"))
    assert result.exit_code == 0, result.output


def test_a_block_spec_unknown_in_this_process_says_what_to_do() -> None:
    """`block:NAME#DIGEST` alone cannot be built: the message says to give the file."""
    with pytest.raises(BadInput, match="give the block file itself"):
        load_workload("block:nothing#00000000")


def test_register_block_is_idempotent() -> None:
    """Registering the same document twice gives the same workload."""
    assert register_block(SWAP).spec == register_block(json.loads(json.dumps(SWAP))).spec


def test_a_parallel_search_and_a_parallel_campaign_carry_the_block(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Worker processes cannot read the user's file: the block travels with the job."""
    monkeypatch.chdir(tmp_path)
    path = write_block(tmp_path, SWAP)
    serial = invoke("explore", "block-stm", "-w", str(path), "--no-por", "--no-compact")
    parallel = invoke("explore", "block-stm", "-w", str(path), "--jobs", "2")
    assert serial.exit_code == parallel.exit_code == 0, parallel.output
    count = [line for line in serial.output.splitlines() if "distinct states" in line]
    assert count and count[0] in parallel.output
    fuzzed = invoke("fuzz", "block-stm:scan-keys-only", "-w", str(path), "--seed", "1",
                    "--examples", "300", "--jobs", "2", "--no-database", "--quiet",
                    "--trace-out", "p.json")
    assert fuzzed.exit_code == 1, fuzzed.output
