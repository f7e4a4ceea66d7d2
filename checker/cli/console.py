"""What every command shares: where it prints, and one line and an exit code for errors.

The exit codes are ``checker.errors.EXIT_CODES``; ``shardcheck --help`` lists them. Errors
are one line on stderr, never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import attrs
import click
from rich.console import Console

from shardcheck import model
from shardcheck.checker.errors import (
    EXIT_BAD_INPUT,
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    InternalError,
    ShardcheckError,
)

F = TypeVar("F", bound=Callable[..., Any])

PIPE_WIDTH = 100
"""Columns of what we print into a pipe or a log when ``COLUMNS`` does not say."""


class CommandGroup(click.Group):
    """Turns our errors into one line and an exit code, never a traceback, and lists each
    command with the whole first sentence of its help."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ShardcheckError as exc:
            fail(str(exc), exc.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except model.WorkloadError as exc:
            fail(str(exc), EXIT_BAD_INPUT)
        except KeyboardInterrupt:
            fail("interrupted", EXIT_INTERRUPTED)
        except BrokenPipeError:
            # The reader went away (`| head`): nothing left to say to it.
            sys.stderr.close()
            sys.exit(EXIT_BROKEN_PIPE)
        except Exception as exc:  # anything else is ours
            error = InternalError(f"unexpected {type(exc).__name__}: {exc}")
            fail(str(error), error.exit_code)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Each command and its summary, whole: click would cut it to fit one line."""
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=sys.maxsize)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def fail(message: str, code: int) -> NoReturn:
    """One line on stderr, then exit with ``code``."""
    click.echo(f"shardcheck: error: {message}", err=True)
    sys.exit(code)


def pipe_width() -> int:
    """The width for output that is not a terminal: ``COLUMNS`` if it is a positive
    number, else ``PIPE_WIDTH``."""
    columns = os.environ.get("COLUMNS", "").strip()
    return int(columns) if columns.isdigit() and int(columns) > 0 else PIPE_WIDTH


def make_console(*, stderr: bool = False, quiet: bool = False) -> Console:
    """A console for what we print: a terminal's own width, or ``pipe_width()`` for pipes
    and logs; ``quiet`` prints nothing."""
    console = Console(highlight=False, soft_wrap=False, stderr=stderr, quiet=quiet)
    if not console.is_terminal:
        console = Console(highlight=False, soft_wrap=False, stderr=stderr, quiet=quiet,
                          width=pipe_width())
    return console


@attrs.frozen
class Output:
    """Where one command's words go.

    - ``report``: the header, statistics, tables, timelines and notes;
    - ``verdict``: the verdict lines (and where a trace was written, how to replay it);
    - ``progress``: live progress lines, drawn only on a terminal;
    - the result document, with ``--format json``: one JSON object on stdout.

    With ``--format text`` everything prints to stdout, and ``--quiet`` leaves only the
    verdict lines. With ``--format json`` stdout holds the document alone: the report
    and the verdict lines are not printed (the document says it all), progress goes to
    stderr, and ``--quiet`` leaves it out too; warnings and errors are stderr's anyway.
    """

    report: Console
    verdict: Console
    progress: Console
    json: bool
    quiet: bool

    @classmethod
    def of(cls, output_format: str, quiet: bool) -> Output:
        """The output of a command run with ``--format output_format`` and ``--quiet``."""
        if output_format == "json":
            silent = make_console(stderr=True, quiet=True)
            return cls(report=silent, verdict=silent,
                       progress=make_console(stderr=True, quiet=quiet), json=True, quiet=quiet)
        report = make_console(quiet=quiet)
        return cls(report=report, verdict=make_console(), progress=report, json=False,
                   quiet=quiet)

    def document(self, document: dict[str, Any]) -> None:
        """Write the result document on stdout, with ``--format json`` only."""
        if self.json:
            click.echo(json.dumps(document, indent=2, ensure_ascii=False))
