"""The ``shardcheck`` command line: exit codes, messages and the files it writes.

Every command runs in-process through click's ``CliRunner`` inside a temporary
working directory, so nothing is written into the repository.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from shardcheck import model
from shardcheck.checker.trace.files import load_trace
from shardcheck.checker.trace.version import VERSION

from .cli_helpers import assert_bad_input, flat, invoke

NAIVE_OCC = Path(__file__).parent / "designs" / "naive_occ.py"

BLOCK_STM_MUTANTS = (
    "active-after-fetch",
    "single-collect",
    "dependency-check-outside-lock",
    "resume-keeps-execution-idx",
    "not-found-ignores-version",
    "newloc-first-incarnation",
    "exists-unrecorded",
    "read-own-entries",
    "scan-keys-only",
    "revert-keeps-writes",
)

FAST_MUTANT = ("explore", "block-stm:scan-keys-only", "--workload", "audit:txs=2")
LOST_UPDATE = ("--workload", "counter:txs=2,keys=1", "--workers", "2")






def statistic(output: str, name: str) -> str:
    """One value of the statistics table, whatever the column widths came out as."""
    found = re.search(rf"^{name} +(\S+)$", output, re.MULTILINE)
    assert found is not None, f"no {name!r} row in:\n{output}"
    return found.group(1)


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty working directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def naive_occ(cwd: Path) -> str:
    """The user design copied next to the run, named by a short relative path."""
    shutil.copy(NAIVE_OCC, cwd / "naive_occ.py")
    return "naive_occ.py:NaiveOcc"


# explore: verdicts and exit codes


def test_block_stm_passes_two_increments_of_one_counter_in_10784_states(cwd: Path) -> None:
    """Block-STM, 2 workers, counter:txs=2,keys=1: 10,784 states up to renaming the
    workers, depth 110, one outcome, exit 0."""
    result = invoke("explore", "block-stm", *LOST_UPDATE)
    assert result.exit_code == 0, result.output
    assert statistic(result.output, "distinct states") == "10,784"
    assert statistic(result.output, "max depth") == "110"
    assert statistic(result.output, "terminal states") == "18"
    assert statistic(result.output, "distinct outcomes") == "1"
    assert statistic(result.output, "complete") == "yes"
    assert "✓ no violation: every schedule explored (10,784 states)" in result.output
    assert "config    workload counter:txs=2,keys=1,modules=1, 2 worker(s)" in result.output
    assert "symmetry  actors are interchangeable" in result.output
    assert list(cwd.iterdir()) == []


def test_without_symmetry_every_renaming_is_a_state_of_its_own(cwd: Path) -> None:
    """--no-symmetry explores 21,182 states: each worker renaming counted apart."""
    result = invoke("explore", "block-stm", "--no-symmetry", *LOST_UPDATE)
    assert result.exit_code == 0, result.output
    assert statistic(result.output, "distinct states") == "21,182"
    assert "no symmetry reduction" in result.output
    assert "symmetry  actors" not in result.output


def test_user_design_with_one_worker_is_the_serial_reference_and_passes(naive_occ: str) -> None:
    """NaiveOcc with a single worker has no interleavings to lose an update in: 8 states, exit 0."""
    result = invoke("explore", naive_occ, "--workload", "counter:txs=2,keys=1", "--workers", "1",
                    "-q")
    assert result.exit_code == 0, result.output
    assert "every schedule explored (8 states)" in result.output


def test_mutant_violation_exits_1_writes_trace_out_and_prints_the_replay_command(
        cwd: Path) -> None:
    """scan-keys-only breaks serial-equivalence in 61 steps; the trace goes to --trace-out."""
    result = invoke(*FAST_MUTANT, "--trace-out", "found.json")
    assert result.exit_code == 1, result.output
    assert "✗ violation of serial-equivalence after 61 steps" in result.output
    assert "timeline" in result.output
    assert "trace written to found.json" in result.output
    assert "replay with: shardcheck replay found.json\n" in result.output
    trace = load_trace(cwd / "found.json")
    assert len(trace.steps) == 61
    assert trace.violation is not None
    assert (trace.violation.property, trace.violation.step) == ("serial-equivalence", 61)
    assert trace.design.spec() == "block-stm:scan-keys-only"
    assert trace.workload == "audit:txs=2,accounts=2,insert=0"
    assert [p.name for p in cwd.iterdir()] == ["found.json"]


def test_no_timeline_leaves_the_timeline_out(cwd: Path) -> None:
    """--no-timeline still reports the violation and the trace, without the table."""
    result = invoke(*FAST_MUTANT, "--trace-out", "found.json", "--no-timeline")
    assert result.exit_code == 1, result.output
    assert "violation of serial-equivalence after 61 steps" in result.output
    assert "timeline" not in result.output


def test_user_design_lost_update_is_found_in_8_steps_and_replay_names_the_design_file(
        naive_occ: str) -> None:
    """NaiveOcc loses an update with 2 workers; the replay command passes --design-file."""
    result = invoke("explore", naive_occ, *LOST_UPDATE, "--trace-out", "occ.json")
    assert result.exit_code == 1, result.output
    assert "violation of serial-equivalence after 8 steps" in result.output
    assert "replay with: shardcheck replay occ.json --design-file naive_occ.py" in result.output
    trace = load_trace("occ.json")
    assert (trace.design.name, trace.design.file) == ("NaiveOcc", "naive_occ.py")


def test_without_trace_out_a_default_named_trace_is_written_and_then_reused(cwd: Path) -> None:
    """The default file is named after the design and mutant; an identical rerun reuses it."""
    first = invoke(*FAST_MUTANT)
    assert first.exit_code == 1, first.output
    files = list(cwd.iterdir())
    assert len(files) == 1
    name = files[0].name
    assert name.startswith("shardcheck-block-stm-scan-keys-only-")
    assert name.endswith(".trace.json")
    assert f"replay with: shardcheck replay {name}" in first.output
    written = files[0].read_bytes()

    second = invoke(*FAST_MUTANT)
    assert second.exit_code == 1, second.output
    assert f"trace written to {name}" in second.output
    assert [p.name for p in cwd.iterdir()] == [name]
    assert files[0].read_bytes() == written


def test_default_named_trace_holding_another_run_is_left_alone(naive_occ: str,
                                                               cwd: Path) -> None:
    """If the default file holds a different run, explore exits 2 and changes nothing."""
    first = invoke("explore", naive_occ, *LOST_UPDATE)
    assert first.exit_code == 1, first.output
    (default,) = cwd.glob("shardcheck-naive_occ-*.trace.json")
    other = json.loads(default.read_text())
    other["source"]["strategy"] = "dfs"
    default.write_text(json.dumps(other))
    before = default.read_bytes()

    second = invoke("explore", naive_occ, *LOST_UPDATE)
    assert_bad_input(second, f"{default.name} exists with a different run in it",
                     "pass --trace-out")
    assert default.read_bytes() == before


def test_state_bound_makes_the_result_inconclusive_with_exit_3(cwd: Path) -> None:
    """--max-states 100 stops a search that needs 10,784 states: exit 3, not a pass."""
    result = invoke("explore", "block-stm", *LOST_UPDATE, "--max-states", "100")
    assert result.exit_code == 3, result.output
    assert statistic(result.output, "distinct states") == "100"
    assert statistic(result.output, "complete") == "no"
    assert "? inconclusive: state bound of 100 reached" in result.output
    assert "not a pass" in result.output
    assert "no violation" not in result.output


def test_time_limit_makes_the_result_inconclusive_with_exit_3(cwd: Path) -> None:
    """A 0.05 s limit on counter:txs=3,keys=1 stops the search: exit 3, not a pass."""
    result = invoke("explore", "block-stm", "--workload", "counter:txs=3,keys=1",
                    "--time-limit", "0.05", "-q")
    assert result.exit_code == 3, result.output
    assert "? inconclusive: time limit of 0.05s reached" in result.output
    assert "not a pass" in result.output


def test_depth_bound_that_cuts_runs_is_inconclusive_with_exit_3(cwd: Path) -> None:
    """--max-depth 20 cuts runs that need up to 110 steps: exit 3, not a pass."""
    result = invoke("explore", "block-stm", *LOST_UPDATE, "--max-depth", "20")
    assert result.exit_code == 3, result.output
    assert "? inconclusive: depth bound of 20 cut off some runs" in result.output
    assert "not a pass" in flat(result.output)


# explore: bad input, each one line on stderr and exit 2

BAD_DESIGNS = [
    pytest.param("block-sm", ("unknown design 'block-sm'", "did you mean 'block-stm'?",
                              "built-in designs: " + ", ".join(sorted(model.builtin_designs()))),
                 id="unknown-design"),
    pytest.param("block-stm:scan-key-only",
                 ("design 'block-stm' has no mutant 'scan-key-only'",
                  "did you mean 'scan-keys-only'?", *BLOCK_STM_MUTANTS), id="unknown-mutant"),
    pytest.param("serial:fast", ("design 'serial' has no mutants",), id="design-without-mutants"),
    pytest.param("missing.py:Design", ("design file missing.py does not exist",),
                 id="missing-file"),
    pytest.param("naive_occ.py", ("'naive_occ.py': name the design inside the file too",
                                  "naive_occ.py:MyDesign"), id="file-without-name"),
    pytest.param("naive_occ.py:Naive", ("design file naive_occ.py has no 'Naive'",
                                        "did you mean 'NaiveOcc'?"), id="missing-name"),
    pytest.param("naive_occ.py:NaiveOcc:fast", ("design 'NaiveOcc' has no mutants",),
                 id="user-design-without-mutants"),
]


@pytest.mark.parametrize(("design", "fragments"), BAD_DESIGNS)
def test_a_design_that_cannot_be_found_is_exit_2_with_what_to_do(
        naive_occ: str, design: str, fragments: tuple[str, ...]) -> None:
    """Unknown designs, mutants, files and names each get one line saying what exists."""
    assert_bad_input(invoke("explore", design, "-q"), *fragments)


BAD_WORKLOADS = [
    pytest.param("countr:txs=2", ("unknown workload 'countr'", "did you mean 'counter'?",
                                  "known: " + ", ".join(sorted(model.GENERATORS))),
                 id="unknown-workload"),
    pytest.param("counter:tx=2", ("counter has no parameter 'tx'", "did you mean 'txs'?",
                                  "parameters: txs, keys, modules"), id="unknown-parameter"),
    pytest.param("counter:txs=two", ("txs must be an integer, got 'two'",), id="not-an-integer"),
    pytest.param("counter:txs=0", ("txs must be between 1 and 64, got 0",), id="too-small"),
    pytest.param("counter:txs=65", ("txs must be between 1 and 64, got 65",), id="too-large"),
    pytest.param("counter:txs", ("expected key=value, got 'txs'",), id="missing-equals"),
    pytest.param("condwrite:mode=sideways", ("mode must be one of appear, vanish",),
                 id="not-a-choice"),
]


@pytest.mark.parametrize(("workload", "fragments"), BAD_WORKLOADS)
def test_a_malformed_workload_spec_is_exit_2_naming_the_spec(
        cwd: Path, workload: str, fragments: tuple[str, ...]) -> None:
    """Each workload mistake is one line that quotes the spec and says what is allowed."""
    result = invoke("explore", "block-stm", "--workload", workload, "-q")
    line = assert_bad_input(result, *fragments)
    if not workload.startswith("countr:"):
        assert f"workload {workload!r}" in line


def test_design_file_with_a_syntax_error_is_exit_2_with_its_line(cwd: Path) -> None:
    """A syntax error in the user's file is reported with its line, not as our traceback."""
    (cwd / "broken.py").write_text("import attrs\n\nclass Broken(:\n    pass\n")
    assert_bad_input(invoke("explore", "broken.py:Broken", "-q"),
                     "design file broken.py failed to load", "SyntaxError", "line 3")


def test_design_file_that_raises_at_import_is_exit_2_with_the_error_and_line(cwd: Path) -> None:
    """An exception while importing the user's file names the exception and the line."""
    (cwd / "raises.py").write_text("X = 1\nraise RuntimeError('no database configured')\n")
    assert_bad_input(invoke("explore", "raises.py:X", "-q"),
                     "design file raises.py failed to load (line 2)",
                     "RuntimeError: no database configured")


def test_design_class_that_needs_arguments_is_exit_2(cwd: Path) -> None:
    """A design class is created with no arguments; one that needs some is bad input."""
    (cwd / "needy.py").write_text("class Needy:\n    def __init__(self, size):\n"
                                  "        self.size = size\n")
    assert_bad_input(invoke("explore", "needy.py:Needy", "-q"),
                     "needy.py:Needy could not be created with no arguments")


def test_object_that_is_not_a_design_is_exit_2_listing_what_it_lacks(cwd: Path) -> None:
    """A name that is not a design is refused with the protocol members it lacks."""
    (cwd / "plain.py").write_text("class Plain:\n    name = 'plain'\n")
    assert_bad_input(invoke("explore", "plain.py:Plain", "-q"),
                     "plain.py:Plain is not a design: it lacks summary, initial, actions",
                     "model/api.py")


def test_design_file_that_calls_sys_exit_at_import_is_bad_input_not_a_pass(cwd: Path) -> None:
    """A design file that exits while being imported is exit 2 with a message, never exit 0."""
    (cwd / "quits.py").write_text("import sys\n\nsys.exit(0)\n")
    assert_bad_input(invoke("explore", "quits.py:Quits", "-q"), "quits.py")


def test_design_that_exits_inside_step_is_reported_not_a_pass(naive_occ: str, cwd: Path) -> None:
    """A design whose step() calls sys.exit(0) is a design bug with a message, never exit 0."""
    with (cwd / "naive_occ.py").open("a") as design:
        design.write("\n\nclass QuitsInStep(NaiveOcc):\n"
                     "    def step(self, state, action):\n"
                     "        if action.name == 'write':\n"
                     "            raise SystemExit(0)\n"
                     "        return super().step(state, action)\n")
    result = invoke("explore", "naive_occ.py:QuitsInStep", *LOST_UPDATE)
    assert result.exit_code not in (0, 1, 3), result.output
    assert "shardcheck: error: " in result.stderr
    assert "step()" in result.stderr


def test_existing_trace_out_without_force_is_exit_2_before_searching(cwd: Path) -> None:
    """An existing --trace-out is refused before the search starts, and left untouched."""
    existing = cwd / "found.json"
    existing.write_text("precious\n")
    result = invoke(*FAST_MUTANT, "--trace-out", "found.json")
    assert_bad_input(result, "found.json already exists; pass --force to overwrite it")
    assert "distinct states" not in result.output
    assert existing.read_text() == "precious\n"
    assert [p.name for p in cwd.iterdir()] == ["found.json"]


def test_existing_trace_out_with_force_is_replaced_by_the_trace(cwd: Path) -> None:
    """With --force the old file is replaced by a loadable trace and nothing else is left."""
    (cwd / "found.json").write_text("old\n")
    result = invoke(*FAST_MUTANT, "--trace-out", "found.json", "--force")
    assert result.exit_code == 1, result.output
    assert len(load_trace(cwd / "found.json").steps) == 61
    assert [p.name for p in cwd.iterdir()] == ["found.json"]


def test_trace_out_in_a_missing_directory_is_exit_2_naming_the_directory(cwd: Path) -> None:
    """A --trace-out whose directory does not exist is refused before the search."""
    result = invoke(*FAST_MUTANT, "--trace-out", "no/such/dir/found.json")
    assert_bad_input(result, "cannot write no/such/dir/found.json",
                     "directory no/such/dir does not exist")
    assert "distinct states" not in result.output
    assert list(cwd.iterdir()) == []


def test_trace_out_that_is_a_directory_is_exit_2(cwd: Path) -> None:
    """A --trace-out naming a directory is a usage error."""
    (cwd / "traces").mkdir()
    result = invoke(*FAST_MUTANT, "--trace-out", "traces")
    assert result.exit_code == 2, result.output
    assert "--trace-out" in result.stderr
    assert "is a directory" in result.stderr
    assert list((cwd / "traces").iterdir()) == []


def test_zero_workers_is_a_usage_error_with_the_allowed_range(cwd: Path) -> None:
    """--workers 0 is refused by the option itself with its range 1..16."""
    result = invoke("explore", "block-stm", "--workers", "0")
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--workers'" in result.stderr
    assert "0 is not in the range 1<=x<=16" in result.stderr


# designs, workloads, help


def test_designs_lists_every_block_stm_mutant_once(cwd: Path) -> None:
    """`designs` shows both built-in designs and each of the 9 Block-STM mutants."""
    result = invoke("designs")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("serial  ") for line in lines)
    assert any(line.startswith("block-stm  ") for line in lines)
    listed = [line.split()[0] for line in lines if line.startswith("  block-stm:")]
    assert listed == [f"block-stm:{m}" for m in BLOCK_STM_MUTANTS]
    assert "path/to/design.py:ClassName" in result.output


def test_designs_json_gives_every_mutant_a_failing_configuration(cwd: Path) -> None:
    """`designs --json` (short for --format json) gives each mutant a fails_on with a valid
    workload, workers and property."""
    result = invoke("designs", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["format"] == "shardcheck-designs/1"
    designs = {d["name"]: d for d in document["designs"]}
    assert sorted(designs) == sorted(model.builtin_designs())
    assert designs["serial"]["mutants"] == []
    mutants = designs["block-stm"]["mutants"]
    assert [m["name"] for m in mutants] == list(BLOCK_STM_MUTANTS)
    properties = {"serial-equivalence", "deadlock", "termination",
                  *designs["block-stm"]["properties"]}
    for mutant in mutants:
        assert mutant["spec"] == f"block-stm:{mutant['name']}"
        fails_on = mutant["fails_on"]
        assert set(fails_on) == {"workload", "workers", "property", "steps"}
        model.build_workload(fails_on["workload"])  # raises if the spec is not valid
        assert 1 <= fails_on["workers"] <= 16
        assert fails_on["property"] in properties
        assert isinstance(fails_on["steps"], int) and fails_on["steps"] > 0
    by_name = {m["name"]: m["fails_on"] for m in mutants}
    assert by_name["scan-keys-only"] == {"workload": "audit:txs=2", "workers": 2,
                                         "property": "serial-equivalence", "steps": 61}


def test_workloads_lists_each_generator_with_its_parameters_and_defaults(cwd: Path) -> None:
    """`workloads` shows transfers and counter with every parameter and its default."""
    result = invoke("workloads")
    assert result.exit_code == 0, result.output
    out = result.output
    for generator in ("transfers", "counter", "chain", "condwrite", "registry", "audit"):
        assert f"\n{generator}  " in f"\n{out}"
    for param in ("txs=4", "accounts=3", "amount=2", "balance=3", "seed=0", "modules=1"):
        assert f"    {param}  " in out
    assert "    keys=1  counters" in out
    assert "mode=appear" in out and "(one of appear, vanish)" in out
    assert "example: --workload transfers:txs=4,accounts=2,seed=3" in out


def test_explore_help_names_workload_trace_out_and_every_exit_code(cwd: Path) -> None:
    """`explore --help` documents --workload, --trace-out and exit codes 0 to 3."""
    result = invoke("explore", "--help")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    for option in ("--workload", "--trace-out", "--force", "--workers", "--max-states",
                   "--time-limit", "--max-depth"):
        assert option in text
    assert "Exit code 0: every schedule explored, nothing violated." in text
    assert "1: a violation (its trace is written)." in text
    assert "2: bad input." in text
    assert "3: a bound stopped the search first (not a pass)." in text


def test_replay_help_names_design_file_and_the_three_verdicts(cwd: Path) -> None:
    """`replay --help` documents --design-file and reproduced, diverged, passes now."""
    result = invoke("replay", "--help")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "--design-file" in text
    assert "`reproduced`, `diverged at step i`" in text
    assert "`passes now`" in text


def test_version_option_prints_the_installed_version(cwd: Path) -> None:
    """`--version` prints the program name and the installed version."""
    result = invoke("--version")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"shardcheck, version {VERSION}"


def test_a_design_that_raises_in_outcome_is_named_as_the_culprit(cwd: Path) -> None:
    """An exception in the user's outcome() is reported as the design's, not ours."""
    header = "    def outcome(self, state: OccState) -> Outcome:"
    source = NAIVE_OCC.read_text()
    assert header in source
    source = source.replace(header, header + "\n        raise ValueError('no outcome today')")
    (cwd / "broken.py").write_text(source)
    result = invoke("explore", "broken.py:NaiveOcc", "-w", "counter:txs=1", "-k", "1", "-q")
    assert_bad_input(result, "design 'naive-occ': outcome() raised ValueError: no outcome today")
