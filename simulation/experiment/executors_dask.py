"""The Dask side of the executor seam: a LocalCluster or a running scheduler, as an Executor.

Imported only when `--executor dask-local` or `dask://HOST:PORT` is asked for; the `dask` extra
(`pip install 'alertsim[dask]'`) brings `distributed`. Tasks go through the client's standard
`concurrent.futures` executor (`Client.get_executor`). The shared object reaches every worker
once, through a worker plugin: the scheduler keeps the plugin and runs it on each worker that
joins later, so a worker the nanny restarts after a crash has it too. Tasks are impure (each
replication is its own), and may be retried on another worker when theirs is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, Executor
from contextlib import ExitStack, contextmanager, suppress
from typing import TYPE_CHECKING, Any

from simulation.extras import require

if TYPE_CHECKING:
    from distributed import Worker

__all__ = ["CONNECT_TIMEOUT_S", "dask_executor"]

CONNECT_TIMEOUT_S = 10

Lost = Callable[[BaseException], Exception | None]
Install = Callable[[str, bytes], None]


def _plugin(key: str, payload: bytes, install: Install) -> Any:
    from distributed.diagnostics.plugin import WorkerPlugin

    class SharedPlugin(WorkerPlugin):
        """Unpickles the run's shared object into the worker process, once."""

        def __init__(self) -> None:
            self.name = f"alertsim-shared-{key[:16]}"

        def setup(self, worker: Worker) -> None:
            install(key, payload)

    return SharedPlugin()


@contextmanager
def dask_executor(
    label: str,
    workers: int,
    address: str | None,
    shared: tuple[str, bytes, Install],
    error: type[Exception],
) -> Iterator[tuple[Executor, Lost]]:
    """The client's Executor (and how to name a lost scheduler) for the length of the block.

    ``address`` None starts a LocalCluster of ``workers`` processes. ``shared`` is (key,
    payload, install): each worker calls ``install(key, payload)`` once. Problems are raised as
    ``error`` (the seam's ExecutorError), with ``label`` (the --executor value) in the message.
    """
    key, payload, install = shared
    require("dask", f"--executor {label}")
    import distributed
    from distributed.comm.core import CommClosedError

    dask: Any = distributed  # its Client and LocalCluster are untyped

    with ExitStack() as stack:
        if address is None:
            cluster = stack.enter_context(
                dask.LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
            )
            client = stack.enter_context(dask.Client(cluster, set_as_default=False))
            where = f"the dask-local cluster of {workers} worker(s)"
        else:
            where = f"the Dask scheduler at {address}"
            try:
                client = dask.Client(
                    f"tcp://{address}", timeout=CONNECT_TIMEOUT_S, set_as_default=False
                )
            except (OSError, TimeoutError) as exc:
                raise error(
                    f"--executor {label}: expected a Dask scheduler listening there, "
                    f"got none within {CONNECT_TIMEOUT_S} s ({exc.__class__.__name__})"
                ) from None
            stack.callback(_close_quietly, client)
        client.register_plugin(_plugin(key, payload, install))

        def lost(exc: BaseException) -> Exception | None:
            if isinstance(exc, CancelledError | CommClosedError | OSError | TimeoutError):
                return error(
                    f"--executor {label}: lost {where} before every task finished "
                    f"({exc.__class__.__name__}); the tasks that finished are kept"
                )
            return None

        yield client.get_executor(pure=False), lost


def _close_quietly(client: Any) -> None:
    with suppress(OSError, TimeoutError):  # the scheduler may be gone already
        client.close(timeout=CONNECT_TIMEOUT_S)
