"""`shardcheck ci`: verdicts against expectations, the corpus, JUnit, counterexamples."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from .cli_helpers import flat, invoke
from .conftest import ROOT, USER_DESIGN

JUNIT_XSD = ROOT / "tests" / "data" / "junit-10.xsd"
CORPUS = ROOT / "traces" / "block-stm"

SMALL_SUITE = f"""
corpus = "kept"

[checks.serial]
design = "serial"
workload = "counter:txs=2,keys=1"
expect = "pass"

[checks.scan-keys-only]
design = "block-stm:scan-keys-only"
workload = "audit:txs=2"
expect = "violation"
property = "serial-equivalence"

[checks.naive-occ]
design = "{USER_DESIGN}:NaiveOcc"
workload = "counter:txs=2,keys=1"
expect = "violation"
property = "serial-equivalence"
"""


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """A three-check suite with two corpus traces, in a directory of its own."""
    kept = tmp_path / "kept"
    kept.mkdir()
    for name in ("scan-keys-only", "exists-unrecorded"):
        shutil.copy(CORPUS / f"{name}.trace.json", kept)
    suite = tmp_path / "shardcheck.toml"
    suite.write_text(SMALL_SUITE)
    return suite


def run(suite: Path, *args: str) -> tuple[int, str, ET.Element]:
    """Run the suite with a JUnit report (replacing the last run's: --force); return exit
    code, output and the report."""
    junit = suite.parent / "report.xml"
    result = invoke("ci", "--suite", str(suite), "--junit", str(junit), "--force",
                    "--trace-dir", str(suite.parent / "found"), *args)
    xmlschema.XMLSchema(str(JUNIT_XSD)).validate(str(junit))
    return result.exit_code, result.output, ET.parse(junit).getroot()


def test_a_suite_whose_checks_match_passes_and_junit_counts_every_check_and_trace(
        small: Path) -> None:
    """Exit 0; the report validates and has one test case per check and per trace."""
    code, output, report = run(small)
    assert code == 0, output
    assert "✓ 3 check(s) and 2 trace(s) matched their expectations" in flat(output)
    assert report.get("tests") == "5"
    assert (report.get("failures"), report.get("errors")) == ("0", "0")
    checks, corpus = report.findall("testsuite")
    assert [c.get("name") for c in checks.findall("testcase")] == [
        "serial", "scan-keys-only", "naive-occ"]
    assert [c.get("name") for c in corpus.findall("testcase")] == [
        "kept/exists-unrecorded.trace.json", "kept/scan-keys-only.trace.json"]


def test_a_counterexample_in_the_corpus_is_not_written_again_and_a_new_one_is(
        small: Path) -> None:
    """scan-keys-only's trace is the kept one; naive-occ's is new and replays."""
    code, output, _ = run(small)
    assert code == 0, output
    found = small.parent / "found"
    assert sorted(p.name for p in found.iterdir()) == ["naive-occ.trace.json"]
    assert (f"new counterexample of naive-occ written to {found}/naive-occ.trace.json"
            in flat(output))
    replayed = invoke("replay", str(found / "naive-occ.trace.json"), "--design-file",
                      str(USER_DESIGN), "--no-timeline")
    assert replayed.exit_code == 1
    assert "reproduced: violation of serial-equivalence at step 8" in flat(replayed.output)


def test_flipping_one_expectation_fails_with_a_message_naming_the_check(small: Path) -> None:
    """A mutant expected to pass: exit 1, the check named, its trace in the failure."""
    small.write_text(SMALL_SUITE.replace(
        'expect = "violation"\nproperty = "serial-equivalence"\n\n[checks.naive-occ]',
        'expect = "pass"\n\n[checks.naive-occ]'))
    code, output, report = run(small)
    assert code == 1, output
    text = flat(output)
    assert ("✗ check scan-keys-only: expected pass, got violation of serial-equivalence at "
            "step 61") in text
    assert "1 of 3 check(s) did not match: scan-keys-only" in text
    failures = report.findall(".//failure")
    assert len(failures) == 1
    message = failures[0].get("message") or ""
    assert message.startswith("scan-keys-only: expected pass, got violation")
    assert "kept/scan-keys-only.trace.json" in message
    assert report.get("failures") == "1"


def test_expecting_another_property_is_a_mismatch(small: Path) -> None:
    """A violation of another property than the one expected does not count."""
    small.write_text(SMALL_SUITE.replace('property = "serial-equivalence"\n\n[checks.naive-occ]',
                                         'property = "I4-active-count"\n\n[checks.naive-occ]'))
    code, output, _ = run(small)
    assert code == 1
    assert ("expected violation of I4-active-count, got violation of serial-equivalence"
            in flat(output))


def test_a_trace_that_no_longer_reproduces_fails_naming_its_path(small: Path) -> None:
    """A kept trace whose recorded verdict replay no longer gives fails the suite."""
    path = small.parent / "kept" / "exists-unrecorded.trace.json"
    data = json.loads(path.read_text())
    data["violation"]["step"] = 58
    path.write_text(json.dumps(data))
    code, output, report = run(small)
    assert code == 1
    assert "1 of 2 trace(s) did not reproduce: kept/exists-unrecorded.trace.json" in flat(output)
    failure = report.find(".//testcase[@name='kept/exists-unrecorded.trace.json']/failure")
    assert failure is not None


def test_a_budget_that_runs_out_is_inconclusive_and_fails_the_suite(tmp_path: Path) -> None:
    """Exit 3, reported as inconclusive: never a pass."""
    suite = tmp_path / "shardcheck.toml"
    suite.write_text('[checks.cut]\ndesign = "block-stm"\nworkload = "counter:txs=2,keys=1"\n'
                     'max_states = 100\nexpect = "pass"\n')
    code, output, report = run(suite)
    assert code == 3, output
    text = flat(output)
    assert "? check cut: inconclusive: state bound of 100 reached" in text
    assert "not a pass" in text
    failure = report.find(".//failure")
    assert failure is not None and failure.get("type") == "inconclusive"


def test_a_check_may_allow_inconclusive_and_is_skipped_in_junit(tmp_path: Path) -> None:
    """allow_inconclusive = true: exit 0, said so, and skipped rather than passed."""
    suite = tmp_path / "shardcheck.toml"
    suite.write_text('[checks.cut]\ndesign = "block-stm"\nworkload = "counter:txs=2,keys=1"\n'
                     'max_states = 100\nexpect = "pass"\nallow_inconclusive = true\n')
    code, output, report = run(suite)
    assert code == 0, output
    assert "1 inconclusive but allowed to be: cut" in flat(output)
    assert report.find(".//skipped") is not None


def test_fuzz_checks_catch_a_mutant_and_pass_the_design(tmp_path: Path) -> None:
    """strategy = "fuzz" runs a seeded campaign with its examples budget."""
    suite = tmp_path / "shardcheck.toml"
    suite.write_text(
        '[checks.fuzz-ok]\ndesign = "block-stm"\nstrategy = "fuzz"\n'
        'workload = "counter:txs=3,keys=1"\nexamples = 5\nexpect = "pass"\n\n'
        '[checks.fuzz-bug]\ndesign = "block-stm:read-own-entries"\nstrategy = "fuzz"\n'
        'workload_strategy = "counter:txs=4-6"\nworkers = 3\nexamples = 50\n'
        'expect = "violation"\nproperty = "serial-equivalence"\n')
    code, output, _ = run(suite)
    assert code == 0, output
    assert (tmp_path / "found" / "fuzz-bug.trace.json").is_file()


def _without_times(report: Path) -> str:
    return re.sub(r' time="[0-9.]+"', "", report.read_text())


def test_the_same_suite_gives_the_same_report_and_in_parallel_too(small: Path) -> None:
    """JUnit content is identical across runs and across --jobs, durations aside."""
    junit = small.parent / "report.xml"
    reports = []
    for jobs in ("1", "1", "2"):
        result = invoke("ci", "--suite", str(small), "--junit", str(junit), "--jobs", jobs,
                        "--trace-dir", str(small.parent / "found"), "--force")
        assert result.exit_code == 0, result.output
        reports.append(_without_times(junit))
    assert reports[0] == reports[1] == reports[2]


def test_a_trace_of_a_design_file_no_check_names_is_not_run(small: Path) -> None:
    """Opening a trace never runs code the user did not point at: the suite must name it."""
    code, _, _ = run(small)
    assert code == 0
    shutil.copy(small.parent / "found" / "naive-occ.trace.json", small.parent / "kept")
    small.write_text(SMALL_SUITE.split("[checks.naive-occ]")[0])
    code, output, _ = run(small)
    assert code == 1
    assert "which no check in the suite names" in flat(output)


def test_the_trace_dir_must_not_be_a_file(small: Path) -> None:
    """--trace-dir naming a file is bad input, before anything runs."""
    (small.parent / "file").write_text("")
    result = invoke("ci", "--suite", str(small), "--trace-dir", str(small.parent / "file"))
    assert result.exit_code == 2
    assert "is a file" in result.stderr
