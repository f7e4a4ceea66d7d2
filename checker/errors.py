"""One exception hierarchy; each error knows its exit code and speaks to the user."""

from __future__ import annotations

EXIT_OK = 0
EXIT_VIOLATION = 1
EXIT_BAD_INPUT = 2
EXIT_INCONCLUSIVE = 3

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
    """A design broke the interface contract (an exception in step, a bad action)."""


class InternalError(ShardcheckError):
    """Something went wrong inside shardcheck itself."""

    exit_code = 70

    def __init__(self, message: str) -> None:
        super().__init__(f"{message} (this is a bug in shardcheck; please report it at "
                         f"{BUG_REPORT})")
