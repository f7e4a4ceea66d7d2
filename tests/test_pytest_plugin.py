"""The pytest plugin, as a user's suite meets it: run through pytester."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .test_design_errors import TICKER

pytest_plugins = ["pytester"]

FUZZ_TEST = '''
from shardcheck import fuzz_design


def test_the_ticker_survives_fuzzing(shardcheck_trace_dir):
    fuzz_design("ticker.py:Ticker", examples=5, trace_dir=shardcheck_trace_dir)
'''

OUR_SOURCE = ("checker/", "shardcheck/", "model/", "def fuzz_design", "raise FuzzFailure",
              "def explore", "hypothesis")
"""What a failure report shows when it shows shardcheck's frames."""


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A user's folder with the ticker design (its property fails at the second step),
    and no seed in the environment."""
    monkeypatch.delenv("SHARDCHECK_SEED", raising=False)
    pytester.makepyfile(ticker=TICKER)
    return pytester


def our_lines(output: list[str]) -> list[str]:
    """The lines of a run's failure reports that come from shardcheck's code or stack."""
    start = next(i for i, line in enumerate(output) if " FAILURES " in line)
    end = next(i for i, line in enumerate(output) if " short test summary info " in line)
    return [line for line in output[start:end] if any(part in line for part in OUR_SOURCE)
            and "trace: " not in line and "replay with: " not in line]


def test_a_fuzz_failure_shows_the_message_and_the_trace_path_not_our_source(
        suite: pytest.Pytester) -> None:
    """The user's line, the violation, the trace file and the replay command; none of
    shardcheck's frames."""
    suite.makepyfile(test_ticker=FUZZ_TEST)
    result = suite.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        ">       fuzz_design(\"ticker.py:Ticker\", examples=5, trace_dir=shardcheck_trace_dir)",
        "E       *FuzzFailure: ticker.py:Ticker violates below-two after 2 steps on *: "
        "the count reached two",
        "E       trace: *shardcheck-fuzz-ticker-*.trace.json",
        "E       replay with: shardcheck replay *shardcheck-fuzz-ticker-*.trace.json "
        "--design-file ticker.py",
        "test_ticker.py:5: FuzzFailure",
        "*- shardcheck traces -*",
        "*shardcheck-fuzz-ticker-*.trace.json",
    ])
    trace = next(line for line in result.outlines if line.startswith("E       trace: "))
    assert Path(trace.removeprefix("E       trace: ")).is_file()
    assert our_lines(result.outlines) == []
    # The frames are there to be shown: --fulltrace shows them.
    assert our_lines(suite.runpytest("--fulltrace").outlines) != []


def test_an_explore_check_on_a_broken_design_shows_the_users_line_not_ours(
        suite: pytest.Pytester) -> None:
    """An error for the user raised deep in the explorer: reported at the user's call."""
    suite.makepyfile(test_explore='''
        import shardcheck, ticker

        def test_the_ticker_explores(monkeypatch):
            monkeypatch.setattr(ticker, "extend", lambda log, value: [*log, value])
            config = shardcheck.Config(shardcheck.build_workload("counter:txs=1"), 1)
            shardcheck.explore(ticker.Ticker(), config)
        ''')
    result = suite.runpytest()
    result.assert_outcomes(failed=1)
    line = TICKER.splitlines().index("    def step(self, state, action):") + 1
    result.stdout.fnmatch_lines([
        ">       shardcheck.explore(ticker.Ticker(), config)",
        "E       *DesignBug: design 'ticker': step() on w0 tick at depth 0 returned a state "
        "that cannot be fingerprinted: state.log is a list; use a tuple instead (returned "
        f"by Ticker.step at ticker.py:{line})",
        "test_explore.py:6: DesignBug",
    ])
    assert our_lines(result.outlines) == []


def test_an_internal_error_keeps_our_frames_for_the_bug_report(
        suite: pytest.Pytester) -> None:
    """A bug in shardcheck is not the user's: its report shows where in our code."""
    suite.makepyfile(test_explore='''
        import shardcheck, ticker
        from shardcheck.checker.errors import InternalError
        from shardcheck.checker.search import explorer

        def test_the_ticker_explores(monkeypatch):
            def slip(value):
                raise InternalError("a slip")
            monkeypatch.setattr(explorer, "_key_of", slip)
            config = shardcheck.Config(shardcheck.build_workload("counter:txs=1"), 1)
            shardcheck.explore(ticker.Ticker(), config)
        ''')
    result = suite.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*checker/search/explorer.py:*", "E   *InternalError: a slip*"])


def test_the_trace_dir_is_a_tmp_dir_per_test_or_a_kept_folder_per_test(
        suite: pytest.Pytester) -> None:
    """Default: each test's own tmp_path. With --shardcheck-trace-dir DIR: DIR/<test id>,
    DIR taken from where pytest started."""
    suite.makepyfile(test_dirs='''
        import pytest

        @pytest.mark.parametrize("n", [1, 2])
        def test_writes(shardcheck_trace_dir, tmp_path, n):
            assert shardcheck_trace_dir.is_dir()
            print("DIR", shardcheck_trace_dir, tmp_path)
        ''')
    default = suite.runpytest("-s")
    default.assert_outcomes(passed=2)
    dirs = [line.partition("DIR ")[2].split() for line in default.outlines if "DIR " in line]
    assert [d == t for d, t in dirs] == [True, True] and dirs[0][0] != dirs[1][0]
    kept = suite.runpytest("-s", "--shardcheck-trace-dir", "kept")
    kept.assert_outcomes(passed=2)
    kept.stdout.fnmatch_lines([f"shardcheck: traces kept in {suite.path / 'kept'}"])
    assert sorted(p.name for p in (suite.path / "kept").iterdir()) == [
        "test_dirs.py-test_writes-1", "test_dirs.py-test_writes-2"]


def test_the_seed_option_is_the_default_seed_of_fuzz_design(
        suite: pytest.Pytester) -> None:
    """--shardcheck-seed N: the fixture says N, and a fuzz_design call without a seed
    fuzzes with N (its trace records it); without the option, 0; the environment is
    given back as it was."""
    suite.makepyfile(test_seed='''
        import os
        from shardcheck import FuzzFailure, fuzz_design

        def test_seed(shardcheck_seed, shardcheck_trace_dir):
            try:
                fuzz_design("ticker.py:Ticker", examples=5, trace_dir=shardcheck_trace_dir)
            except FuzzFailure as failure:
                recorded = dict(failure.result.trace.source)["seed"]
            print("SEED", shardcheck_seed, recorded, os.environ.get("SHARDCHECK_SEED"))
        ''')
    given = suite.runpytest("-s", "--shardcheck-seed", "5")
    given.assert_outcomes(passed=1)
    given.stdout.fnmatch_lines(["shardcheck: fuzz_design seed 5", "*SEED 5 5 5"])
    assert "SHARDCHECK_SEED" not in os.environ
    default = suite.runpytest("-s")
    default.assert_outcomes(passed=1)
    default.stdout.fnmatch_lines(["*SEED 0 0 None"])
    bad = suite.runpytest("--shardcheck-seed", "-1")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*--shardcheck-seed must be 0 or more, got -1"])


def test_the_marker_is_registered_and_selects_design_checks(suite: pytest.Pytester) -> None:
    """--strict-markers accepts @pytest.mark.shardcheck, and -m shardcheck selects them."""
    suite.makepyfile(test_marked='''
        import pytest

        @pytest.mark.shardcheck
        def test_a_design_check():
            pass

        def test_something_else():
            pass
        ''')
    result = suite.runpytest("--strict-markers", "-m", "shardcheck", "-v")
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines(["*test_a_design_check PASSED*"])
    listed = suite.runpytest("--markers")
    listed.stdout.fnmatch_lines(["@pytest.mark.shardcheck: a design check*"])


def test_the_plugin_imports_nothing_heavy() -> None:
    """Loaded in every pytest run where shardcheck is installed: beyond pytest and
    ``import shardcheck`` (its parent package) it imports nothing, and none of it is
    hypothesis, z3, rich, click, jsonschema or networkx, nor any checker subsystem."""
    def loaded(imports: str) -> set[str]:
        probe = f"import sys, {imports}; print(' '.join(sorted(sys.modules)))"
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                             check=True)
        return set(out.stdout.split())

    with_plugin = loaded("pytest, shardcheck.pytest_plugin")
    assert with_plugin - loaded("pytest, shardcheck") == {"shardcheck.pytest_plugin"}
    heavy = {"hypothesis", "z3", "rich", "click", "jsonschema", "networkx"}
    assert {m.split(".")[0] for m in with_plugin} & heavy == set()
    assert {m for m in with_plugin if m.startswith("shardcheck.checker.")} == set()
