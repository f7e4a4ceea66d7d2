"""One CLI vocabulary: --time-limit, -q/--quiet, --force and the exit codes mean the same on
every command; help and piped output are whole and as wide as COLUMNS says."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest

from shardcheck.checker.cli.main import main
from shardcheck.checker.errors import (
    EXIT_BAD_INPUT,
    EXIT_CODES,
    EXIT_DIVERGED,
    EXIT_INCONCLUSIVE,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_VIOLATION,
)
from shardcheck.checker.trace import load_trace

from .cli_helpers import assert_bad_input, flat, invoke
from .conftest import ROOT

HISTORY = str(ROOT / "traces" / "histories" / "serializable.json")
SCAN_KEYS_ONLY = ROOT / "traces" / "block-stm" / "scan-keys-only.trace.json"
EVERY_INPUT_TRACE = str(ROOT / "traces" / "block-stm" / "revert-keeps-writes.trace.json")
FOUND = "✗ violation of serial-equivalence after 61 steps"

# Every command that takes a time budget, as a user would start it (before the budget).
BUDGETED = {
    "explore": ("explore", "block-stm", "-w", "counter:txs=1,keys=1"),
    "fuzz": ("fuzz", "block-stm", "-s", "counter:txs=1-2", "-n", "5", "--no-database"),
    "prove invariant": ("prove", "invariant", "-w", "transfers:txs=1", "--conserves", "acct"),
    "prove commute": ("prove", "commute", "-w", "transfers:txs=2"),
    "prove quorum": ("prove", "quorum", "--stakes", "1,1,1,1"),
    "prove-trace": ("prove-trace", EVERY_INPUT_TRACE),
    "check-history": ("check-history", HISTORY),
}
# The old spelling of each renamed budget, and a command that takes it.
OLD_SPELLINGS = [
    ("--timeout", BUDGETED["prove quorum"]),
    ("--timeout", BUDGETED["prove commute"]),
    ("--timeout", BUDGETED["prove invariant"]),
    ("--timeout", BUDGETED["prove-trace"]),
    ("--solver-timeout", BUDGETED["check-history"]),
]


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty working directory, and output 1,000 columns wide: no line wraps."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "1000")
    return tmp_path


def lines(text: str) -> list[str]:
    """The lines of ``text``, the last one included (empty after a final newline)."""
    return text.split("\n")


# --time-limit: one name, finite, positive


@pytest.mark.parametrize("name", list(BUDGETED))
def test_every_budgeted_command_documents_time_limit_and_no_other_name(name: str) -> None:
    """Each command with a budget shows --time-limit SECONDS and hides the old names."""
    result = invoke(*BUDGETED[name][:2 if name.startswith("prove ") else 1], "--help")
    assert result.exit_code == 0, result.output
    assert "--time-limit SECONDS" in result.stdout
    assert "--timeout" not in result.stdout
    assert "--solver-timeout" not in result.stdout


@pytest.mark.parametrize("value, complaint", [
    ("nan", "must be positive and finite (a number of seconds), got nan"),
    ("inf", "must be positive and finite (a number of seconds), got inf"),
    ("-inf", "must be positive and finite (a number of seconds), got -inf"),
    ("1e999", "must be positive and finite (a number of seconds), got inf"),
    ("0", "must be positive and finite (a number of seconds), got 0.0"),
    ("-2.5", "must be positive and finite (a number of seconds), got -2.5"),
    ("soon", "must be a number of seconds, got 'soon'"),
])
@pytest.mark.parametrize("name", list(BUDGETED))
def test_a_time_limit_that_is_not_a_finite_positive_number_is_one_line_and_exit_2(
        name: str, value: str, complaint: str, cwd: Path) -> None:
    """nan, inf, zero, negatives and words are refused before anything runs."""
    result = invoke(*BUDGETED[name], "--time-limit", value)
    assert_bad_input(result, f"--time-limit {complaint}")
    assert result.stdout == ""
    assert list(cwd.iterdir()) == []


@pytest.mark.parametrize("old, command", OLD_SPELLINGS)
def test_an_old_spelling_still_sets_the_time_limit_and_says_once_to_use_time_limit(
        old: str, command: tuple[str, ...], cwd: Path) -> None:
    """--timeout and --solver-timeout work as hidden aliases: the value reaches the run
    (the JSON document shows it) and stderr has exactly one line naming --time-limit."""
    result = invoke(*command, old, "7.5", "--format", "json")
    assert result.exit_code in (EXIT_OK, EXIT_VIOLATION), result.output
    assert json.loads(result.stdout)["time_limit"] == 7.5
    assert result.stderr == f"shardcheck: warning: {old} is deprecated; use --time-limit\n"


@pytest.mark.parametrize("old, command", OLD_SPELLINGS)
def test_an_old_spelling_is_checked_like_the_new_one(old: str, command: tuple[str, ...],
                                                     cwd: Path) -> None:
    """The alias rejects nan like --time-limit does, naming the spelling given."""
    result = invoke(*command, old, "nan")
    assert result.exit_code == EXIT_BAD_INPUT
    assert result.stderr.strip().splitlines()[-1] == (
        f"shardcheck: error: {old} must be positive and finite (a number of seconds), got nan")


@pytest.mark.parametrize("order", ["old first", "new first"])
def test_both_spellings_at_once_are_refused(order: str, cwd: Path) -> None:
    """Two values for one budget is a mistake, whichever comes first."""
    pair = [("--timeout", "5"), ("--time-limit", "6")]
    if order == "new first":
        pair.reverse()
    args = [word for option in pair for word in option]
    result = invoke(*BUDGETED["prove quorum"], *args)
    assert result.exit_code == EXIT_BAD_INPUT
    assert result.stderr.strip().splitlines()[-1] == (
        "shardcheck: error: --timeout is another name for --time-limit: give --time-limit only")


def test_the_default_time_limit_is_used_when_none_is_given(cwd: Path) -> None:
    """prove's budget is 10 s per claim, check-history's 60 s, prove-trace's 10 s."""
    for name, seconds in (("prove quorum", 10.0), ("check-history", 60.0),
                          ("prove-trace", 10.0)):
        result = invoke(*BUDGETED[name], "--format", "json")
        assert json.loads(result.stdout)["time_limit"] == seconds, name


def test_prove_trace_gives_z3_its_time_limit_and_names_it_when_z3_runs_out(
        cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--time-limit 0.5 is z3's budget for the classes; when z3 gives up, the reason
    says to raise --time-limit (inconclusive, exit 3)."""
    from shardcheck.checker.prove.solver import InputClassesAnswer

    budgets: list[float] = []

    def gives_up(*args: object) -> InputClassesAnswer:
        budgets.append(args[-1])  # type: ignore[arg-type]
        return InputClassesAnswer("unknown", reason="z3 ran out of time")

    monkeypatch.setattr("shardcheck.checker.prove.input_classes", gives_up)
    result = invoke(*BUDGETED["prove-trace"], "--time-limit", "0.5", "--format", "json")
    assert result.exit_code == EXIT_INCONCLUSIVE, result.output
    assert budgets == [0.5]
    assert json.loads(result.stdout)["reason"] == (
        "the classes of initial stores could not all be found: z3 ran out of time (raise "
        "--time-limit, or narrow the stores with --assume)")


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1"])
def test_a_suite_time_limit_must_be_finite_and_positive(value: str, tmp_path: Path) -> None:
    """time_limit = nan (or inf, 0, -1) in a suite file names the file, check and field."""
    suite = tmp_path / "shardcheck.toml"
    suite.write_text(f'[checks.c]\ndesign = "serial"\nworkload = "counter:txs=1"\n'
                     f'expect = "pass"\ntime_limit = {value}\n')
    shown = repr(float(value))
    assert_bad_input(invoke("ci", "--suite", str(suite)),
                     f"{suite}: check 'c': field 'time_limit': must be positive and finite "
                     f"(a number of seconds), got {shown}")


def test_a_suite_time_limit_that_is_finite_is_the_checks_budget(tmp_path: Path) -> None:
    """A suite's time_limit = 30 reaches the check's budget (the JSON document shows it)."""
    suite = tmp_path / "shardcheck.toml"
    suite.write_text('[checks.c]\ndesign = "serial"\nworkload = "counter:txs=1"\n'
                     'expect = "pass"\ntime_limit = 30\n')
    result = invoke("ci", "--suite", str(suite), "--format", "json",
                    "--trace-dir", str(tmp_path / "found"))
    assert result.exit_code == EXIT_OK, result.output
    assert json.loads(result.stdout)["checks"][0]["budget"]["time_limit"] == 30.0


# -q/--quiet: the verdict lines and nothing else


def test_quiet_explore_prints_only_the_verdict_line(cwd: Path) -> None:
    """No header, no statistics: the one line that says 10,784 states passed."""
    result = invoke("explore", "block-stm", "-w", "counter:txs=2,keys=1", "-q")
    assert result.exit_code == EXIT_OK
    assert result.stdout == "✓ no violation: every schedule explored (10,784 states)\n"


def test_quiet_explore_of_a_mutant_prints_the_verdict_the_trace_and_the_replay_command(
        cwd: Path) -> None:
    """No timeline with -q, even though --timeline is the default."""
    result = invoke("explore", "block-stm:scan-keys-only", "-w", "audit:txs=2", "-q",
                    "--trace-out", "t.json")
    assert result.exit_code == EXIT_VIOLATION
    shown = lines(result.stdout)
    assert shown[0].startswith(FOUND)
    assert shown[1:] == ["trace written to t.json", "replay with: shardcheck replay t.json", ""]
    assert "timeline" not in result.stdout


def test_quiet_replay_prints_only_its_verdict(cwd: Path) -> None:
    """replay -q: no header, no timeline; one verdict line."""
    result = invoke("replay", str(SCAN_KEYS_ONLY), "-q")
    assert result.exit_code == EXIT_VIOLATION
    assert lines(result.stdout) == [
        "✗ reproduced: violation of serial-equivalence at step 61: T1's read #1 scanned "
        "acct/0 = 10 from the initial store; serially it scanned acct/0 = 11 from T0", ""]


def test_quiet_fuzz_prints_only_its_verdict(cwd: Path) -> None:
    """fuzz -q: no header, no 'ran' line."""
    result = invoke(*BUDGETED["fuzz"], "-q")
    assert result.exit_code == EXIT_OK
    assert result.stdout == "✓ no violation: 5 runs, every property held\n"


def test_quiet_prove_prints_one_line_per_claim(cwd: Path) -> None:
    """prove -q: the verdict of each claim; the counterexample lines are left out."""
    result = invoke("prove", "commute", "-w", "transfers:txs=3", "-q")
    loud = invoke("prove", "commute", "-w", "transfers:txs=3")
    assert result.exit_code == loud.exit_code == EXIT_VIOLATION
    verdicts = [line for line in loud.stdout.splitlines() if not line.startswith("  ")]
    assert result.stdout.splitlines() == verdicts
    assert len(verdicts) == 3 and len(loud.stdout.splitlines()) > 3


def test_quiet_check_history_prints_the_verdicts_without_the_witnesses(cwd: Path) -> None:
    """check-history -q: the criteria table and the overall verdict, nothing else."""
    result = invoke("check-history", HISTORY, "-q")
    loud = invoke("check-history", HISTORY)
    assert result.exit_code == loud.exit_code == EXIT_OK
    assert "witness order" in loud.stdout and "witness order" not in result.stdout
    assert not any(line.startswith("history ") for line in result.stdout.splitlines())
    assert result.stdout.splitlines()[0].split() == ["criterion", "verdict", "why"]
    assert result.stdout.splitlines()[-1] == "holds"


def test_quiet_prove_trace_prints_the_verdict_and_where_the_trace_went(cwd: Path) -> None:
    """prove-trace -q: no classes, no timeline; the refutation, the trace, the replay."""
    result = invoke("prove-trace", EVERY_INPUT_TRACE, "-q", "--trace-out", "p.json")
    assert result.exit_code == EXIT_VIOLATION
    shown = lines(result.stdout)
    assert shown[0].startswith("✗ refuted: on the initial store acct0=3 acct1=3 this "
                               "schedule violates serial-equivalence")
    assert shown[1:] == ["trace written to p.json", "replay with: shardcheck replay p.json", ""]


def test_quiet_designs_and_workloads_print_the_lists_without_the_notes(cwd: Path) -> None:
    """designs -q and workloads -q: the listing only."""
    designs, workloads = invoke("designs", "-q"), invoke("workloads", "-q")
    assert designs.exit_code == workloads.exit_code == EXIT_OK
    assert designs.stdout == invoke("designs").stdout.split("\n\nproperties every design")[0] \
        + "\n"
    assert workloads.stdout == invoke("workloads").stdout.split("\n\nexample:")[0] + "\n"


def test_quiet_ci_prints_the_verdict_lines_without_the_tables(tmp_path: Path,
                                                              cwd: Path) -> None:
    """ci -q: no header and no tables; the closing verdict line."""
    suite = tmp_path / "shardcheck.toml"
    suite.write_text('[checks.c]\ndesign = "serial"\nworkload = "counter:txs=1"\n'
                     'expect = "pass"\n')
    result = invoke("ci", "--suite", str(suite), "-q", "--trace-dir", str(tmp_path / "f"))
    assert result.exit_code == EXIT_OK
    assert result.stdout == "✓ 1 check(s) and 0 trace(s) matched their expectations\n"


def test_quiet_demo_prints_each_steps_verdict_and_the_summary(cwd: Path) -> None:
    """demo -q: five verdict lines, no rules, headers or timeline."""
    result = invoke("demo", "-q")
    assert result.exit_code == EXIT_OK, result.output
    shown = [line for line in lines(result.stdout) if line]
    assert shown[0] == "✓ no violation: every schedule explored (78,937 states)"
    assert shown[1].startswith(FOUND)
    assert shown[2] == "trace written to shardcheck-demo/scan-keys-only.trace.json"
    assert shown[3].startswith("✗ reproduced: violation of serial-equivalence at step 61")
    assert shown[4] == ("block-stm: pass (78,937 states); block-stm:scan-keys-only: violation "
                        "of serial-equivalence in 61 steps; replay: reproduced")
    assert len(shown) == 5


def test_every_command_has_quiet() -> None:
    """-q/--quiet is on every command, prove's included."""
    commands = dict(main.commands)
    prove = commands.pop("prove")
    assert isinstance(prove, click.Group)
    commands.update({f"prove {n}": c for n, c in prove.commands.items()})
    for name, command in commands.items():
        names = {opt for p in command.params for opt in p.opts}
        assert {"-q", "--quiet"} <= names, name


# --force before any file is replaced


def test_ci_junit_refuses_an_existing_file_without_force(tmp_path: Path) -> None:
    """Exit 2 before running anything; the file is untouched; --force replaces it."""
    suite = tmp_path / "shardcheck.toml"
    suite.write_text('[checks.c]\ndesign = "serial"\nworkload = "counter:txs=1"\n'
                     'expect = "pass"\n')
    junit = tmp_path / "report.xml"
    junit.write_text("mine")
    args = ("ci", "--suite", str(suite), "--junit", str(junit), "--trace-dir",
            str(tmp_path / "found"))
    refused = invoke(*args)
    assert_bad_input(refused, f"--junit {junit} already exists; pass --force to overwrite it")
    assert refused.stdout == ""
    assert junit.read_text() == "mine"
    forced = invoke(*args, "--force")
    assert forced.exit_code == EXIT_OK, forced.output
    assert junit.read_text().startswith('<?xml version="1.0" encoding="UTF-8"?>')


def _suite_with_a_new_counterexample(tmp_path: Path) -> Path:
    suite = tmp_path / "shardcheck.toml"
    suite.write_text('corpus = "none"\n[checks.bug]\ndesign = "block-stm:scan-keys-only"\n'
                     'workload = "audit:txs=2"\nexpect = "violation"\n'
                     'property = "serial-equivalence"\n')
    (tmp_path / "none").mkdir()
    return suite


def test_ci_trace_dir_keeps_another_runs_file_and_writes_the_new_one_beside_it(
        tmp_path: Path) -> None:
    """A file of the same name with another run in it is kept without --force; the new
    counterexample becomes bug-2.trace.json; the same run again writes nothing new."""
    suite = _suite_with_a_new_counterexample(tmp_path)
    found = tmp_path / "found"
    found.mkdir()
    (found / "bug.trace.json").write_text("an older run")
    args = ("ci", "--suite", str(suite), "--trace-dir", str(found))
    first = invoke(*args)
    assert first.exit_code == EXIT_OK, first.output
    assert (found / "bug.trace.json").read_text() == "an older run"
    assert load_trace(found / "bug-2.trace.json").violation is not None
    assert f"new counterexample of bug written to {found}/bug-2.trace.json" in flat(first.output)
    again = invoke(*args)
    assert again.exit_code == EXIT_OK, again.output
    assert sorted(p.name for p in found.iterdir()) == ["bug-2.trace.json", "bug.trace.json"]
    forced = invoke(*args, "--force")
    assert forced.exit_code == EXIT_OK, forced.output
    assert load_trace(found / "bug.trace.json") == load_trace(found / "bug-2.trace.json")


def test_fuzz_never_replaces_a_default_named_trace_of_another_run(cwd: Path) -> None:
    """The default trace file is kept when it holds the same run, refused when another."""
    args = ("fuzz", "block-stm:scan-keys-only", "-s", "audit:txs=2-3", "-k", "2",
            "--no-database", "-q")
    first = invoke(*args)
    assert first.exit_code == EXIT_VIOLATION, first.output
    (written,) = cwd.iterdir()
    before = written.read_bytes()
    assert invoke(*args).exit_code == EXIT_VIOLATION
    assert written.read_bytes() == before
    written.write_text("{}")
    assert_bad_input(invoke(*args), f"{written.name} exists with a different run in it",
                     "pass --trace-out")
    assert written.read_text() == "{}"


def test_demo_replaces_another_runs_trace_only_with_force(cwd: Path) -> None:
    """demo keeps its own trace on a rerun; a file of another run needs --force."""
    assert invoke("demo", "-q").exit_code == EXIT_OK
    trace = cwd / "shardcheck-demo" / "scan-keys-only.trace.json"
    kept = trace.read_bytes()
    assert invoke("demo", "-q").exit_code == EXIT_OK
    assert trace.read_bytes() == kept
    trace.write_text("{}")
    assert_bad_input(invoke("demo", "-q"), "exists with a different run in it",
                     "pass --force to replace it")
    assert invoke("demo", "-q", "--force").exit_code == EXIT_OK
    assert trace.read_bytes() == kept


# exit codes


def test_the_exit_codes_are_the_documented_numbers() -> None:
    """0 1 2 3 as before; 4 a diverged replay; 70 our bug; 130 Ctrl-C."""
    assert (EXIT_OK, EXIT_VIOLATION, EXIT_BAD_INPUT, EXIT_INCONCLUSIVE) == (0, 1, 2, 3)
    assert (EXIT_DIVERGED, EXIT_INTERNAL, EXIT_INTERRUPTED) == (4, 70, 130)
    assert [code for code, _ in EXIT_CODES] == [0, 1, 2, 3, 4, 70, 130, 141]


def test_main_help_lists_every_exit_code_with_its_meaning() -> None:
    """`shardcheck --help` ends with one line per exit code."""
    result = invoke("--help")
    assert result.exit_code == 0
    listed = result.stdout.split("Exit codes:\n", 1)[1]
    for code, meaning in EXIT_CODES:
        assert f"    {code:<4} {meaning}\n" in listed


def test_readme_lists_every_exit_code() -> None:
    """README.md's exit-code table has one row per code, in order."""
    readme = (ROOT / "README.md").read_text()
    table = readme.split("**Exit codes.**", 1)[1].split("\n\n", 2)[1]
    rows = re.findall(r"^\| (\d+) \| ", table, re.MULTILINE)
    assert [int(code) for code in rows] == [code for code, _ in EXIT_CODES]


def test_a_diverged_replay_exits_4_a_reproduced_violation_1_and_passes_now_0(
        tmp_path: Path, cwd: Path) -> None:
    """The three replay verdicts have three codes."""
    document = json.loads(SCAN_KEYS_ONLY.read_text())
    assert invoke("replay", str(SCAN_KEYS_ONLY), "-q").exit_code == EXIT_VIOLATION
    edited = json.loads(json.dumps(document))
    edited["steps"][4]["fingerprint"] = "0" * len(edited["steps"][4]["fingerprint"])
    (tmp_path / "diverged.trace.json").write_text(json.dumps(edited))
    diverged = invoke("replay", str(tmp_path / "diverged.trace.json"), "-q")
    assert diverged.exit_code == EXIT_DIVERGED
    assert diverged.stdout.startswith("✗ diverged at step 5: ")
    cut = json.loads(json.dumps(document))
    cut["steps"] = cut["steps"][:10]
    cut["violation"] = None
    (tmp_path / "cut.trace.json").write_text(json.dumps(cut))
    assert invoke("replay", str(tmp_path / "cut.trace.json"), "-q").exit_code == EXIT_OK


def test_an_unexpected_exception_is_exit_70_naming_it_a_bug(
        monkeypatch: pytest.MonkeyPatch, cwd: Path) -> None:
    """Our own bug is one line that says so and where to report it."""
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("shardcheck.checker.cli.explore.explore", broken)
    result = invoke(*BUDGETED["explore"])
    assert result.exit_code == EXIT_INTERNAL
    (only,) = result.stderr.strip().splitlines()
    assert only.startswith("shardcheck: error: unexpected RuntimeError: boom (this is a bug in "
                           "shardcheck; please report it at ")


def test_ctrl_c_inside_a_command_is_exit_130_in_one_line(
        monkeypatch: pytest.MonkeyPatch, cwd: Path) -> None:
    """KeyboardInterrupt out of a search ends the run with 130 and one line."""
    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("shardcheck.checker.cli.explore.explore", interrupted)
    result = invoke(*BUDGETED["explore"])
    assert result.exit_code == EXIT_INTERRUPTED
    assert result.stderr == "shardcheck: error: interrupted\n"


def _interrupt(args: list[str], ready: str, tmp_path: Path,
               settle: float = 0.0) -> subprocess.CompletedProcess[str]:
    """Start shardcheck, wait for the line ``ready`` on stdout and ``settle`` seconds
    more, then send SIGINT."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # hypothesis and z3 are imported first, so that once ``ready`` shows only the run
    # itself is left.
    script = ("import hypothesis, z3, shardcheck.checker.fuzz, shardcheck.checker.prove; "
              "from shardcheck.checker.cli import main; main()")
    process = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if ready in line:
            break
    time.sleep(settle)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, "".join(seen) + out,
                                       err)


def test_ctrl_c_during_a_real_search_exits_130(tmp_path: Path) -> None:
    """SIGINT to a search that would run for minutes: exit 130, one line, no traceback."""
    done = _interrupt(["explore", "block-stm", "-w", "counter:txs=5,keys=1", "-k", "3",
                       "--no-compact"], "checking", tmp_path)
    assert done.returncode == EXIT_INTERRUPTED, done.stdout + done.stderr
    assert done.stderr == "shardcheck: error: interrupted\n"


def test_ctrl_c_during_a_fuzz_campaign_exits_130_saying_nothing_failed(tmp_path: Path) -> None:
    """SIGINT to a long campaign of a correct design: exit 130, never a pass."""
    done = _interrupt(["fuzz", "block-stm", "-s", "counter:txs=8-12", "-n", "1000000",
                       "--no-database"], "checking", tmp_path, settle=1.5)
    assert done.returncode == EXIT_INTERRUPTED, done.stdout + done.stderr
    assert done.stderr == ""
    assert "interrupted" in done.stdout and "this is not a pass" in flat(done.stdout)
    assert "Traceback" not in done.stderr


# help and piped width


def test_main_help_shows_every_commands_whole_first_sentence() -> None:
    """No summary is cut short with '...': each command's first sentence is there whole."""
    result = invoke("--help")
    commands = flat(result.stdout.split("Commands:", 1)[1].split("Exit codes:", 1)[0])
    assert "..." not in commands
    for name, command in main.commands.items():
        assert command.help is not None
        first = flat(command.help.split("\n\n")[0]).split(". ")[0].rstrip(".")
        assert f"{name} {first}" in commands, name


def test_prove_help_shows_every_claims_whole_first_sentence() -> None:
    """The prove group lists its claims whole too."""
    commands = flat(invoke("prove", "--help").stdout.split("Commands:", 1)[1])
    assert "..." not in commands
    assert ("commute Two transactions (index or label) commute from every store: the same "
            "final store and the same value for every read, in either order.") in commands


@pytest.mark.parametrize("columns, width", [(None, 100), ("120", 120), ("70", 70)])
def test_piped_output_is_as_wide_as_columns_and_100_without_it(
        columns: str | None, width: int, cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The timeline of a 61-step counterexample fills the width: COLUMNS, else 100."""
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    result = invoke("explore", "block-stm:scan-keys-only", "-w", "audit:txs=2",
                    "--trace-out", "t.json")
    assert result.exit_code == EXIT_VIOLATION
    assert max(len(line) for line in result.stdout.splitlines()) == width


def test_a_columns_that_is_not_a_number_gives_the_default_width(
        cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """COLUMNS=wide is ignored, not an error."""
    monkeypatch.setenv("COLUMNS", "wide")
    result = invoke("explore", "block-stm:scan-keys-only", "-w", "audit:txs=2",
                    "--trace-out", "t.json")
    assert max(len(line) for line in result.stdout.splitlines()) == 100

