"""This repository's own suite (shardcheck.toml) passes, and changing it is noticed."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from shardcheck.checker.ci.suite import load_suite

from .cli_helpers import flat, invoke
from .conftest import ROOT

SUITE = ROOT / "shardcheck.toml"
TRACES = sorted((ROOT / "traces").rglob("*.trace.json"))


def _copy_of_the_suite(tmp_path: Path) -> Path:
    """The repository's suite in a temporary directory, still pointing at its files."""
    text = SUITE.read_text()
    text = text.replace('corpus = "traces"', f'corpus = "{ROOT / "traces"}"')
    text = text.replace('"tests/designs/', f'"{ROOT}/tests/designs/')
    copy = tmp_path / "shardcheck.toml"
    copy.write_text(text)
    return copy


def test_flipping_one_expectation_of_the_repository_suite_fails_naming_the_check(
        tmp_path: Path) -> None:
    """scan-keys-only expected to pass: exit 1 and a line that names the check."""
    copy = _copy_of_the_suite(tmp_path)
    flipped = copy.read_text().replace(
        'design = "block-stm:scan-keys-only"\nworkload = "audit:txs=2"\nexpect = "violation"\n'
        'property = "serial-equivalence"',
        'design = "block-stm:scan-keys-only"\nworkload = "audit:txs=2"\nexpect = "pass"')
    assert flipped != copy.read_text()
    copy.write_text(flipped)
    result = invoke("ci", "--suite", str(copy), "--only", "block-stm:scan-keys-only",
                    "--only", "serial-counter", "--trace-dir", str(tmp_path / "found"))
    assert result.exit_code == 1, result.output
    text = flat(result.output)
    assert "✗ check block-stm:scan-keys-only: expected pass, got violation" in text
    assert "1 of 2 check(s) did not match: block-stm:scan-keys-only" in text
    assert f"{ROOT}/traces/block-stm/scan-keys-only.trace.json" in text


@pytest.mark.slow
def test_the_repository_suite_passes(tmp_path: Path) -> None:
    """Every check gives its expected verdict; every kept trace reproduces; JUnit counts all."""
    junit = tmp_path / "report.xml"
    result = invoke("ci", "--suite", str(SUITE), "--jobs", "2", "--junit", str(junit),
                    "--trace-dir", str(tmp_path / "found"))
    assert result.exit_code == 0, result.output
    checks = len(load_suite(SUITE).checks)
    xmlschema.XMLSchema(str(ROOT / "tests" / "data" / "junit-10.xsd")).validate(str(junit))
    report = ET.parse(junit).getroot()
    assert report.get("tests") == str(checks + len(TRACES))
    assert len(report.findall(".//testcase")) == checks + len(TRACES)
    assert f"✓ {checks} check(s) and {len(TRACES)} trace(s) matched" in flat(result.output)
