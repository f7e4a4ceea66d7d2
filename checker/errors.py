"""One exception hierarchy; each error knows its exit code and speaks to the user."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_VIOLATION = 1
EXIT_BAD_INPUT = 2
EXIT_INCONCLUSIVE = 3
EXIT_DIVERGED = 4
"""A replay left the recorded run: the design changed, or has hidden nondeterminism."""
EXIT_INTERNAL = 70
"""A bug in shardcheck itself (EX_SOFTWARE in sysexits.h)."""
EXIT_INTERRUPTED = 130
"""Ctrl-C: 128 + SIGINT, as shells report it."""
EXIT_BROKEN_PIPE = 141
"""The reader of our output went away (`| head`): 128 + SIGPIPE, as shells report it."""

EXIT_CODES: tuple[tuple[int, str], ...] = (
    (EXIT_OK, "nothing violated, and the check did all it claims (a search that finished)"),
    (EXIT_VIOLATION, "a violation found, a claim refuted, or a ci check or trace that did "
                     "not match"),
    (EXIT_BAD_INPUT, "bad input or usage: one line on stderr says what was wrong"),
    (EXIT_INCONCLUSIVE, "inconclusive: a bound, a time limit or z3 stopped the check first; "
                        "never a pass"),
    (EXIT_DIVERGED, "a replay diverged: the design changed, or has hidden nondeterminism"),
    (EXIT_INTERNAL, "a bug in shardcheck; the line on stderr says where to report it"),
    (EXIT_INTERRUPTED, "interrupted (Ctrl-C)"),
    (EXIT_BROKEN_PIPE, "the reader of the output went away (`| head`)"),
)
"""Every exit code a command can end with, and what it means: for help texts and docs."""

BUG_REPORT = "https://github.com/shardcheck/shardcheck/issues"

USER_CODE_FAILURES: tuple[type[BaseException], ...] = (Exception, SystemExit)
"""What a user's design code can raise that we report as its error: a design that calls
sys.exit() must not end the run with an exit code that reads as a verdict."""


class ShardcheckError(Exception):
    """An error shown to the user as one line, with an exit code."""

    exit_code = EXIT_BAD_INPUT


class BadInput(ShardcheckError):
    """The user gave something we cannot use: a name, a spec, a file."""


class DesignLoadError(BadInput):
    """A design could not be found or loaded."""


class TraceFileError(BadInput):
    """A trace file is missing, unreadable, corrupt or from another format version."""


class Inconclusive(ShardcheckError):
    """A question could not be decided within its budget; never a pass."""

    exit_code = EXIT_INCONCLUSIVE


class DesignBug(ShardcheckError):
    """A design broke the interface contract (an exception in step, a bad action, a state
    that cannot be fingerprinted); the message names the place in the design's code."""


def read_user_file(path: str | Path, kind: str, error: type[BadInput]) -> str:
    """The text of a file the user named; every way it can fail is one ``error`` line
    (``kind`` says what the file should be: "trace", "suite")."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{kind} file {path} does not exist") from None
    except IsADirectoryError:
        raise error(f"{path} is a directory, not a {kind} file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{kind} file {path} cannot be read: {exc}") from None


def parse_json(text: str, where: str, error: type[BadInput]) -> Any:
    """The JSON document in ``text`` (a file the user gave, named by ``where``); every way
    it can fail, hostile depth and numbers of thousands of digits included, is one
    ``error`` line."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{where} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                    f"{exc.msg}); it may be truncated") from None
    except RecursionError:
        raise error(f"{where} is nested too deeply to read") from None
    except ValueError as exc:  # an integer literal of thousands of digits
        raise error(f"{where} holds a number too large to read: {str(exc)[:120]}") from None


class InternalError(ShardcheckError):
    """Something went wrong inside shardcheck itself."""

    exit_code = EXIT_INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(f"{message} (this is a bug in shardcheck; please report it at "
                         f"{BUG_REPORT})")


def time_limit_problem(seconds: float) -> str | None:
    """Why ``seconds`` cannot be a time limit, or None when it can: a budget is a finite
    number of seconds above zero (nan would never stop a search; inf is no limit at all)."""
    if math.isfinite(seconds) and seconds > 0:
        return None
    return f"must be positive and finite (a number of seconds), got {seconds!r}"
