"""Trace files: reading them defensively, writing them atomically, replaying them to a verdict.

Two traces are recorded once per module through the CLI: Block-STM's scan-keys-only
mutant on audit:txs=2 (61 steps) and the user design NaiveOcc's lost update on
counter:txs=2,keys=1 (8 steps). Each test edits a copy and replays it.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import Result

from shardcheck.checker.errors import BadInput, TraceFileError
from shardcheck.checker.trace import files as trace_files
from shardcheck.checker.trace.files import FORMAT_VERSION, Trace, load_trace, write_trace

from .cli_helpers import assert_bad_input, flat, invoke

NAIVE_OCC = Path(__file__).parent / "designs" / "naive_occ.py"
REPO = Path(__file__).parent.parent

Document = dict[str, Any]








@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Record the two traces once: ``stm`` (61 steps) and ``occ`` (8 steps, a user design)."""
    directory = tmp_path_factory.mktemp("recorded")
    design = directory / "naive_occ.py"
    shutil.copy(NAIVE_OCC, design)
    stm, occ = directory / "stm.trace.json", directory / "occ.trace.json"
    found = invoke("explore", "block-stm:scan-keys-only", "--workload", "audit:txs=2", "-q",
                   "--trace-out", str(stm))
    assert found.exit_code == 1, found.output
    found = invoke("explore", f"{design}:NaiveOcc", "--workload", "counter:txs=2,keys=1",
                   "--workers", "2", "-q", "--trace-out", str(occ))
    assert found.exit_code == 1, found.output
    return {"stm": stm, "occ": occ, "design": design}


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty working directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def document(path: Path) -> Document:
    """A fresh copy of a recorded trace's JSON document."""
    data: Document = json.loads(path.read_text())
    return copy.deepcopy(data)


def save(data: Any, name: str = "edited.json") -> str:
    """Write a JSON document into the working directory and return its name."""
    Path(name).write_text(json.dumps(data, indent=2) + "\n")
    return name


def edited(path: Path, edit: Callable[[Document], None]) -> str:
    """A copy of the trace at ``path`` with ``edit`` applied, saved in the working directory."""
    data = document(path)
    edit(data)
    return save(data)


def replay_occ(name: str, recorded: dict[str, Path]) -> Result:
    """Replay a (possibly edited) NaiveOcc trace with its design file named."""
    return invoke("replay", name, "--design-file", str(recorded["design"]))


# replay: verdicts of recorded traces


def test_recorded_mutant_trace_reproduces_with_exit_1_and_a_timeline(
        recorded: dict[str, Path], cwd: Path) -> None:
    """The scan-keys-only trace replays all 61 steps and reproduces its violation."""
    result = invoke("replay", str(recorded["stm"]))
    assert result.exit_code == 1, result.output
    assert "design    block-stm:scan-keys-only" in result.output
    assert "config    workload audit:txs=2,accounts=2,insert=0, 2 worker(s)" in result.output
    assert "recorded  61 steps, serial-equivalence at step 61" in result.output
    assert "timeline" in result.output
    assert "│   61 │" in result.output
    assert "✗ reproduced: violation of serial-equivalence at step 61" in flat(result.output)


def test_no_timeline_replays_without_the_table(recorded: dict[str, Path], cwd: Path) -> None:
    """--no-timeline gives the same verdict without the per-actor table."""
    result = invoke("replay", str(recorded["stm"]), "--no-timeline")
    assert result.exit_code == 1, result.output
    assert "✗ reproduced: violation of serial-equivalence at step 61" in flat(result.output)
    assert "timeline" not in result.output


def test_user_design_trace_reproduces_when_its_design_file_is_named(
        recorded: dict[str, Path], cwd: Path) -> None:
    """NaiveOcc's lost update replays in 8 steps with --design-file."""
    result = replay_occ(str(recorded["occ"]), recorded)
    assert result.exit_code == 1, result.output
    assert "design    " in result.output and ":NaiveOcc" in result.output
    assert "recorded  8 steps, serial-equivalence at step 8" in result.output
    assert "✗ reproduced: violation of serial-equivalence at step 8" in flat(result.output)


def test_user_design_trace_without_design_file_is_exit_2_and_never_imports_the_file(
        recorded: dict[str, Path], cwd: Path) -> None:
    """Replay refuses to run a design file the user did not name; the file is not imported."""
    marker = cwd / "imported.marker"
    planted = cwd / "planted_design.py"
    planted.write_text(NAIVE_OCC.read_text()
                       + f"\nfrom pathlib import Path\nPath({str(marker)!r}).touch()\n")
    name = edited(recorded["occ"], lambda d: d["design"].update(file=str(planted)))

    refused = invoke("replay", name)
    assert_bad_input(refused, f"recorded with the design in {planted}:NaiveOcc",
                     f"name it yourself: --design-file {planted}")
    assert not marker.exists()

    named = invoke("replay", name, "--design-file", str(planted))  # the marker does work
    assert named.exit_code == 1, named.output
    assert "✗ reproduced" in named.output
    assert marker.exists()


def test_design_file_for_a_built_in_trace_is_exit_2(recorded: dict[str, Path], cwd: Path) -> None:
    """--design-file on a trace of a built-in design is refused."""
    result = invoke("replay", str(recorded["stm"]), "--design-file", str(recorded["design"]))
    assert_bad_input(result, "this trace uses the built-in design 'block-stm'",
                     "drop --design-file")


def test_design_file_that_does_not_exist_is_exit_2(recorded: dict[str, Path], cwd: Path) -> None:
    """A --design-file that is not there is bad input, not a divergence."""
    result = invoke("replay", str(recorded["occ"]), "--design-file", "gone.py")
    assert_bad_input(result, "design file gone.py does not exist")


def test_editing_an_actions_actor_diverges_at_that_step(recorded: dict[str, Path],
                                                        cwd: Path) -> None:
    """Step 3 given to w0 instead of w1 is not enabled: diverged at step 3, exit 4."""
    def edit(d: Document) -> None:
        d["steps"][2]["action"]["actor"] = "w0"

    result = replay_occ(edited(recorded["occ"], edit), recorded)
    assert result.exit_code == 4, result.output
    assert "✗ diverged at step 3: step 3: the recorded action w0 claim tx=1 is not enabled" \
        in flat(result.output)
    assert "w0 would instead do write tx=0 key=ctr0 value=1" in flat(result.output)
    assert "enabled: w0 write tx=0 key=ctr0 value=1; w1 claim tx=1" in flat(result.output)


def test_editing_an_actions_key_diverges_at_that_step(recorded: dict[str, Path],
                                                      cwd: Path) -> None:
    """w1 reading ctr1 at step 4 instead of ctr0 is not enabled: diverged at step 4, exit 4."""
    def edit(d: Document) -> None:
        d["steps"][3]["action"]["params"]["key"] = "ctr1"

    result = replay_occ(edited(recorded["occ"], edit), recorded)
    assert result.exit_code == 4, result.output
    assert "✗ diverged at step 4: step 4: the recorded action w1 read tx=1 key=ctr1 is not " \
           "enabled; w1 would instead do read tx=1 key=ctr0" in flat(result.output)
    assert "│    3 │" in result.output and "│    4 │" not in result.output


def test_editing_a_block_stm_tx_param_diverges_at_that_step(recorded: dict[str, Path],
                                                        cwd: Path) -> None:
    """The first Block-STM step with a tx parameter, given another tx, diverges right there."""
    data = document(recorded["stm"])
    index = next(i for i, s in enumerate(data["steps"]) if "tx" in s["action"]["params"])
    data["steps"][index]["action"]["params"]["tx"] += 1
    result = invoke("replay", save(data))
    assert result.exit_code == 4, result.output
    assert f"✗ diverged at step {index + 1}: step {index + 1}: the recorded action" \
        in flat(result.output)
    assert "is not enabled" in flat(result.output)


def test_editing_a_fingerprint_diverges_at_that_step(recorded: dict[str, Path],
                                                     cwd: Path) -> None:
    """A changed fingerprint at step 5 reads as a different state at step 5."""
    def edit(d: Document) -> None:
        d["steps"][4]["fingerprint"] = "0" * 32

    result = replay_occ(edited(recorded["occ"], edit), recorded)
    assert result.exit_code == 4, result.output
    assert "✗ diverged at step 5: step 5: w0 write tx=0 key=ctr0 value=1 led to a different " \
           "state" in flat(result.output)
    assert "recorded 000000000000" in flat(result.output)
    assert "hidden nondeterminism" in flat(result.output)


def test_editing_the_initial_fingerprint_diverges_at_step_0(recorded: dict[str, Path],
                                                            cwd: Path) -> None:
    """A changed initial fingerprint means the design or workload changed: step 0."""
    result = invoke("replay", edited(recorded["stm"],
                                     lambda d: d.update(initial_fingerprint="f" * 32)))
    assert result.exit_code == 4, result.output
    assert "✗ diverged at step 0: the initial state differs from the recorded one" \
        in flat(result.output)


def test_violation_recorded_at_another_step_is_a_divergence(recorded: dict[str, Path],
                                                            cwd: Path) -> None:
    """A violation recorded at step 7 but found at step 8 is diverged at step 8."""
    def edit(d: Document) -> None:
        d["violation"]["step"] = 7

    result = replay_occ(edited(recorded["occ"], edit), recorded)
    assert result.exit_code == 4, result.output
    assert "✗ diverged at step 8: step 8: serial-equivalence is violated" in flat(result.output)
    assert "the trace recorded serial-equivalence at step 7" in flat(result.output)


def test_violation_recorded_as_another_property_is_a_divergence(recorded: dict[str, Path],
                                                                cwd: Path) -> None:
    """A violation recorded as deadlock but found as serial-equivalence diverges at step 8."""
    def edit(d: Document) -> None:
        d["violation"]["property"] = "deadlock"

    result = replay_occ(edited(recorded["occ"], edit), recorded)
    assert result.exit_code == 4, result.output
    assert "✗ diverged at step 8" in flat(result.output)
    assert "the trace recorded deadlock at step 8" in flat(result.output)


def test_trace_cut_before_its_violation_is_malformed(recorded: dict[str, Path],
                                                     cwd: Path) -> None:
    """Without its last 3 steps the trace contradicts itself (its violation is at step 8 of
    5): it is refused as malformed, exit 2, not replayed as "passes now" (issue 15)."""
    def edit(d: Document) -> None:
        del d["steps"][-3:]

    result = replay_occ(edited(recorded["occ"], edit), recorded)
    assert result.exit_code == 2, result.output
    assert "its violation is at step 8, past its last step (5)" in flat(result.output)


def test_trace_without_violation_reproduces_with_exit_0(recorded: dict[str, Path],
                                                        cwd: Path) -> None:
    """A prefix recorded with no violation replays clean: reproduced, exit 0."""
    def edit(d: Document) -> None:
        del d["steps"][5:]
        d["violation"] = None

    result = replay_occ(edited(recorded["occ"], edit), recorded)
    assert result.exit_code == 0, result.output
    assert "recorded  5 steps, no violation" in result.output
    assert "✓ reproduced: all 5 steps match and no property is violated" in flat(result.output)


def test_steps_recorded_after_the_violation_are_checked_too(recorded: dict[str, Path],
                                                            cwd: Path) -> None:
    """A trace that goes on past its violation with an impossible step is not reproduced."""
    def edit(d: Document) -> None:
        d["steps"].append({"action": {"actor": "nobody", "name": "teleport", "params": {},
                                      "reads": [], "writes": []},
                           "fingerprint": "0" * 32})

    result = replay_occ(edited(recorded["occ"], edit), recorded)
    assert result.exit_code == 4, result.output
    assert "reproduced" not in result.output
    assert "diverged at step 9" in flat(result.output)


def test_step_labels_are_ignored_on_load(recorded: dict[str, Path], cwd: Path) -> None:
    """Labels are for people: rewriting one changes nothing in the replay."""
    def edit(d: Document) -> None:
        d["steps"][0]["label"] = "somebody else did something"

    result = replay_occ(edited(recorded["occ"], edit), recorded)
    assert result.exit_code == 1, result.output
    assert "✗ reproduced: violation of serial-equivalence at step 8" in flat(result.output)


def test_trace_with_an_invalid_workload_is_exit_2(recorded: dict[str, Path], cwd: Path) -> None:
    """A trace whose workload spec is not valid is bad input, with the workload's reason."""
    def edit(d: Document) -> None:
        d["config"]["workload"] = "audit:txs=2,phantoms=1"

    assert_bad_input(invoke("replay", edited(recorded["stm"], edit)),
                     "the trace's workload is not valid here",
                     "audit has no parameter 'phantoms'")


def test_trace_of_an_unknown_built_in_design_is_exit_2(recorded: dict[str, Path],
                                                       cwd: Path) -> None:
    """A trace naming a built-in design that does not exist suggests the closest one."""
    def edit(d: Document) -> None:
        d["design"]["name"] = "block-sm"

    assert_bad_input(invoke("replay", edited(recorded["stm"], edit)),
                     "unknown design 'block-sm'", "did you mean 'block-stm'?")


# replay: files that are not traces


def test_missing_trace_file_is_exit_2(cwd: Path) -> None:
    """A trace path that does not exist says so."""
    assert_bad_input(invoke("replay", "nowhere.json"), "trace file nowhere.json does not exist")


def test_directory_is_not_a_trace_file(cwd: Path) -> None:
    """A directory given as the trace is a usage error naming it."""
    (cwd / "traces").mkdir()
    result = invoke("replay", "traces")
    assert result.exit_code == 2, result.output
    assert "'traces' is a directory" in result.stderr


def test_truncated_trace_is_exit_2_with_line_and_column(recorded: dict[str, Path],
                                                        cwd: Path) -> None:
    """Half a trace file is invalid JSON; the message gives line and column and says why."""
    text = recorded["stm"].read_text()
    Path("half.json").write_text(text[: len(text) // 2])
    with pytest.raises(json.JSONDecodeError) as decoding:
        json.loads(Path("half.json").read_text())
    where = f"line {decoding.value.lineno}, column {decoding.value.colno}"
    assert_bad_input(invoke("replay", "half.json"),
                     f"trace file half.json is not valid JSON ({where}: ", "it may be truncated")


def test_json_that_is_not_a_trace_is_exit_2(cwd: Path) -> None:
    """A JSON object without the trace format marker is named as not a trace."""
    assert_bad_input(invoke("replay", save({"steps": []})),
                     'edited.json is not a shardcheck trace (no "format": "shardcheck-trace")')


def test_json_array_is_exit_2_saying_a_trace_is_an_object(cwd: Path) -> None:
    """A JSON array is refused at the top level as not an object."""
    assert_bad_input(invoke("replay", save([1, 2])), "edited.json is malformed at",
                     "the top level: [1, 2] is not of type 'object'")


def test_top_level_schema_error_has_no_doubled_space(cwd: Path) -> None:
    """The message for a schema error at the top level is spaced like every other one."""
    line = assert_bad_input(invoke("replay", save([1, 2])), "at the top level")
    assert "  " not in line


def test_other_trace_format_version_is_exit_2_naming_the_version_we_read(
        recorded: dict[str, Path], cwd: Path) -> None:
    """A version 2 trace is refused with the version this shardcheck reads."""
    assert_bad_input(invoke("replay", edited(recorded["stm"], lambda d: d.update(version=2))),
                     "is trace format version 2", f"reads version {FORMAT_VERSION}",
                     "record it again")


def test_trace_missing_a_fingerprint_is_exit_2_naming_the_step(recorded: dict[str, Path],
                                                               cwd: Path) -> None:
    """Deleting steps[0].fingerprint is reported at steps[0]."""
    def edit(d: Document) -> None:
        del d["steps"][0]["fingerprint"]

    assert_bad_input(invoke("replay", edited(recorded["stm"], edit)),
                     "edited.json is malformed at steps[0]: 'fingerprint' is a required property")


def test_trace_with_a_bad_fingerprint_is_exit_2_naming_its_location(recorded: dict[str, Path],
                                                                    cwd: Path) -> None:
    """A fingerprint that is not 32 hex digits is reported at steps[2].fingerprint."""
    def edit(d: Document) -> None:
        d["steps"][2]["fingerprint"] = "XYZ"

    assert_bad_input(invoke("replay", edited(recorded["stm"], edit)),
                     "malformed at steps[2].fingerprint: 'XYZ' does not match")


def test_trace_with_zero_workers_is_exit_2_naming_config_workers(recorded: dict[str, Path],
                                                                 cwd: Path) -> None:
    """workers 0 breaks the schema at config.workers."""
    def edit(d: Document) -> None:
        d["config"]["workers"] = 0

    assert_bad_input(invoke("replay", edited(recorded["stm"], edit)),
                     "malformed at config.workers: 0 is less than the minimum of 1")


# the format itself


def test_recorded_traces_match_the_schema_and_round_trip(recorded: dict[str, Path]) -> None:
    """Both recorded files validate against the schema and load back to the same JSON."""
    schema = json.loads((REPO / "checker" / "trace" / "trace.schema.json").read_text())
    for key in ("stm", "occ"):
        data = document(recorded[key])
        jsonschema.Draft202012Validator(schema).validate(data)
        trace = load_trace(recorded[key])
        assert trace == Trace.from_json(data)
        assert trace.to_json(str(recorded[key])) == data


def test_published_schema_is_the_one_the_checker_validates_with() -> None:
    """traces/trace.schema.json is byte-for-byte checker/trace/trace.schema.json."""
    published = (REPO / "traces" / "trace.schema.json").read_bytes()
    assert published == (REPO / "checker" / "trace" / "trace.schema.json").read_bytes()


def test_trace_file_carries_its_own_replay_command(recorded: dict[str, Path]) -> None:
    """The "replay" field names the file and, for a user design, --design-file."""
    occ = document(recorded["occ"])
    assert occ["replay"] == (f"shardcheck replay {recorded['occ']} "
                             f"--design-file {recorded['design']}")
    assert document(recorded["stm"])["replay"] == f"shardcheck replay {recorded['stm']}"


# write_trace: atomic and never clobbering


@pytest.fixture(scope="module")
def trace(recorded: dict[str, Path]) -> Trace:
    """The recorded NaiveOcc trace, loaded."""
    return load_trace(recorded["occ"])


def test_write_trace_leaves_only_the_trace_in_the_directory(trace: Trace, cwd: Path) -> None:
    """A successful write leaves exactly one file, no temporary, and it loads back equal."""
    write_trace(trace, cwd / "out.json")
    assert [p.name for p in cwd.iterdir()] == ["out.json"]
    assert load_trace(cwd / "out.json") == trace


def test_write_trace_without_overwrite_keeps_the_existing_file(trace: Trace, cwd: Path) -> None:
    """overwrite=False on an existing file raises and leaves the original byte for byte."""
    target = cwd / "out.json"
    target.write_bytes(b"the original\n")
    with pytest.raises(BadInput, match="already exists; pass --force"):
        write_trace(trace, target)
    assert target.read_bytes() == b"the original\n"
    assert [p.name for p in cwd.iterdir()] == ["out.json"]


def test_written_trace_has_the_mode_of_an_ordinary_file(trace: Trace, cwd: Path) -> None:
    """Under umask 022 a written trace is readable by everyone (0644), like any other file."""
    old = os.umask(0o022)
    try:
        write_trace(trace, cwd / "out.json")
    finally:
        os.umask(old)
    assert (cwd / "out.json").stat().st_mode & 0o777 == 0o644


def test_write_trace_with_overwrite_replaces_the_file(trace: Trace, cwd: Path) -> None:
    """overwrite=True replaces the file whole and leaves no temporary behind."""
    target = cwd / "out.json"
    target.write_text("old\n")
    write_trace(trace, target, overwrite=True)
    assert load_trace(target) == trace
    assert [p.name for p in cwd.iterdir()] == ["out.json"]


def test_write_trace_never_clobbers_a_file_that_appears_during_the_write(
        trace: Trace, cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file created after the early check is still not overwritten, and no temporary stays."""
    target = cwd / "out.json"
    target.write_bytes(b"written by someone else\n")
    monkeypatch.setattr(trace_files, "check_writable", lambda path, overwrite: None)
    with pytest.raises(BadInput, match="already exists"):
        write_trace(trace, target)
    assert target.read_bytes() == b"written by someone else\n"
    assert [p.name for p in cwd.iterdir()] == ["out.json"]


def test_write_trace_that_fails_midway_leaves_nothing_behind(
        trace: Trace, cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the disk fails before the rename, neither the trace nor a temporary exists."""
    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write_trace(trace, cwd / "out.json")
    assert list(cwd.iterdir()) == []


def test_load_trace_of_a_non_utf8_file_is_a_trace_file_error(cwd: Path) -> None:
    """Bytes that are not UTF-8 are a TraceFileError that names the file."""
    Path("binary.json").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(TraceFileError, match=re.escape("trace file binary.json cannot be read")):
        load_trace("binary.json")
