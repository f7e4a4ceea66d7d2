"""Suite files: this repository's own, where they are found, and malformed ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from shardcheck import model
from shardcheck.checker.ci.suite import load_suite

from .cli_helpers import assert_bad_input, invoke
from .conftest import ROOT


def test_the_repository_suite_holds_every_block_stm_mutant_with_its_known_property() -> None:
    """Each mutant is expected to violate exactly the property its known failure names."""
    suite = load_suite(ROOT / "shardcheck.toml")
    expected = {c.design: c.property for c in suite.checks
                if c.expect == "violation" and c.strategy == "explore"}
    design = model.builtin_designs()["block-stm"]
    for mutant in design.mutants():
        assert mutant.known_failure is not None
        assert expected[f"block-stm:{mutant.name}"] == mutant.known_failure.property


def test_the_repository_suite_checks_the_built_in_designs_pass() -> None:
    """serial and block-stm are each expected to pass on some small configuration."""
    suite = load_suite(ROOT / "shardcheck.toml")
    passing = {c.design for c in suite.checks if c.expect == "pass"}
    assert set(model.builtin_designs()) <= passing
    assert suite.corpus == ROOT / "traces"


def test_a_suite_is_found_in_pyproject_when_there_is_no_shardcheck_toml(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """[tool.shardcheck] in pyproject.toml is a suite too."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.shardcheck]\ncorpus = "kept"\n\n'
        '[tool.shardcheck.checks.serial]\ndesign = "serial"\n'
        'workload = "counter:txs=2"\nexpect = "pass"\n')
    monkeypatch.chdir(tmp_path)
    suite = load_suite()
    assert [c.name for c in suite.checks] == ["serial"]
    assert suite.corpus == Path("kept")
    assert suite.corpus_given


GOOD = '[checks.ok]\ndesign = "serial"\nworkload = "counter:txs=2"\nexpect = "pass"\n'

MALFORMED = [
    ('[checks.c]\ndesign = "serial"\nworkload = "counter:txs=2"\nexpect = "pass"\n'
     'workers = 0\n', ("check 'c'", "field 'workers'", "positive")),
    ('[checks.c]\ndesign = "serial"\nworkload = "counter:txs=2"\nexpect = "pass"\n'
     'max_sates = 10\n', ("check 'c'", "field 'max_sates'", "did you mean 'max_states'")),
    ('[checks.c]\ndesign = "serial"\nworkload = "counter:txs=2"\n',
     ("check 'c'", "field 'expect'", "missing")),
    ('[checks.c]\ndesign = "block-stm:no-such"\nworkload = "counter:txs=2"\nexpect = "pass"\n',
     ("check 'c'", "field 'design'", "no mutant 'no-such'")),
    ('[checks.c]\ndesign = "serial"\nworkload = "countr:txs=2"\nexpect = "pass"\n',
     ("check 'c'", "field 'workload'")),
    ('[checks.c]\ndesign = "serial"\nworkload = "counter:txs=2"\nexpect = "violation"\n',
     ("check 'c'", "field 'property'", "missing")),
    ('[checks.c]\ndesign = "block-stm"\nworkload = "counter:txs=2"\nexpect = "violation"\n'
     'property = "serial-equivalnce"\n',
     ("check 'c'", "field 'property'", "did you mean 'serial-equivalence'")),
    ('[checks.c]\ndesign = "serial"\nworkload = "counter:txs=2"\nexpect = "pass"\n'
     'examples = 5\n', ("check 'c'", "field 'examples'", "does not apply to strategy 'explore'")),
    ('[checks.c]\ndesign = "serial"\nworkload = "counter:txs=2"\nexpect = "maybe"\n',
     ("check 'c'", "field 'expect'", "one of pass, violation")),
    ('[checks.c]\ndesign = "serial"\nworkload = "counter:txs=2"\nexpect = "pass"\n'
     'time_limit = true\n', ("check 'c'", "field 'time_limit'")),
    ('[checks.c]\ndesign = "serial"\nstrategy = "fuzz"\nworkload_strategy = "nope:txs=2-3"\n'
     'expect = "pass"\n', ("check 'c'", "field 'workload_strategy'")),
    (GOOD + 'colour = "blue"\n', ("field 'colour'", "unknown")),
    ('checks = 3\n', ("field checks", "table of named checks")),
    ('corpus = "traces"\n', ("no checks",)),
    ('[checks.c\n', ("not valid TOML",)),
]


@pytest.mark.parametrize(("text", "fragments"), MALFORMED,
                         ids=[f[1][-1][:30] for f in MALFORMED])
def test_a_malformed_suite_is_one_line_naming_file_check_and_field(
        tmp_path: Path, text: str, fragments: tuple[str, ...]) -> None:
    """Exit 2 and one line that names the file, the check and the field."""
    suite = tmp_path / "shardcheck.toml"
    suite.write_text(text)
    junit = tmp_path / "report.xml"
    result = invoke("ci", "--suite", str(suite), "--junit", str(junit))
    assert_bad_input(result, str(suite), *fragments)
    assert not junit.exists()


def test_a_missing_suite_file_is_bad_input(tmp_path: Path) -> None:
    """A --suite that does not exist: one line, exit 2."""
    assert_bad_input(invoke("ci", "--suite", str(tmp_path / "nope.toml")), "does not exist")


def test_only_an_unknown_check_is_bad_input(tmp_path: Path) -> None:
    """--only with a name the suite lacks says which names it has."""
    suite = tmp_path / "shardcheck.toml"
    suite.write_text(GOOD)
    assert_bad_input(invoke("ci", "--suite", str(suite), "--only", "okk"),
                     "--only 'okk'", "did you mean 'ok'")


def test_a_named_corpus_that_does_not_exist_is_bad_input(tmp_path: Path) -> None:
    """corpus = "DIR" must name a directory that exists."""
    suite = tmp_path / "shardcheck.toml"
    suite.write_text('corpus = "kept"\n' + GOOD)
    assert_bad_input(invoke("ci", "--suite", str(suite)), "field corpus", "does not exist")
