"""Running partitions and fuzz shards on a Dask cluster (the optional ``cluster`` extra).

The one module that imports Dask. A search's partitions become Dask *actors*, one per
worker in turn, each holding its part of the visited set and frontier between calls, so
the coordinator drives them exactly as it drives local processes
(``shardcheck.checker.search.parallel.Host``). A fuzz campaign's shards are ordinary Dask tasks.

Every worker must be able to import shardcheck (the same version as the coordinator)
and, for a design in a file, read that file at the same absolute path.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from shardcheck.checker.errors import BadInput
from shardcheck.checker.search.partition import Job, make_partition

CONNECT_SECONDS = 5
INSTALL = "pip install 'shardcheck[cluster]'"


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise BadInput(f"--scheduler needs Dask's distributed scheduler, which is not "
                       f"installed: {INSTALL}") from None
    return distributed


def connect(address: str) -> Any:
    """A client of the scheduler at ``address``; one line and exit 2 if it does not answer."""
    distributed = _distributed()
    try:
        # The default client: an actor's handle finds its client through it.
        client = distributed.Client(address, timeout=CONNECT_SECONDS)
    except (OSError, TimeoutError, ValueError) as exc:
        raise BadInput(f"--scheduler {address}: no Dask scheduler answered within "
                       f"{CONNECT_SECONDS}s ({type(exc).__name__}: {exc}); start one with "
                       "`dask scheduler` and workers with `dask worker ADDRESS`") from None
    workers = sorted(client.scheduler_info()["workers"])
    if not workers:
        client.close()
        raise BadInput(f"--scheduler {address}: the cluster has no workers; start some with "
                       f"`dask worker {address}`")
    return client


def workers_of(client: Any) -> list[str]:
    """The addresses of the cluster's workers, in a fixed order."""
    return sorted(client.scheduler_info()["workers"])


class DaskHost:
    """Served objects as Dask actors, placed on the cluster's workers in turn."""

    def __init__(self, client: Any, owned: bool,
                 builds: Sequence[tuple[Callable[..., Any], tuple[Any, ...]]]) -> None:
        self.client = client
        self.owned = owned
        workers = workers_of(client)
        run = uuid.uuid4().hex[:8]
        try:
            self.futures = [
                client.submit(build, *arguments, actor=True, pure=False,
                              workers=[workers[index % len(workers)]],
                              key=f"shardcheck-{run}-{index}")
                for index, (build, arguments) in enumerate(builds)]
            self.actors = [future.result() for future in self.futures]
        except BaseException:
            self.close()
            raise

    @classmethod
    def partitions(cls, address: str, jobs: int | None, job: Job) -> DaskHost:
        """A search's partitions: ``jobs`` of them, or one per worker when None."""
        client = connect(address)
        count = jobs if jobs is not None else len(workers_of(client))
        return cls(client, True, [(make_partition, (index, count, job))
                                   for index in range(count)])

    @property
    def size(self) -> int:
        """How many served objects."""
        return len(self.actors)

    def call_all(self, method: str, arguments: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Call ``method`` on every actor at once; wait for all."""
        pending = [getattr(actor, method)(*args)
                   for actor, args in zip(self.actors, arguments, strict=True)]
        return [future.result() for future in pending]

    def call(self, index: int, method: str, *arguments: Any) -> Any:
        """Call ``method`` on one actor."""
        return getattr(self.actors[index], method)(*arguments).result()

    def close(self) -> None:
        """Let the actors go; close the client if this host opened it."""
        futures = getattr(self, "futures", [])
        for future in futures:
            future.release()
        self.futures, self.actors = [], []
        if self.owned:
            self.client.close()


def map_tasks(address: str, function: Callable[..., Any],
              arguments: Sequence[tuple[Any, ...]]) -> list[Any]:
    """Run ``function(*args)`` for each ``args`` as Dask tasks; the results in order."""
    client = connect(address)
    try:
        run = uuid.uuid4().hex[:8]
        futures = [client.submit(function, *args, pure=False, key=f"shardcheck-{run}-{index}")
                   for index, args in enumerate(arguments)]
        return [future.result() for future in futures]
    finally:
        client.close()
