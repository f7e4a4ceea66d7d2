"""Running the CLI in tests: in-process, and never ending in a traceback."""

from __future__ import annotations

from click.testing import CliRunner, Result

from shardcheck.checker.cli.main import main


def invoke(*args: str) -> Result:
    """Run the CLI in-process and check it ended by an exit code, never by a traceback."""
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"shardcheck raised {result.exception!r}:\n{result.output}"
    )
    assert "Traceback" not in result.output
    return result


def flat(text: str) -> str:
    """The output with rich's line wrapping undone: every run of whitespace is one space."""
    return " ".join(text.split())


def assert_bad_input(result: Result, *fragments: str) -> str:
    """Exit 2 with one ``shardcheck: error:`` line on stderr that contains every fragment."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("shardcheck: error: "), line
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} not in {line!r}"
    return line
