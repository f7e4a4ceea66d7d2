"""The options every command spells the same way: one definition each.

``--time-limit SECONDS`` is the one name of a time budget; ``--format text|json``,
``-q/--quiet`` and ``--force`` mean the same on every command that has them. An older
spelling of an option stays as a hidden alias: it still works and says once, on stderr,
which name to use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from shardcheck.checker.cli.console import F
from shardcheck.checker.errors import BadInput, time_limit_problem

_ALIASED = "shardcheck.aliased"
"""``ctx.meta`` key: for each option given by an old spelling, that spelling, the new one
and the value."""


if TYPE_CHECKING:  # generic in the click that mypy reads; not in every click we run on
    _ParamType = click.ParamType[float, Any]
else:
    _ParamType = click.ParamType


class Seconds(_ParamType):
    """A time limit: a finite number of seconds above zero; anything else is one line."""

    name = "seconds"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> float:
        option = param.opts[0] if param is not None and param.opts else "the time limit"
        if isinstance(value, bool):
            raise BadInput(f"{option} must be a number of seconds, got {value!r}")
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            raise BadInput(f"{option} must be a number of seconds, got {value!r}") from None
        problem = time_limit_problem(seconds)
        if problem is not None:
            raise BadInput(f"{option} {problem}")
        return seconds


def _take_alias(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Callback of an option that has an old spelling: the old spelling's value when only
    it was given; both given is an error."""
    assert param.name is not None
    given = ctx.meta.get(_ALIASED, {}).get(param.name)
    if given is None:
        return value
    old, new, old_value = given
    if ctx.get_parameter_source(param.name) is ParameterSource.COMMANDLINE:
        raise BadInput(f"{old} is another name for {new}: give {new} only")
    return old_value


def _alias(old: str, target: str, new: str, *, warn: bool,
           value: Any = None) -> Callable[[click.Context, click.Parameter, Any], None]:
    """The callback of the hidden option ``old``, which sets option ``target`` (spelled
    ``new``): to ``value`` for a flag, else to what was given."""

    def remember(ctx: click.Context, param: click.Parameter, given: Any) -> None:
        if given is None or given is False:
            return
        if ctx.get_parameter_source(target) is ParameterSource.COMMANDLINE:
            raise BadInput(f"{old} is another name for {new}: give {new} only")
        if warn:
            click.echo(f"shardcheck: warning: {old} is deprecated; use {new}", err=True)
        ctx.meta.setdefault(_ALIASED, {})[target] = (old, new,
                                                      given if value is None else value)

    return remember


def _apply(func: F, options: Sequence[Callable[[Any], Any]]) -> F:
    for option in reversed(options):
        func = option(func)
    return func


def time_limit_option(help: str, *, default: float | None = None,
                      old: str | None = None) -> Callable[[F], F]:
    """``--time-limit SECONDS``, and ``old`` (``--timeout``) as its deprecated alias."""
    options: list[Callable[[Any], Any]] = [
        click.option("--time-limit", type=Seconds(), default=default,
                     show_default=default is not None, metavar="SECONDS",
                     callback=_take_alias, help=help)]
    if old is not None:
        options.append(click.option(old, type=Seconds(), default=None, hidden=True,
                                    expose_value=False, metavar="SECONDS",
                                    callback=_alias(old, "time_limit", "--time-limit",
                                                    warn=True)))
    return lambda func: _apply(func, options)


def format_option(help: str, *, json_flag: bool = False) -> Callable[[F], F]:
    """``--format text|json`` (as ``output_format``); ``json_flag`` keeps ``--json`` as
    a hidden alias of ``--format json``."""
    options: list[Callable[[Any], Any]] = [
        click.option("--format", "output_format", type=click.Choice(["text", "json"]),
                     default="text", show_default=True, callback=_take_alias, help=help)]
    if json_flag:
        options.append(click.option("--json", is_flag=True, hidden=True, expose_value=False,
                                    callback=_alias("--json", "output_format",
                                                    "--format json", warn=False,
                                                    value="json")))
    return lambda func: _apply(func, options)


def quiet_option(func: F) -> F:
    """``-q/--quiet``: no progress, no header, no timeline; only the verdict lines."""
    return click.option("--quiet", "-q", is_flag=True,
                        help="No progress, header, tables or timeline: only the verdict "
                             "lines (with --format json, no progress on stderr either).")(func)


def force_option(what: str) -> Callable[[F], F]:
    """``--force``: without it no command replaces a file that exists."""
    return click.option("--force", is_flag=True, help=f"Overwrite {what} if it exists.")
