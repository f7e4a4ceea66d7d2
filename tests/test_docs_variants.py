"""docs/variants.md runs as written: its files are written, its commands run, and each
ends with the exit code (and the words) the page says."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from .cli_helpers import flat, invoke
from .conftest import ROOT

PAGE = (ROOT / "docs" / "variants.md").read_text()
FILES = dict(re.findall(r"<!-- file: (\S+) -->\n```\w*\n(.*?)\n```", PAGE, re.S))
COMMANDS = [line.strip() for block in re.findall(r"```sh\n(.*?)\n```", PAGE, re.S)
            for line in block.splitlines() if line.strip()]


def test_the_page_has_files_and_commands() -> None:
    """The extraction finds what the page shows (a guard against a silent empty run)."""
    assert {"trusting.py", "ghost.py", "trusting_receipts.py", "swap.json",
            "bumps.py"} <= set(FILES)
    assert len(COMMANDS) >= 12


def test_every_command_on_the_page_gives_what_it_says(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """In order, in one folder (a later command may replay an earlier one's trace)."""
    monkeypatch.chdir(tmp_path)
    for name, text in FILES.items():
        (tmp_path / name).write_text(text + "\n")
    for line in COMMANDS:
        command, _, comment = line.partition("#")
        expected = re.fullmatch(r"\s*exit (\d+)(?::\s*(.*))?", comment)
        assert expected is not None, f"no exit code stated for {line!r}"
        args = shlex.split(command)
        assert args[0] == "shardcheck"
        result = invoke(*args[1:])
        said = flat(result.output + (result.stderr if result.stderr_bytes else ""))
        assert result.exit_code == int(expected.group(1)), f"{line}\n{said}"
        if expected.group(2):
            assert flat(expected.group(2)) in said, f"{line}\n{said}"
