"""shardcheck's pytest plugin: what a user's own design checks need from pytest.

Registered as the ``pytest11`` entry point ``shardcheck``, so pytest loads it in every
run wherever shardcheck is installed (``-p no:shardcheck`` turns it off). It gives:

- the fixture ``shardcheck_trace_dir``: the folder a test's checks write trace files
  into (``fuzz_design(..., trace_dir=shardcheck_trace_dir)``, ``write_trace``). By
  default the test's own ``tmp_path``; with ``--shardcheck-trace-dir DIR``, the kept
  folder ``DIR/<test id>`` (created; files from earlier runs are left in place);
- the option ``--shardcheck-seed N``: the seed of every ``fuzz_design`` call in the run
  that gives none. The plugin puts it in the environment variable ``SHARDCHECK_SEED``,
  which is where ``fuzz_design`` reads its default (and where a script or a CI job can
  set it without pytest); the fixture ``shardcheck_seed`` is that seed, for a test that
  passes it on explicitly or records it;
- the marker ``shardcheck`` ("a design check"), registered, so ``--strict-markers``
  accepts it and ``-m shardcheck`` selects the design checks;
- short failures: a check that fails with one of our errors for the user
  (``FuzzFailure``, a bad input, a design bug: not an internal error, whose stack a bug
  report needs) is reported at the user's own line with the message (violation, trace
  path, replay command), without shardcheck's frames (``--fulltrace`` keeps them); and a
  failed test that wrote trace files into ``shardcheck_trace_dir`` lists them.

It costs nothing to load: pytest and the standard library only. shardcheck itself (and
hypothesis, which fuzzing needs) is imported when a fixture or an option asks for it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import sys
import time
from collections.abc import Generator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pluggy import Result

_TRACE_DIR = pytest.StashKey[tuple[Path, int]]()
"""On a test item: the trace folder its ``shardcheck_trace_dir`` gave, and when."""

_SAVED_SEED = pytest.StashKey[str | None]()
"""On the config: ``SHARDCHECK_SEED`` as it was before ``--shardcheck-seed`` set it."""

MARKER = "shardcheck: a design check (explores, fuzzes or replays a design); " \
         "-m shardcheck selects them"


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--shardcheck-trace-dir`` and ``--shardcheck-seed``."""
    group = parser.getgroup("shardcheck", "shardcheck design checks")
    group.addoption(
        "--shardcheck-trace-dir", metavar="DIR", default=None,
        help="keep the trace files that design checks write into shardcheck_trace_dir "
             "in DIR, one folder per test (default: each test's tmp_path)")
    group.addoption(
        "--shardcheck-seed", metavar="N", type=int, default=None,
        help="the seed of fuzz_design calls that give none (sets SHARDCHECK_SEED for "
             "the run; default: $SHARDCHECK_SEED, else 0)")


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker; put ``--shardcheck-seed`` where ``fuzz_design`` reads it."""
    config.addinivalue_line("markers", MARKER)
    seed: int | None = config.getoption("shardcheck_seed")
    if seed is None:
        return
    if seed < 0:
        raise pytest.UsageError(f"--shardcheck-seed must be 0 or more, got {seed}")
    from shardcheck.checker.fuzz import SEED_VARIABLE

    config.stash[_SAVED_SEED] = os.environ.get(SEED_VARIABLE)
    os.environ[SEED_VARIABLE] = str(seed)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Give ``SHARDCHECK_SEED`` back as the run found it."""
    if _SAVED_SEED not in config.stash:
        return
    from shardcheck.checker.fuzz import SEED_VARIABLE

    saved = config.stash[_SAVED_SEED]
    if saved is None:
        os.environ.pop(SEED_VARIABLE, None)
    else:
        os.environ[SEED_VARIABLE] = saved


def pytest_report_header(config: pytest.Config) -> list[str]:
    """The run describes itself: the seed and trace folder it was given, if any."""
    given = []
    seed = config.getoption("shardcheck_seed")
    if seed is not None:
        given.append(f"fuzz_design seed {seed}")
    kept = config.getoption("shardcheck_trace_dir")
    if kept is not None:
        given.append(f"traces kept in {_kept_root(config, kept)}")
    return [f"shardcheck: {', '.join(given)}"] if given else []


@pytest.fixture
def shardcheck_trace_dir(request: pytest.FixtureRequest) -> Path:
    """The folder this test's design checks write trace files into: its ``tmp_path``,
    or ``DIR/<test id>`` under ``--shardcheck-trace-dir DIR``."""
    kept = request.config.getoption("shardcheck_trace_dir")
    if kept is None:
        folder: Path = request.getfixturevalue("tmp_path")
    else:
        folder = _kept_root(request.config, kept) / _folder_name(request.node.nodeid)
        folder.mkdir(parents=True, exist_ok=True)
    request.node.stash[_TRACE_DIR] = (folder, time.time_ns())
    return folder


@pytest.fixture
def shardcheck_seed() -> int:
    """The seed ``fuzz_design`` takes when a call gives none (``--shardcheck-seed``,
    else ``$SHARDCHECK_SEED``, else 0)."""
    from shardcheck.checker.errors import BadInput
    from shardcheck.checker.fuzz import default_seed

    try:
        return default_seed()
    except BadInput as exc:  # a bad $SHARDCHECK_SEED: the message is all there is to say
        message = str(exc)
    pytest.fail(message, pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
        item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Result[pytest.TestReport], None]:
    """A failure of ours for the user is reported without our frames; a failed test
    lists the trace files it wrote.

    The report is made from a copy of the exception's traceback that ends at the user's
    call; the original is put back for what comes after the report (``--pdb``).
    """
    original = call.excinfo
    if original is not None and _for_the_user(original.value) \
            and not item.config.getoption("fulltrace"):
        call.excinfo = _up_to_our_frames(original)
    try:
        outcome = yield
    finally:
        call.excinfo = original
    report = outcome.get_result()
    written = item.stash.get(_TRACE_DIR, None)
    if written is None or not isinstance(report, pytest.TestReport) or not report.failed:
        return
    folder, since = written
    traces = sorted(str(p) for p in folder.rglob("*.json")
                    if p.is_file() and p.stat().st_mtime_ns >= since)
    if traces:
        report.sections.append(("shardcheck traces", "\n".join(traces)))


def _kept_root(config: pytest.Config, kept: str) -> Path:
    """``--shardcheck-trace-dir``, from where pytest was started."""
    return (config.invocation_params.dir / kept).resolve()


def _folder_name(nodeid: str) -> str:
    """A test id as one folder name: readable, and unique when it had to be shortened."""
    name = re.sub(r"[^\w.=-]+", "-", nodeid).strip("-") or "test"
    if len(name) > 120:
        tag = hashlib.blake2b(nodeid.encode(), digest_size=4).hexdigest()
        name = f"{name[:100]}-{tag}"
    return name


def _for_the_user(exc: BaseException) -> bool:
    """Whether ``exc`` is one of our failures whose message says all the user needs: a
    ``FuzzFailure``, a ``ShardcheckError`` other than an internal error, a bad workload
    spec. Only modules already imported are asked: an exception of a module that was
    never imported cannot have been raised."""
    errors = sys.modules.get("shardcheck.checker.errors")
    if errors is not None and isinstance(exc, errors.ShardcheckError):
        return not isinstance(exc, errors.InternalError)
    fuzz = sys.modules.get("shardcheck.checker.fuzz.api")
    if fuzz is not None and isinstance(exc, fuzz.FuzzFailure):
        return True
    workloads = sys.modules.get("shardcheck.model.workloads")
    return workloads is not None and isinstance(exc, workloads.WorkloadError)


def _up_to_our_frames(
        excinfo: pytest.ExceptionInfo[BaseException]) -> pytest.ExceptionInfo[BaseException]:
    """The exception with its traceback up to the first frame in shardcheck's code: it
    ends at the user's call. A copy (pytest rebuilds tracebacks from the raw frames, so
    the raw chain itself must end there); the exception itself is left alone."""
    ours = _our_folders()
    chain: list[TracebackType] = []
    tb: TracebackType | None = excinfo.tb
    while tb is not None:
        where = Path(tb.tb_frame.f_code.co_filename).resolve()
        if chain and any(where.is_relative_to(folder) for folder in ours):
            break
        chain.append(tb)
        tb = tb.tb_next
    if tb is None:  # no frame of ours after the first: nothing to hide
        return excinfo
    copied: TracebackType | None = None
    for entry in reversed(chain):
        copied = TracebackType(copied, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    assert copied is not None  # the first frame is always kept
    return pytest.ExceptionInfo.from_exc_info((excinfo.type, excinfo.value, copied))


def _our_folders() -> tuple[Path, ...]:
    """Where shardcheck's code is: the package, and the folders an editable install maps
    ``shardcheck.model`` and ``shardcheck.checker`` to."""
    import shardcheck

    folders = {Path(shardcheck.__file__).resolve().parent}
    for half in ("shardcheck.model", "shardcheck.checker"):
        spec = importlib.util.find_spec(half)
        for location in (spec.submodule_search_locations or []) if spec else []:
            folders.add(Path(location).resolve())
    return tuple(folders)
