"""A bug in the user's design is theirs to fix: exit 2, their file and line, no traceback.

Two bugs, on every path that runs a design: a step that puts a list in the state (the
state cannot be fingerprinted, which is found where it is encoded, outside the design's
code) and a step whose helper raises. And one slip of ours, which stays exit 70.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import Result

from shardcheck.checker.design import resolve_design
from shardcheck.checker.search import explorer

from .cli_helpers import assert_bad_input, invoke

TICKER = '''\
"""One actor ticks a counter twice; its own property fails when the count reaches two."""

import attrs

from shardcheck.model import Action, Outcome, Property, Store

PACKED = []


@attrs.frozen
class State:
    count: int
    log: tuple


def extend(log, value):
    return (*log, value)


class Ticker:
    name = "ticker"
    summary = "one actor ticks a counter twice"
    criteria = ()

    def initial(self, config):
        return State(0, ())

    def actions(self, state):
        return () if state.count >= 2 else (Action("w0", "tick"),)

    def step(self, state, action):
        return State(state.count + 1, extend(state.log, state.count))

    def is_terminal(self, state):
        return state.count >= 2

    def outcome(self, state):
        return Outcome(Store(), (), ())

    def properties(self):
        return (Property("below-two", "the count stays below two", "state",
                         lambda state: None if state.count < 2 else "the count reached two"),)

    def mutants(self):
        return ()
'''

PACKED = '''

class Packing:
    """The count alone (the log is left out, as a packing may when nothing reads it)."""

    def pack(self, state):
        return state.count

    def unpack(self, code):
        return State(code, ())

    def successors(self, code):
        return None if code >= 2 else [code + 1]

    def canonical(self, code):
        return code


class PackedTicker(Ticker):
    portable_packing = True

    def compact(self, initial):
        PACKED.append(initial)
        return Packing()
'''

BUGS = {
    # The step returns a list inside the state: reported at the step's definition.
    "a list in the state": ("        return State(state.count + 1, extend(state.log, state.count))",
                            "        return State(state.count + 1, [*state.log, state.count])",
                            "    def step(self, state, action):",
                            "returned a state that cannot be fingerprinted: state.log is a list; "
                            "use a tuple instead (returned by Ticker.step at "),
    # The step's helper raises: reported at the helper's line that raised.
    "an exception in the design's code": ("    return (*log, value)", "    return log + [value]",
                                          "    return log + [value]",
                                          'raised TypeError: can only concatenate tuple (not '
                                          '"list") to tuple (at '),
}

PATHS = {
    "explore": ("Ticker", ("explore",)),
    "explore, compact path": ("PackedTicker", ("explore",)),
    "explore --jobs 2": ("Ticker", ("explore", "--jobs", "2")),
    "explore --jobs 2, compact path": ("PackedTicker", ("explore", "--jobs", "2")),
    "fuzz": ("Ticker", ("fuzz", "-n", "5", "--no-database")),
    "fuzz --jobs 2": ("Ticker", ("fuzz", "-n", "5", "--no-database", "--jobs", "2")),
}


def write_design(folder: Path, bug: str | None) -> tuple[Path, int]:
    """The ticker (and its packed variant) with ``bug`` planted; the file and the line
    the error must name."""
    source = TICKER + PACKED
    line = 0
    if bug is not None:
        good, bad, named, _ = BUGS[bug]
        assert source.count(good) == 1
        source = source.replace(good, bad)
        line = source.splitlines().index(named) + 1
    path = folder / "ticker.py"
    path.write_text(source)
    return path, line


def assert_names_the_users_line(result: Result, capfd: pytest.CaptureFixture[str],
                                path: Path, line: int, fragment: str) -> None:
    """Exit 2, one line with ``fragment`` and ``path:line``, and no traceback anywhere
    (worker processes write to the real stderr, not the runner's)."""
    error = assert_bad_input(result, "design 'ticker': ", fragment)
    assert error.endswith(f"{path.name}:{line})"), error
    assert "this is a bug in shardcheck" not in error
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.parametrize("bug", BUGS)
@pytest.mark.parametrize("path", PATHS)
def test_a_bug_in_the_design_names_the_users_file_and_line(
        tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        bug: str, path: str) -> None:
    """Every path that runs a design: exit 2 with the user's file and line, no traceback."""
    monkeypatch.chdir(tmp_path)
    design, line = write_design(tmp_path, bug)
    name, command = PATHS[path]
    result = invoke(*command, f"{design}:{name}", "-w", "counter:txs=1", "-k", "1", "-q")
    assert_names_the_users_line(result, capfd, design, line, BUGS[bug][3])
    if name == "PackedTicker" and "--jobs" not in command:
        module = sys.modules[type(resolve_design(f"{design}:{name}")[0]).__module__]
        assert module.PACKED, "the compact path was not taken"


@pytest.mark.parametrize("bug", BUGS)
def test_replaying_with_a_design_that_has_a_bug_names_the_users_file_and_line(
        tmp_path: Path, capfd: pytest.CaptureFixture[str], bug: str) -> None:
    """A trace recorded from the sound design, replayed with a broken one."""
    sound, _ = write_design(tmp_path, None)
    trace = tmp_path / "ticker.trace.json"
    found = invoke("explore", f"{sound}:Ticker", "-w", "counter:txs=1", "-k", "1", "-q",
                   "--trace-out", str(trace))
    assert found.exit_code == 1, found.output
    broken_folder = tmp_path / "broken"
    broken_folder.mkdir()
    broken, line = write_design(broken_folder, bug)
    result = invoke("replay", str(trace), "--design-file", str(broken))
    assert_names_the_users_line(result, capfd, broken, line, BUGS[bug][3])


@pytest.mark.parametrize("command", [("explore",), ("explore", "--jobs", "2")])
def test_a_list_in_the_initial_state_names_initial(
        tmp_path: Path, capfd: pytest.CaptureFixture[str], command: tuple[str, ...]) -> None:
    """initial() returning a dict inside the state: its path, what to use, initial's line."""
    design, _ = write_design(tmp_path, None)
    source = design.read_text().replace("return State(0, ())", "return State(0, ({},))")
    design.write_text(source)
    line = source.splitlines().index("    def initial(self, config):") + 1
    result = invoke(*command, f"{design}:Ticker", "-w", "counter:txs=1", "-k", "1", "-q")
    assert_names_the_users_line(
        result, capfd, design, line,
        "initial() returned a state that cannot be fingerprinted: state.log[0] is a dict; "
        "use a tuple of (key, value) pairs in key order, or a frozen attrs class instead "
        "(returned by Ticker.initial at ")


def test_a_type_error_of_ours_while_hashing_a_sound_state_is_still_our_bug(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a state with a part that cannot be encoded is the design's fault: a TypeError
    in our own key computation on a sound state says exit 70 and asks for a report."""
    design, _ = write_design(tmp_path, None)

    def slip(value: object) -> int:
        raise TypeError("a slip of ours")

    monkeypatch.setattr(explorer, "_key_of", slip)
    result = invoke("explore", f"{design}:Ticker", "-w", "counter:txs=1", "-k", "1", "-q")
    assert result.exit_code == 70, result.output
    assert "unexpected TypeError: a slip of ours" in result.stderr
    assert "this is a bug in shardcheck" in result.stderr
