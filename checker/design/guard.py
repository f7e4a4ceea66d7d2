"""Calling a design's code: whatever goes wrong in it is reported as the design's error.

The design's author reads these errors, so each names a place in their code: for an
exception, the innermost line of the traceback that is in the design's own file; for a
state that cannot be fingerprinted, the part of the state at fault, what to use
instead, and the method that returned it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from shardcheck import model
from shardcheck.checker.errors import USER_CODE_FAILURES, BadInput, DesignBug


def call_design(who: str, what: str, function: Callable[..., Any], *args: Any) -> Any:
    """Call ``function(*args)``; a failure becomes a ``DesignBug`` naming ``who`` and ``what``.

    The one exception: ``initial()`` refusing the workload with ``model.WorkloadError``
    (a cross-module design given a block with no cross-module transfer, say) is the
    user's input, not the design's bug.
    """
    try:
        return function(*args)
    except model.WorkloadError as exc:
        if what == "initial()":
            raise BadInput(f"{who} cannot run this workload: {exc}") from None
        raise design_bug(who, what, exc, function) from None
    except USER_CODE_FAILURES as exc:
        raise design_bug(who, what, exc, function) from None


def design_bug(who: str, what: str, exc: BaseException,
               function: Callable[..., Any]) -> DesignBug:
    """The error for the design's ``function`` raising ``exc``: what ran, the exception,
    and the line of the design's code it came from."""
    where = raised_at(exc, code_files(function))
    return DesignBug(f"{who}: {what} raised {type(exc).__name__}: {exc}"
                     + (f" (at {where})" if where else ""))


def code_files(function: Callable[..., Any]) -> tuple[str, ...]:
    """The files that hold ``function``'s code, nearest first: for a method, those of its
    object's class and then of its bases (a user's subclass before the built-in design it
    extends); for a plain function, its own."""
    owner = getattr(function, "__self__", None)
    if owner is None or inspect.ismodule(owner):
        code = getattr(inspect.unwrap(function), "__code__", None)
        return (code.co_filename,) if code is not None else ()
    files: list[str] = []
    for cls in type(owner).__mro__:
        try:
            file = inspect.getfile(cls)
        except TypeError:  # a built-in class: no file
            continue
        if file not in files:
            files.append(file)
    return tuple(files)


def innermost_line(exc: BaseException, files: Sequence[str]) -> tuple[str, int] | None:
    """The file and line of the innermost frame of ``exc``'s traceback in the first of
    ``files`` that has one; None when none has."""
    frames: list[tuple[str, int]] = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append((tb.tb_frame.f_code.co_filename, tb.tb_lineno))
        tb = tb.tb_next
    for file in files:
        for name, line in reversed(frames):
            if name == file:
                return file, line
    return None


def raised_at(exc: BaseException, files: Sequence[str]) -> str:
    """``path:line`` of ``innermost_line``, as the user would type it; "" when none."""
    found = innermost_line(exc, files)
    return "" if found is None else f"{shown(found[0])}:{found[1]}"


def shown(file: str) -> str:
    """A path as the user would type it: relative to the working directory when under it."""
    try:
        return str(Path(file).relative_to(Path.cwd()))
    except (ValueError, OSError):
        return file


def stepped(action: model.Action, depth: int) -> str:
    """The design call that took ``action`` at ``depth``, as errors name it."""
    return f"step() on {action.actor} {action.label()} at depth {depth}"


def fingerprint_of(design: model.Design, method: str, what: str, state: Any) -> str:
    """``model.fingerprint(state)`` of a state the design's ``method`` returned (``what``
    says which call, as ``step() on w0 read x at depth 2``); a state that cannot be
    fingerprinted is the design's error (``refuse_unencodable``)."""
    try:
        return model.fingerprint(state)
    except TypeError:
        refuse_unencodable(design, method, what, state)
        raise


def refuse_unencodable(design: model.Design, method: str, what: str, state: Any) -> None:
    """Raise the design's error when a part of ``state`` has no canonical encoding.

    Called where encoding a state failed with TypeError, never per state: the whole
    state is walked only then. If every part can be encoded, the failure was not the
    design's, and the caller re-raises it as ours.
    """
    found = model.unencodable(state)
    if found is None:
        return
    path, value = found
    kind = type(value).__name__
    article = "an" if kind[:1].lower() in "aeiou" else "a"
    where = method_line(design, method)
    raise DesignBug(
        f"design {design.name!r}: {what} returned a state that cannot be fingerprinted: "
        f"{path} is {article} {kind}; use {_instead(value)} instead"
        + (f" (returned by {where})" if where else "")) from None


def refuse_unencodable_key(design: model.Design, what: str, state: Any,
                           canonical: Callable[[Any], Any] | None) -> None:
    """After the visited-set key of a state that ``step()`` returned (``what`` says which
    call) could not be computed: the design's error when the state, or its symmetry
    representative (``canonical``), has a part with no canonical encoding."""
    refuse_unencodable(design, "step", what, state)
    if canonical is not None:
        representative = call_design(f"design {design.name!r}", "canonical()", canonical, state)
        refuse_unencodable(design, "canonical", "canonical()", representative)


def _instead(value: object) -> str:
    """What to put in a state in place of ``value``."""
    if isinstance(value, list | bytearray):
        return "a tuple"
    if isinstance(value, set):
        return "a frozenset"
    if isinstance(value, dict):
        return "a tuple of (key, value) pairs in key order, or a frozen attrs class"
    if isinstance(value, float):
        return "an int (model values are integers)"
    return "a frozen attrs class (@attrs.frozen), a tuple or a frozenset"


def method_line(design: model.Design, method: str) -> str:
    """``Class.method at path:line`` of the design's method, where its definition starts;
    "" when it has no Python source."""
    function = getattr(type(design), method, None)
    if function is None:
        return ""
    try:
        function = inspect.unwrap(function)
        file = inspect.getsourcefile(function)
        _, line = inspect.getsourcelines(function)
    except (TypeError, OSError):
        return ""
    if file is None:
        return ""
    name = getattr(function, "__qualname__", method)
    return f"{name} at {shown(file)}:{line}"
