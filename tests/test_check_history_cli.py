"""``shardcheck check-history``: verdicts and exit codes for the examples, JSON output, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shardcheck.checker.history.files import load_history
from shardcheck.checker.history.serializability import CRITERIA

from .cli_helpers import assert_bad_input, flat, invoke
from .conftest import ROOT

HISTORIES = ROOT / "traces" / "histories"
EXAMPLES = sorted(HISTORIES.glob("*.json"))

SER, VIEW, PRESET, GLOBAL = "serializable", "view-serializable", "preset-order", "global-order"
NA = "not-applicable"

# Per example: each criterion's status, or for a violation the kind of its first anomaly.
EXPECTED: dict[str, dict[str, str]] = {
    "blind-writes-view-only.json": {SER: "G-single", VIEW: "holds", PRESET: NA, GLOBAL: NA},
    "cross-module.json": {SER: "write-skew", VIEW: "write-skew", PRESET: NA,
                          GLOBAL: "cross-module"},
    "g-single-read-skew.json": {SER: "G-single", VIEW: "G-single", PRESET: NA, GLOBAL: NA},
    "g0-write-cycle.json": {SER: "G0", VIEW: "G0", PRESET: NA, GLOBAL: NA},
    "g1a-aborted-read.json": {SER: "G1a", VIEW: "G1a", PRESET: NA, GLOBAL: NA},
    "g1b-intermediate-read.json": {SER: "G1b", VIEW: "G1b", PRESET: NA, GLOBAL: NA},
    "g1c-circular-flow.json": {SER: "G1c", VIEW: "G1c", PRESET: NA, GLOBAL: NA},
    "g2-anti-dependency-cycle.json": {SER: "G2", VIEW: "G2", PRESET: NA, GLOBAL: NA},
    "lost-update.json": {SER: "lost-update", VIEW: "lost-update", PRESET: "violated",
                         GLOBAL: NA},
    "preset-stale-read.json": {SER: "holds", VIEW: "holds", PRESET: "violated", GLOBAL: NA},
    "serializable.json": {SER: "holds", VIEW: "holds", PRESET: "holds", GLOBAL: NA},
    "write-skew.json": {SER: "write-skew", VIEW: "write-skew", PRESET: NA, GLOBAL: NA},
}
STATUSES = ("holds", "violated", "inconclusive", NA)


def _json_report(*args: str) -> tuple[int, dict[str, Any]]:
    result = invoke("check-history", *args, "--format", "json")
    assert result.stderr == "", result.stderr
    return result.exit_code, json.loads(result.stdout)


def _status(expected: str) -> str:
    return expected if expected in STATUSES else "violated"


def test_every_example_has_an_expectation() -> None:
    """The table below covers exactly the example files, so a new one cannot go untested."""
    assert sorted(p.name for p in EXAMPLES) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_exit_code(name: str) -> None:
    """Each example exits 1 when any criterion is violated, else 0 (text output)."""
    result = invoke("check-history", str(HISTORIES / name))
    violated = any(_status(e) == "violated" for e in EXPECTED[name].values())
    assert result.exit_code == (1 if violated else 0), result.output
    assert flat(result.stdout).endswith("violated" if violated else "holds")


@pytest.mark.parametrize(("name", "criteria"), [
    ("serializable.json", (SER, VIEW, PRESET)),
    ("blind-writes-view-only.json", (VIEW,)),
    ("preset-stale-read.json", (SER, VIEW)),
])
def test_criteria_that_hold_exit_zero(name: str, criteria: tuple[str, ...]) -> None:
    """Asking only for criteria that hold exits 0, even where another criterion fails."""
    args = [a for c in criteria for a in ("-c", c)]
    code, report = _json_report(str(HISTORIES / name), *args)
    assert code == 0
    assert [v["criterion"] for v in report["verdicts"]] == list(criteria)
    assert {v["status"] for v in report["verdicts"]} == {"holds"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_json_report(name: str) -> None:
    """--format json: one verdict per criterion in order, witnesses listed, cycles that close."""
    path = HISTORIES / name
    code, report = _json_report(str(path))
    history = load_history(path)
    committed = sorted(t.id for t in history.committed())
    assert report["file"] == str(path)
    assert (report["transactions"], report["committed"], report["keys"]) == (
        len(history.transactions), len(committed), len(history.keys()))
    # Without times or processes the default is the four classic criteria.
    assert [v["criterion"] for v in report["verdicts"]] == [SER, VIEW, PRESET, GLOBAL]
    for verdict in report["verdicts"]:
        expected = EXPECTED[name][verdict["criterion"]]
        assert verdict["status"] == _status(expected), verdict
        assert isinstance(verdict["summary"], str) and verdict["summary"]
        if verdict["status"] == "holds":
            assert isinstance(verdict["witness"], list)
            assert sorted(verdict["witness"]) == committed
        else:
            assert "witness" not in verdict
        if expected not in STATUSES:
            assert verdict["anomalies"][0]["kind"] == expected
        if verdict["status"] != "violated":
            assert verdict["anomalies"] == []
        for anomaly in verdict["anomalies"]:
            assert set(anomaly["transactions"]) <= {t.id for t in history.transactions}
            cycle = anomaly["cycle"]
            for edge, after in zip(cycle, cycle[1:] + cycle[:1], strict=True):
                assert edge["to"] == after["from"], cycle
                assert edge["kind"] in ("ww", "wr", "rw")
    statuses = {_status(e) for e in EXPECTED[name].values()}
    worst = "violated" if "violated" in statuses else "holds"
    assert report["status"] == worst
    assert code == (1 if worst == "violated" else 0)


def test_preset_order_witness_is_the_preset() -> None:
    """When the preset order holds, its witness is the preset as recorded."""
    _, report = _json_report(str(HISTORIES / "serializable.json"), "-c", PRESET)
    assert report["verdicts"][0]["witness"] == ["T0", "T1", "T2"]


def test_blind_writes_view_witness_reproduces_the_final_write() -> None:
    """The view-serializability witness for blind writes puts T3, the final writer, last."""
    _, report = _json_report(str(HISTORIES / "blind-writes-view-only.json"), "-c", VIEW)
    witness = report["verdicts"][0]["witness"]
    assert witness[-1] == "T3" and witness.index("T1") < witness.index("T2")


def test_text_report_spells_out_the_cycle() -> None:
    """The text report names each edge of the write-skew cycle, transaction by transaction."""
    result = invoke("check-history", str(HISTORIES / "write-skew.json"), "-c", SER)
    assert result.exit_code == 1
    out = result.stdout
    assert "T2 -rw(x)-> T1" in out and "T1 -rw(y)-> T2" in out
    assert "write-skew" in out


def test_text_report_shows_the_witness_order() -> None:
    """The text report of a serializable history prints the witness order."""
    result = invoke("check-history", str(HISTORIES / "serializable.json"))
    assert result.exit_code == 0
    assert "witness order: T0 T1 T2" in result.stdout


@pytest.mark.parametrize(("name", "criterion"), [
    ("write-skew.json", PRESET),
    ("serializable.json", GLOBAL),
])
def test_requested_inapplicable_criterion_exits_three(name: str, criterion: str) -> None:
    """-c for a criterion the history lacks the facts for is undecided: exit 3."""
    code, report = _json_report(str(HISTORIES / name), "-c", criterion)
    assert code == 3
    assert [v["status"] for v in report["verdicts"]] == [NA]


def test_violation_outranks_an_inapplicable_request() -> None:
    """A violated criterion exits 1 even when another asked-for one is not applicable."""
    code, _ = _json_report(str(HISTORIES / "write-skew.json"), "-c", PRESET, "-c", SER)
    assert code == 1


def test_repeated_and_ordered_criteria() -> None:
    """Verdicts come in the order the criteria were asked for."""
    _, report = _json_report(str(HISTORIES / "lost-update.json"), "-c", PRESET, "-c", VIEW)
    assert [v["criterion"] for v in report["verdicts"]] == [PRESET, VIEW]


# ---------------------------------------------------------------- bad input

_GOOD: dict[str, Any] = {
    "format": "shardcheck-history", "version": 1, "initial": {"x": 0},
    "transactions": [
        {"id": "T1", "ops": [{"op": "write", "key": "x", "value": 1}]},
        {"id": "T2", "ops": [{"op": "read", "key": "x", "value": 1, "from": "T1"}]},
    ],
}


def _with_op(op: dict[str, Any]) -> str:
    doc = json.loads(json.dumps(_GOOD))
    doc["transactions"][1]["ops"][0] = op
    return json.dumps(doc, indent=1)


BAD_FILES = [
    pytest.param("h.json", _with_op({"op": "read", "key": "x", "value": 1.5}),
                 ("transactions[1].ops[0].value",), id="float-value"),
    pytest.param("h.json", _with_op({"op": "read", "key": "x", "value": 1, "from": "T9"}),
                 ("transactions[1].ops[0].from", "'T9'"), id="unknown-writer"),
    pytest.param("h.json", _with_op({"op": "scan", "key": "x"}),
                 ("transactions[1].ops[0].op",), id="bad-op-kind"),
    pytest.param("h.json", '{"format": "shardcheck-history",\n "version": 1\n "x": 2}',
                 ("not JSON", "line 3, column 2"), id="bad-json"),
    pytest.param("h.json", json.dumps({**_GOOD, "version": 2}), ("version", "2"),
                 id="wrong-version"),
    pytest.param("h.jsonl", json.dumps(_GOOD["transactions"][0]) + "\n",
                 ("line 1", "'format'"), id="jsonl-no-header"),
    pytest.param("h.jsonl", json.dumps(_GOOD) + "\n", ("line 1", '"transactions"'),
                 id="jsonl-header-with-transactions"),
]


@pytest.mark.parametrize(("filename", "text", "fragments"), BAD_FILES)
def test_malformed_file_exits_two_with_one_line(tmp_path: Path, filename: str, text: str,
                                                fragments: tuple[str, ...]) -> None:
    """A malformed file: exit 2, one error line naming file and place, nothing else, file kept."""
    path = tmp_path / filename
    path.write_text(text, encoding="utf-8")
    before = path.read_bytes()
    for fmt in ("text", "json"):
        result = invoke("check-history", str(path), "--format", fmt)
        assert_bad_input(result, str(path), *fragments)
        assert result.stdout == ""
        assert "Traceback" not in result.stderr
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [filename]


@pytest.mark.parametrize("header", [
    pytest.param({"preset": ["T1", "T9"]}, id="preset-unknown-tx"),
    pytest.param({"preset": ["T1"]}, id="preset-missing-committed-tx"),
    pytest.param({"versions": {"x": ["T2"]}}, id="versions-not-the-writers"),
])
def test_inconsistent_references_exit_two(tmp_path: Path, header: dict[str, Any]) -> None:
    """Preset and versions that do not match the transactions are bad input (exit 2)."""
    path = tmp_path / "h.json"
    path.write_text(json.dumps({**_GOOD, **header}), encoding="utf-8")
    result = invoke("check-history", str(path))
    line = assert_bad_input(result)
    assert "preset" in line or "versions" in line
    assert result.stdout == ""


@pytest.mark.parametrize("header", [
    pytest.param({"preset": ["T1", "T9"]}, id="preset-unknown-tx"),
    pytest.param({"versions": {"x": ["T2"]}}, id="versions-not-the-writers"),
])
def test_reference_errors_name_the_file(tmp_path: Path, header: dict[str, Any]) -> None:
    """Every bad-input message about a history file names that file, as loader errors do."""
    path = tmp_path / "h.json"
    path.write_text(json.dumps({**_GOOD, **header}), encoding="utf-8")
    assert_bad_input(invoke("check-history", str(path)), str(path))


def test_missing_file_exits_two(tmp_path: Path) -> None:
    """A file that does not exist: exit 2, one line naming it."""
    path = tmp_path / "absent.json"
    assert_bad_input(invoke("check-history", str(path)), str(path), "no such file")
    assert not path.exists()


def test_directory_is_rejected(tmp_path: Path) -> None:
    """A directory in place of FILE is a usage error (exit 2), not a crash."""
    result = invoke("check-history", str(tmp_path))
    assert result.exit_code == 2
    assert "directory" in result.stderr


@pytest.mark.parametrize("args", [
    pytest.param(("-c", "linearizable"), id="unknown-criterion"),
    pytest.param(("--format", "yaml"), id="unknown-format"),
    pytest.param(("--solver-timeout", "0"), id="zero-timeout"),
])
def test_bad_options_exit_two(args: tuple[str, ...]) -> None:
    """Bad option values are usage errors: exit 2, nothing on stdout."""
    result = invoke("check-history", str(HISTORIES / "serializable.json"), *args)
    assert result.exit_code == 2
    assert result.stdout == ""


# ---------------------------------------------------------------- help and determinism


def test_help_lists_criteria_and_exit_codes() -> None:
    """--help names every criterion with its meaning and explains exit codes 0 to 3."""
    result = invoke("check-history", "--help")
    assert result.exit_code == 0
    text = flat(result.stdout)
    for name, meaning in CRITERIA.items():
        assert f"{name} {flat(meaning)}" in text
    codes = text.split("Exit codes:", 1)[1]
    for code, word in (("0", "holds"), ("1", "violated"), ("2", "bad"), ("3", "undecided")):
        assert f"{code} " in codes and word in codes
    assert codes.index("0 ") < codes.index("1 ") < codes.index("2 ") < codes.index("3 ")
    assert "docs/histories.md" in text


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_json_output_is_deterministic_in_process(name: str) -> None:
    """Two runs on the same file print byte-identical JSON."""
    runs = [invoke("check-history", str(HISTORIES / name), "--format", "json").stdout_bytes
            for _ in range(2)]
    assert runs[0] == runs[1]


def test_json_output_is_identical_across_hash_seeds(tmp_path: Path) -> None:
    """Two interpreters with different PYTHONHASHSEED print the same JSON for every example."""
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from shardcheck.checker.cli.main import main\n"
        "for path in sys.argv[1:]:\n"
        "    r = CliRunner().invoke(main, ['check-history', path, '--format', 'json'])\n"
        "    sys.stdout.write(f'{r.exit_code}\\n{r.stdout}')\n"
    )
    outputs = []
    for seed in ("0", "31337"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run([sys.executable, "-c", code, *map(str, EXAMPLES)], env=env,
                             capture_output=True, check=True, cwd=tmp_path)
        outputs.append(run.stdout)
    assert outputs[0] == outputs[1]
    assert outputs[0].count(b'"verdicts"') == len(EXAMPLES)
