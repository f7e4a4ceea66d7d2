"""What every command shares: the console it prints to, and one line and an exit code for errors.

Exit codes: 0 nothing violated and the check did all it claims; 1 a violation was
found or a replay diverged; 2 bad input or usage; 3 inconclusive (a search cut off by
a bound). Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console

from shardcheck import model
from shardcheck.checker.errors import InternalError, ShardcheckError

F = TypeVar("F", bound=Callable[..., Any])


class CommandGroup(click.Group):
    """Turns our errors into one line and an exit code; never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ShardcheckError as exc:
            fail(str(exc), exc.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except model.WorkloadError as exc:
            fail(str(exc), 2)
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except BrokenPipeError:
            # The reader went away (`| head`): nothing left to say to it.
            sys.stderr.close()
            sys.exit(141)
        except Exception as exc:  # anything else is ours
            error = InternalError(f"unexpected {type(exc).__name__}: {exc}")
            fail(str(error), error.exit_code)


def fail(message: str, code: int) -> NoReturn:
    """One line on stderr, then exit with ``code``."""
    click.echo(f"shardcheck: error: {message}", err=True)
    sys.exit(code)


def make_console() -> Console:
    """A console for what we print: a terminal's width, or the COLUMNS of a pipe."""
    console = Console(highlight=False, soft_wrap=False)
    if not console.is_terminal:  # logs and pipes: wide enough for a timeline to stay legible
        console = Console(highlight=False, soft_wrap=False, width=150)
    return console
