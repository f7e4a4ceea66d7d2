"""Every example in docs/histories.md runs, and prints what the page shows.

The page marks the files its examples use with ``<!-- file: NAME -->`` before a fenced
block; each command (a line ``$ shardcheck ...`` in a fenced block, its output the lines
after it) runs in a fresh folder holding those files and links to ``traces/`` and
``tests/``. Timings in ``explore`` output are masked. Its Python session runs as a
doctest. To rewrite the outputs on the page after a change, run this file with
SHARDCHECK_UPDATE_DOCS=1 and review the diff.
"""

from __future__ import annotations

import doctest
import os
import re
import shlex
from pathlib import Path

import pytest

from .cli_helpers import invoke
from .conftest import ROOT

PAGE = ROOT / "docs" / "histories.md"
FENCE = "```"
UPDATE = os.environ.get("SHARDCHECK_UPDATE_DOCS") == "1"


def _blocks(lines: list[str]) -> list[tuple[int, int, str, str | None]]:
    """Fenced blocks as (first content line, line after the last, language, file name)."""
    out = []
    i = 0
    name = None
    while i < len(lines):
        marker = re.fullmatch(r"<!-- file: (\S+) -->", lines[i].strip())
        if marker:
            name = marker.group(1)
        elif lines[i].startswith(FENCE):
            language = lines[i][len(FENCE):].strip()
            end = i + 1
            while not lines[end].startswith(FENCE):
                end += 1
            out.append((i + 1, end, language, name))
            name = None
            i = end
        i += 1
    return out


LINES = PAGE.read_text(encoding="utf-8").splitlines()
BLOCKS = _blocks(LINES)
FILES = {name: "\n".join(LINES[a:b]) + "\n" for a, b, _, name in BLOCKS if name}


def _commands() -> list[tuple[int, int, str]]:
    """Each command as (its line, the line after its output, the command)."""
    out = []
    for start, end, _, name in BLOCKS:
        if name:
            continue
        starts = [i for i in range(start, end) if LINES[i].startswith("$ shardcheck ")]
        for j, i in enumerate(starts):
            stop = starts[j + 1] if j + 1 < len(starts) else end
            out.append((i, stop, LINES[i][2:]))
    return out


COMMANDS = _commands()
_MASKED = re.compile(r"^(time|states/second)\s+\S+$")


def _normal(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.rstrip("\n").splitlines()]
    return [_MASKED.sub(lambda m: f"{m.group(1)} …", line) for line in lines]


def _run(command: str, folder: Path) -> str:
    for name, text in FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    for name in ("traces", "tests"):
        (folder / name).symlink_to(ROOT / name)
    previous = Path.cwd()
    os.chdir(folder)
    try:
        result = invoke(*shlex.split(command)[1:])
    finally:
        os.chdir(previous)
    return result.output


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """The page shows output 150 columns wide, as a log keeps it (COLUMNS=150)."""
    monkeypatch.setenv("COLUMNS", "150")


def test_the_page_has_examples() -> None:
    """The page shows commands and the files they use."""
    assert len(COMMANDS) >= 20
    assert {"ambiguous.json", "bad.json", "transfers.jsonl", "lists.json"} <= set(FILES)


@pytest.mark.parametrize(("line", "stop", "command"), COMMANDS,
                         ids=[f"line{line + 1}" for line, _, _ in COMMANDS])
def test_each_command_prints_what_the_page_shows(tmp_path: Path, line: int, stop: int,
                                                 command: str) -> None:
    """The output below each command on the page is what it prints (trailing spaces and
    explore's timings aside)."""
    printed = _run(command, tmp_path)
    got = _normal(printed)
    if UPDATE:
        _rewrite(line, [text.rstrip() for text in printed.rstrip("\n").splitlines()])
        return
    shown = [text.rstrip() for text in LINES[line + 1:stop]]
    assert got == _normal("\n".join(shown)), f"docs/histories.md:{line + 1}: {command}"


def _rewrite(line: int, printed: list[str]) -> None:
    """Replace one command's output on the page (update mode)."""
    current = PAGE.read_text(encoding="utf-8").splitlines()
    at = current.index(LINES[line])
    end = at + 1
    while end < len(current) and not current[end].startswith(("$ ", FENCE)):
        end += 1
    current[at + 1:end] = printed
    PAGE.write_text("\n".join(current) + "\n", encoding="utf-8")


def test_every_file_on_the_page_is_a_valid_example() -> None:
    """The JSON files the page shows load (or, for the two meant to, fail to)."""
    from shardcheck.checker.history.files import HistoryFileError, load_history

    for name, text in FILES.items():
        path = Path("/tmp") / f"shardcheck-docs-{os.getpid()}-{name}"
        path.write_text(text, encoding="utf-8")
        try:
            if name in ("ambiguous.json", "bad.json"):
                with pytest.raises(HistoryFileError):
                    load_history(path)
            else:
                load_history(path)
        finally:
            path.unlink()


def test_the_python_session_runs() -> None:
    """The page's `>>>` examples give what they show."""
    text = "\n\n".join("\n".join(LINES[a:b]) for a, b, language, _ in BLOCKS
                       if language == "python")
    parser = doctest.DocTestParser()
    test = parser.get_doctest(text, {}, "histories.md", str(PAGE), 0)
    assert test.examples
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.failures == 0
