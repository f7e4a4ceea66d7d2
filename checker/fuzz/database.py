"""The example database: failing examples kept in the user's project, retried first.

It is hypothesis's own directory database (``.shardcheck/examples`` by default), one
directory for every campaign. Hypothesis keys saved examples by its test function,
which is the same for every campaign, so each campaign's keys are prefixed with a
digest of what it fuzzes (design, configurations, schedule): a failing example of one
mutant is never replayed against another, where it would only waste a run.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase

from shardcheck.checker.errors import BadInput

DEFAULT_DATABASE = ".shardcheck/examples"


class CampaignDatabase(ExampleDatabase):
    """A view of one database that only holds one campaign's examples."""

    def __init__(self, inner: ExampleDatabase, campaign: str) -> None:
        super().__init__()
        self.inner = inner
        self.prefix = hashlib.blake2b(campaign.encode(), digest_size=16).digest()
        self.retried = 0
        """How many saved examples hypothesis fetched to retry first."""
        self._counted = False

    def save(self, key: bytes, value: bytes) -> None:
        """Save ``value`` under this campaign's ``key``."""
        self.inner.save(self.prefix + key, value)

    def fetch(self, key: bytes) -> Iterable[bytes]:
        """Every value saved under this campaign's ``key``."""
        # The first fetch of a primary key (no ".secondary" or ".pareto" suffix) is the
        # reuse phase reading the failures earlier campaigns saved.
        primary = not (key.endswith(b".secondary") or key.endswith(b".pareto"))
        for value in self.inner.fetch(self.prefix + key):
            if primary and not self._counted:
                self.retried += 1
            yield value
        if primary:
            self._counted = True

    def delete(self, key: bytes, value: bytes) -> None:
        """Forget ``value`` under this campaign's ``key``."""
        self.inner.delete(self.prefix + key, value)

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        """Move ``value`` between two of this campaign's keys."""
        self.inner.move(self.prefix + src, self.prefix + dest, value)


def open_database(path: str | Path) -> DirectoryBasedExampleDatabase:
    """The directory database at ``path``, created if missing; ``BadInput`` if unusable.

    Checked before the campaign starts: hypothesis would otherwise ignore an unreadable
    directory quietly, and a user who relies on failures being kept should hear that
    they are not.
    """
    directory = Path(path)
    hint = "choose another with --database DIR, or run without one: --no-database"
    if directory.exists() and not directory.is_dir():
        raise BadInput(f"example database {path} is not a directory; {hint}")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        os.listdir(directory)
    except OSError as exc:
        raise BadInput(f"example database {path} cannot be used ({exc.strerror}); "
                       f"{hint}") from None
    if not os.access(directory, os.R_OK | os.W_OK | os.X_OK):
        raise BadInput(f"example database {path} is not readable and writable; {hint}")
    return DirectoryBasedExampleDatabase(str(directory))
