"""--format json: one versioned JSON object on stdout per run, valid against its schema
under traces/, for every verdict a command can give."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from shardcheck import model
from shardcheck.checker.cli.documents import KINDS
from shardcheck.checker.fuzz import FuzzResult, FuzzStats
from shardcheck.checker.prove import solver
from shardcheck.checker.prove.solver import StateAnswer
from shardcheck.checker.trace import load_trace

from .cli_helpers import invoke
from .conftest import ROOT
from .test_ci_run import SMALL_SUITE

TRACES = ROOT / "traces"
SCAN_KEYS_ONLY = TRACES / "block-stm" / "scan-keys-only.trace.json"
REVERT_KEEPS_WRITES = TRACES / "block-stm" / "revert-keeps-writes.trace.json"
GENEROUS = "transfers:txs=2,accounts=2,seed=2,balance=10"
Document = dict[str, Any]


def schema(kind: str) -> Document:
    loaded: Document = json.loads((TRACES / f"{kind}.schema.json").read_text())
    return loaded


def run(kind: str, *args: str) -> Document:
    """Run a command with --format json: stdout is one JSON object and nothing else,
    stderr is empty, and the object is valid against traces/<kind>.schema.json and
    holds the exit code the command ended with."""
    result = invoke(*args, "--format", "json")
    assert result.stderr == "", result.stderr
    document = json.loads(result.stdout)  # fails on anything after the one value
    assert isinstance(document, dict), result.stdout
    jsonschema.Draft202012Validator(schema(kind)).validate(document)
    assert document["format"] == f"shardcheck-{kind}/1"
    assert document["exit_code"] == result.exit_code
    return document


def errors(kind: str, document: Document) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema(kind))
    return [e.message for e in validator.iter_errors(document)]


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty working directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# the schemas


@pytest.mark.parametrize("kind", KINDS)
def test_each_document_kind_has_a_published_schema_that_pins_its_format(kind: str) -> None:
    """traces/<kind>.schema.json is a Draft 2020-12 schema whose format is the kind, v1."""
    published = schema(kind)
    jsonschema.Draft202012Validator.check_schema(published)
    assert published["$id"] == f"https://shardcheck.dev/schemas/{kind}-1.json"
    assert published["properties"]["format"] == {
        "const": f"shardcheck-{kind}/1", "description": published["properties"]["format"][
            "description"]}
    assert published["additionalProperties"] is False
    assert {"format", "tool", "exit_code"} <= set(published["required"])


def test_every_result_schema_under_traces_is_a_kind_we_write() -> None:
    """No schema is published for a document no command writes (the others describe the
    files commands read: traces, histories and blocks)."""
    published = {p.name.removesuffix(".schema.json") for p in TRACES.glob("*.schema.json")}
    assert published - {"trace", "history", "block"} == set(KINDS)


def test_the_schemas_reject_what_a_command_must_never_write(cwd: Path) -> None:
    """A pass with exit 1, a violation without its trace, an unknown field, a missing
    statistic: each is caught, so validating output is a real check."""
    good = run("explore-result", "explore", "block-stm", "-w", "counter:txs=1,keys=1")
    assert errors("explore-result", good) == []
    for change in (
        lambda d: d.update(exit_code=1),
        lambda d: d.update(verdict="violation"),
        lambda d: d.update(surprise=True),
        lambda d: d["statistics"].pop("states"),
        lambda d: d.update(format="shardcheck-explore-result/2"),
        lambda d: d.update(mode="audit"),
        lambda d: d["settings"].update(time_limit=0),
    ):
        bad = copy.deepcopy(good)
        change(bad)
        assert errors("explore-result", bad), bad


# explore


def test_explore_pass_reports_every_statistic(cwd: Path) -> None:
    """block-stm on two increments: pass, exit 0, 10,784 states, depth 110, complete."""
    doc = run("explore-result", "explore", "block-stm", "-w", "counter:txs=2,keys=1")
    assert (doc["verdict"], doc["exit_code"], doc["mode"]) == ("pass", 0, "search")
    assert doc["design"] == {"spec": "block-stm", "name": "block-stm", "mutant": None,
                             "file": None}
    assert (doc["workload"], doc["workers"]) == ("counter:txs=2,keys=1,modules=1", 2)
    stats = doc["statistics"]
    assert (stats["states"], stats["transitions"], stats["depth"]) == (10_784, 21_265, 110)
    assert (stats["terminal_states"], stats["distinct_outcomes"]) == (18, 1)
    assert stats["complete"] is True
    assert doc["settings"]["strategy"] == "bfs" and doc["settings"]["time_limit"] is None
    assert (doc["violation"], doc["trace"], doc["reason"]) == (None, None, None)


def test_explore_violation_names_the_property_step_and_trace(cwd: Path) -> None:
    """scan-keys-only: serial-equivalence at step 61, and the trace it wrote replays."""
    doc = run("explore-result", "explore", "block-stm:scan-keys-only", "-w", "audit:txs=2",
              "--trace-out", "found.json", "--time-limit", "60")
    assert (doc["verdict"], doc["exit_code"]) == ("violation", 1)
    assert doc["design"]["spec"] == "block-stm:scan-keys-only"
    assert doc["design"]["mutant"] == "scan-keys-only"
    assert doc["violation"]["property"] == "serial-equivalence"
    assert doc["violation"]["step"] == 61
    assert doc["trace"] == "found.json"
    assert doc["replay_command"] == "shardcheck replay found.json"
    assert doc["settings"]["time_limit"] == 60.0
    trace = load_trace(cwd / "found.json")
    assert trace.violation is not None and trace.violation.to_json() == doc["violation"]


def test_explore_cut_short_is_inconclusive_with_its_reason(cwd: Path) -> None:
    """--max-states 100: inconclusive, exit 3, 100 states, not complete, and why."""
    doc = run("explore-result", "explore", "block-stm", "-w", "counter:txs=2,keys=1",
              "--max-states", "100")
    assert (doc["verdict"], doc["exit_code"]) == ("inconclusive", 3)
    assert doc["statistics"]["states"] == 100
    assert doc["statistics"]["complete"] is False
    assert doc["reason"] == "state bound of 100 reached"


def test_explore_every_input_reports_each_class_and_the_store_that_breaks(cwd: Path) -> None:
    """revert-keeps-writes: 3 classes; the second searched (acct0=3) violates."""
    doc = run("explore-result", "explore", "block-stm:revert-keeps-writes", "-w", GENEROUS,
              "--every-input", "--trace-out", "found.json")
    assert (doc["verdict"], doc["exit_code"], doc["mode"]) == ("violation", 1, "every-input")
    classes = doc["input_classes"]
    assert classes["classes"] == 3
    assert [(c["store"], c["verdict"]) for c in classes["searched"]] == [
        ({"acct0": 1, "acct1": 10}, "pass"), ({"acct0": 3, "acct1": 10}, "violation")]
    assert doc["workload"].endswith("@acct0=3")
    assert doc["statistics"]["states"] == classes["searched"][-1]["states"]
    assert classes["states"] == sum(c["states"] for c in classes["searched"])
    assert load_trace(cwd / "found.json").workload == doc["workload"]


def test_explore_every_input_that_z3_cannot_finish_is_inconclusive(cwd: Path) -> None:
    """--max-classes 2 on a block with 3 classes: a verdict with its reason, exit 3."""
    doc = run("explore-result", "explore", "block-stm:revert-keeps-writes", "-w", GENEROUS,
              "--every-input", "--max-classes", "2")
    assert (doc["verdict"], doc["exit_code"]) == ("inconclusive", 3)
    assert "more than 2 classes" in doc["reason"]
    assert doc["statistics"] is None


def test_explore_audit_reports_each_reduction_against_none(cwd: Path) -> None:
    """--audit on block-stm: every reduction agrees; the reference has no reduction."""
    doc = run("explore-result", "explore", "block-stm", "-w", "counter:txs=2,keys=1",
              "--audit")
    assert (doc["verdict"], doc["exit_code"], doc["mode"]) == ("agree", 0, "audit")
    audit = doc["audit"]
    assert audit["reference"]["reduction"] == "none"
    assert audit["reference"]["agrees"] is None
    assert audit["reductions"] and all(r["agrees"] for r in audit["reductions"])
    assert {r["verdict"] for r in audit["reductions"]} == {"pass"}


def test_explore_in_processes_reports_the_settings_it_ran_with(cwd: Path) -> None:
    """--jobs 2: the document says so, and says the search ran without sleep sets and off
    Block-STM's compact path (its packing is not portable), as the serial run it equals."""
    args = ("explore", "block-stm", "-w", "counter:txs=1,keys=1")
    parallel = run("explore-result", *args, "--jobs", "2")
    serial = run("explore-result", *args, "--no-por", "--no-compact")
    assert (parallel["settings"]["jobs"], parallel["settings"]["por"],
            parallel["settings"]["compact"]) == (2, False, False)
    assert parallel["verdict"] == serial["verdict"] == "pass"
    assert parallel["statistics"]["states"] == serial["statistics"]["states"]


# fuzz


def test_fuzz_pass_reports_its_runs(cwd: Path) -> None:
    """Five runs of a correct design: pass, exit 0, no counterexample."""
    doc = run("fuzz-result", "fuzz", "block-stm", "-s", "counter:txs=1-2", "-n", "5",
              "--no-database")
    assert (doc["verdict"], doc["exit_code"]) == ("pass", 0)
    assert doc["statistics"]["runs"] == 5
    assert doc["workloads"] == {"strategy": "counter:txs=1-2"}
    assert doc["settings"]["examples"] == 5 and doc["settings"]["database"] is None
    assert (doc["violation"], doc["counterexample"], doc["trace"]) == (None, None, None)


def test_fuzz_violation_reports_the_shrunk_counterexample_and_its_trace(cwd: Path) -> None:
    """scan-keys-only fuzzed: a violation, a shrunk counterexample and a trace that loads."""
    doc = run("fuzz-result", "fuzz", "block-stm:scan-keys-only", "-s", "audit:txs=2-3",
              "-k", "2", "--no-database", "--trace-out", "f.json")
    assert (doc["verdict"], doc["exit_code"]) == ("violation", 1)
    assert doc["violation"]["property"] == "serial-equivalence"
    assert doc["counterexample"]["shrunk"] is True
    trace = load_trace(cwd / "f.json")
    assert doc["counterexample"]["steps"] == len(trace.steps)
    assert doc["counterexample"]["workload"] == trace.workload
    assert doc["trace"] == "f.json"


@pytest.mark.parametrize("verdict, code", [("inconclusive", 3), ("interrupted", 130)])
def test_fuzz_inconclusive_and_interrupted_campaigns_are_documents_too(
        verdict: str, code: int, cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A campaign that could not decide (or was stopped) is a document with its code."""
    stats = FuzzStats(runs=3, failing_runs=0, seconds=0.5, first_failure_run=None,
                      first_failure_seconds=None, retried=0)
    ended = FuzzResult(verdict=verdict, stats=stats,  # type: ignore[arg-type]
                       reason=f"{verdict} after 3 runs")
    monkeypatch.setattr("shardcheck.checker.cli.fuzz.fuzz", lambda *_a, **_k: ended)
    doc = run("fuzz-result", "fuzz", "block-stm", "--no-database")
    assert (doc["verdict"], doc["exit_code"]) == (verdict, code)
    assert doc["reason"] == f"{verdict} after 3 runs"
    assert doc["statistics"]["runs"] == 3


# replay


def test_replay_reproduced_violation(cwd: Path) -> None:
    """The kept scan-keys-only trace: reproduced, exit 1, the violation at step 61."""
    doc = run("replay-result", "replay", str(SCAN_KEYS_ONLY))
    assert (doc["verdict"], doc["exit_code"]) == ("reproduced", 1)
    assert doc["recorded"]["steps"] == doc["replayed_steps"] == 61
    assert doc["violation"] == doc["recorded"]["violation"]
    assert doc["violation"]["step"] == 61
    assert doc["diverged_at"] is None


def test_replay_diverged_names_the_step_and_exits_4(cwd: Path) -> None:
    """A fingerprint edited at step 5: diverged at step 5, exit 4."""
    edited = json.loads(SCAN_KEYS_ONLY.read_text())
    edited["steps"][4]["fingerprint"] = "0" * len(edited["steps"][4]["fingerprint"])
    (cwd / "edited.trace.json").write_text(json.dumps(edited))
    doc = run("replay-result", "replay", "edited.trace.json")
    assert (doc["verdict"], doc["exit_code"], doc["diverged_at"]) == ("diverged", 4, 5)
    assert doc["message"].startswith("step 5: ")


def test_replay_passes_now_when_the_violation_no_longer_happens(cwd: Path) -> None:
    """The trace cut to 40 steps, recording its violation at the last one, which no
    longer happens there: passes now, exit 0."""
    cut = json.loads(SCAN_KEYS_ONLY.read_text())
    cut["steps"] = cut["steps"][:40]
    cut["violation"]["step"] = 40
    (cwd / "cut.trace.json").write_text(json.dumps(cut))
    doc = run("replay-result", "replay", "cut.trace.json", "--html", "cut.html")
    assert (doc["verdict"], doc["exit_code"]) == ("passes-now", 0)
    assert doc["violation"] is None and doc["recorded"]["violation"]["step"] == 40
    assert doc["replayed_steps"] == 40
    assert doc["html"] == "cut.html" and (cwd / "cut.html").is_file()


# ci


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    """test_ci_run's small suite: serial, scan-keys-only and a user design's lost update;
    two corpus traces (exists-unrecorded, scan-keys-only)."""
    (tmp_path / "kept").mkdir()
    for name in ("scan-keys-only", "exists-unrecorded"):
        shutil.copy(TRACES / "block-stm" / f"{name}.trace.json", tmp_path / "kept")
    path = tmp_path / "shardcheck.toml"
    path.write_text(SMALL_SUITE)
    return path


def ci(path: Path, *args: str) -> Document:
    return run("ci-result", "ci", "--suite", str(path), "--trace-dir",
               str(path.parent / "found"), *args)


def test_ci_pass_lists_each_check_and_trace_with_expected_and_actual(suite: Path) -> None:
    """Everything matches: pass, exit 0; the counterexample is the corpus copy."""
    doc = ci(suite, "--junit", str(suite.parent / "report.xml"))
    assert (doc["verdict"], doc["exit_code"]) == ("pass", 0)
    assert doc["junit"] == str(suite.parent / "report.xml")
    serial, bug, occ = doc["checks"]
    assert (serial["name"], serial["expected"], serial["actual"]["verdict"],
            serial["result"]) == ("serial", {"verdict": "pass", "property": None}, "pass",
                                  "pass")
    assert bug["expected"] == {"verdict": "violation", "property": "serial-equivalence"}
    assert bug["actual"]["violation"]["step"] == 61
    assert (bug["status"], bug["result"]) == ("ok", "pass")
    assert (bug["trace"], bug["in_corpus"]) == ("kept/scan-keys-only.trace.json", True)
    assert occ["actual"]["violation"]["step"] == 8
    assert (occ["trace"], occ["in_corpus"]) == (
        str(suite.parent / "found" / "naive-occ.trace.json"), False)
    assert [(t["path"], t["expected"], t["actual"], t["result"]) for t in doc["traces"]] == [
        ("kept/exists-unrecorded.trace.json", "reproduced", "reproduced", "pass"),
        ("kept/scan-keys-only.trace.json", "reproduced", "reproduced", "pass")]
    assert doc["traces"][1]["steps"] == 61


def test_ci_fail_shows_the_mismatched_check_and_the_diverged_trace(suite: Path) -> None:
    """A mutant expected to pass and an edited corpus trace: fail, exit 1, both named."""
    suite.write_text(SMALL_SUITE.replace(
        'expect = "violation"\nproperty = "serial-equivalence"\n\n[checks.naive-occ]',
        'expect = "pass"\n\n[checks.naive-occ]'))
    kept = suite.parent / "kept" / "scan-keys-only.trace.json"
    edited = json.loads(kept.read_text())
    edited["steps"][4]["fingerprint"] = "0" * len(edited["steps"][4]["fingerprint"])
    kept.write_text(json.dumps(edited))
    doc = ci(suite)
    assert (doc["verdict"], doc["exit_code"]) == ("fail", 1)
    bug = doc["checks"][1]
    assert (bug["expected"]["verdict"], bug["actual"]["verdict"]) == ("pass", "violation")
    assert (bug["status"], bug["result"]) == ("mismatch", "fail")
    assert bug["trace"] == str(suite.parent / "found" / "scan-keys-only.trace.json")
    unchanged, trace = doc["traces"]
    assert unchanged["result"] == "pass"
    assert (trace["actual"], trace["status"], trace["result"]) == ("diverged", "mismatch",
                                                                   "fail")


@pytest.mark.parametrize("allow, verdict, code, result", [
    (False, "inconclusive", 3, "fail"), (True, "pass", 0, "skipped")])
def test_ci_inconclusive_check_fails_unless_allowed(tmp_path: Path, allow: bool, verdict: str,
                                                    code: int, result: str) -> None:
    """A budget that runs out: inconclusive (exit 3), or skipped when allowed (exit 0)."""
    path = tmp_path / "shardcheck.toml"
    path.write_text('[checks.cut]\ndesign = "block-stm"\nworkload = "counter:txs=2,keys=1"\n'
                    'max_states = 100\nexpect = "pass"\n'
                    f'allow_inconclusive = {str(allow).lower()}\n')
    doc = ci(path)
    assert (doc["verdict"], doc["exit_code"]) == (verdict, code)
    (check,) = doc["checks"]
    assert (check["actual"]["verdict"], check["result"]) == ("inconclusive", result)
    assert check["budget"]["max_states"] == 100
    assert doc["traces"] == []


# designs, workloads


def test_designs_document_lists_every_design_and_mutant() -> None:
    """Every built-in design; scan-keys-only fails on audit:txs=2 in 61 steps."""
    doc = run("designs", "designs")
    assert [d["name"] for d in doc["designs"]] == list(model.builtin_designs())
    stm = next(d for d in doc["designs"] if d["name"] == "block-stm")
    scan = next(m for m in stm["mutants"] if m["name"] == "scan-keys-only")
    assert scan["fails_on"] == {"workload": "audit:txs=2", "workers": 2,
                                "property": "serial-equivalence", "steps": 61}
    assert "serial-equivalence" in doc["properties"]
    assert doc["criteria"] == list(model.CRITERIA)


def test_designs_json_is_the_same_document_as_format_json() -> None:
    """The hidden --json is short for --format json, and prints no warning."""
    assert "--json" not in invoke("designs", "--help").stdout
    short = invoke("designs", "--json")
    assert short.stderr == ""
    assert json.loads(short.stdout) == run("designs", "designs")


def test_workloads_document_lists_every_generator_and_parameter() -> None:
    """transfers: txs=4 (1..64), accounts=3, ...; every generator in order."""
    doc = run("workloads", "workloads")
    assert [w["name"] for w in doc["workloads"]] == list(model.GENERATORS)
    transfers = doc["workloads"][0]
    assert transfers["usage"] == "transfers:txs=4,accounts=3,amount=2,balance=3,seed=0,modules=1"
    assert transfers["params"][0] == {"name": "txs", "default": 4,
                                      "description": "transactions in the block",
                                      "minimum": 1, "maximum": 64, "choices": []}


# check-history, prove, prove-trace: their documents keep their old fields


@pytest.mark.parametrize("name, verdict, code", [
    ("serializable.json", "holds", 0), ("write-skew.json", "violated", 1)])
def test_check_history_document(name: str, verdict: str, code: int) -> None:
    """The verdict, the exit code and the report's own fields, status included."""
    doc = run("history-result", "check-history", str(TRACES / "histories" / name),
              "--time-limit", "30")
    assert (doc["verdict"], doc["status"], doc["exit_code"]) == (verdict, verdict, code)
    assert doc["time_limit"] == 30.0
    assert doc["file"].endswith(name)


def test_prove_documents_for_proved_refuted_and_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    """quorum of 4 equal stakes: proved (0); commuting withdrawals: refuted (1); z3 gives
    up: unknown (3)."""
    proved = run("prove-result", "prove", "quorum", "--stakes", "1,1,1,1")
    assert (proved["verdict"], proved["exit_code"], proved["claim"]) == ("proved", 0, "quorum")
    refuted = run("prove-result", "prove", "commute", "-w", "transfers:txs=3")
    assert (refuted["verdict"], refuted["exit_code"]) == ("refuted", 1)
    assert len(refuted["results"]) == 3
    monkeypatch.setattr(solver, "refute_invariant",
                        lambda *_args: StateAnswer("unknown", reason="timeout"))
    unknown = run("prove-result", "prove", "invariant", "-w", "transfers:txs=1",
                  "--conserves", "acct")
    assert (unknown["verdict"], unknown["exit_code"]) == ("unknown", 3)
    assert unknown["results"][0]["reason"] == "timeout"


def test_prove_trace_documents_for_refuted_and_inconclusive(cwd: Path) -> None:
    """revert-keeps-writes' schedule: refuted on acct0=3 with a trace; one class allowed:
    inconclusive with the reason."""
    refuted = run("prove-trace-result", "prove-trace", str(REVERT_KEEPS_WRITES),
                  "--trace-out", "p.json")
    assert (refuted["verdict"], refuted["exit_code"]) == ("refuted", 1)
    assert refuted["trace"] == "p.json" and (cwd / "p.json").is_file()
    assert refuted["violation"]["property"] == "serial-equivalence"
    assert len(refuted["classes"]) >= 2
    cut = run("prove-trace-result", "prove-trace", str(REVERT_KEEPS_WRITES),
              "--max-classes", "1")
    assert (cut["verdict"], cut["exit_code"]) == ("inconclusive", 3)
    assert "more than 1 class" in cut["reason"]
