"""Executors: where many independent tasks run (this process, local processes or a Dask cluster).

Everything that runs many replications (`alertsim run --replications`, `sweep`, and commands
built on them) goes through this seam, so the result loop does not care where a task ran:

    spec = parse_executor("dask://10.0.0.5:8786", workers=2)   # or "local", "dask-local"
    results = run_tasks(figures_of, shared, items, executor=spec, done=on_done)

`fn(shared, item)` must be a module-level function (it is pickled by reference). `shared` is
what every task needs (the scenario and its topology): it is sent once per worker, not once per
task, and kept there under the SHA-256 of its pickle. Local processes get it through the pool's
initializer, Dask workers through a worker plugin that the scheduler also hands to any worker
that joins or restarts later. `results[i]` is `fn(shared, items[i])` whatever ran it and in
whatever order, so figures do not depend on the executor or the number of workers.

A Dask task whose worker is lost is run again elsewhere by the scheduler. A scheduler that cannot
be reached, or goes away, raises one `ExecutorError`; `done(index, result)` has by then been
called for every task that finished, so a caller that keeps those (the sweep does) can resume.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from dispatcher.errors import AlertsimError

if TYPE_CHECKING:
    # Imported where a pool is opened: `alertsim run --replications 1` runs inline, and
    # concurrent.futures and multiprocessing (logging, threading, ...) were 15 ms of its start.
    from concurrent.futures import Executor, Future

__all__ = [
    "EXECUTOR_HELP",
    "ExecutorError",
    "ExecutorSpec",
    "TaskPool",
    "open_pool",
    "parse_executor",
    "run_tasks",
]

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")

Kind = Literal["local", "dask-local", "dask"]
EXECUTOR_HELP = (
    "where replications run: local (processes on this machine), dask-local (a Dask "
    "LocalCluster here) or dask://HOST:PORT (a running Dask scheduler); figures do not depend on it"
)
DASK_SCHEME = "dask://"

# What a worker process holds: shared objects by the SHA-256 of their pickle.
_SHARED: dict[str, Any] = {}


class ExecutorError(AlertsimError):
    """An executor could not be opened or was lost (a bad --executor, an unreachable scheduler)."""


@dataclass(frozen=True, slots=True)
class ExecutorSpec:
    """Which executor and how many workers (for dask://, the cluster decides; workers is unused)."""

    kind: Kind = "local"
    workers: int = 1
    address: str | None = None

    @property
    def label(self) -> str:
        if self.kind == "dask":
            return f"dask://{self.address}"
        return f"{self.kind}, {self.workers} worker(s)"


def parse_executor(text: str, workers: int = 1) -> ExecutorSpec:
    """`local`, `dask-local` or `dask://HOST:PORT` -> ExecutorSpec; ExecutorError otherwise."""
    if workers < 1:
        raise ExecutorError(f"--workers: expected a positive integer, got {workers}")
    if text == "local":
        return ExecutorSpec(kind="local", workers=workers)
    if text == "dask-local":
        return ExecutorSpec(kind="dask-local", workers=workers)
    if text.startswith(DASK_SCHEME):
        address = text.removeprefix(DASK_SCHEME)
        host, sep, port = address.rpartition(":")
        if host and sep and port.isdigit() and 0 < int(port) < 65536:
            return ExecutorSpec(kind="dask", workers=workers, address=address)
    raise ExecutorError(
        f"--executor: expected local, dask-local or dask://HOST:PORT (e.g. dask://127.0.0.1:8786), "
        f"got {text!r}"
    )


def install_shared(key: str, payload: bytes) -> None:
    """Keep ``payload`` unpickled in this process under ``key`` (a worker's start-up)."""
    if key not in _SHARED:
        _SHARED[key] = pickle.loads(payload)


def call_with_shared(fn: Callable[[Any, T], R], key: str, item: T) -> R:
    """One task on a worker: ``fn`` with the shared object this worker holds."""
    return fn(_SHARED[key], item)


class TaskPool:
    """Tasks of one function over one shared object, submitted now and collected later."""

    def __init__(
        self,
        fn: Callable[[Any, Any], Any],
        shared: Any,
        key: str,
        executor: Executor | None,
        lost: Callable[[BaseException], Exception | None],
    ) -> None:
        self._fn, self._shared, self._key = fn, shared, key
        self._executor = executor
        self._lost = lost
        self._items: list[Any] = []
        self._futures: dict[Future[Any], int] = {}
        self._collected = 0

    def submit(self, items: Sequence[Any]) -> None:
        """Queue ``items`` (indexed after those already queued); remote ones start at once."""
        for item in items:
            index = len(self._items)
            self._items.append(item)
            if self._executor is not None:
                future = self._executor.submit(call_with_shared, self._fn, self._key, item)
                self._futures[future] = index

    def results(self) -> Iterator[tuple[int, Any]]:
        """(index, result) of each task queued and not yet collected, in completion order.

        Inline, tasks run here, in index order, as they are collected.
        """
        if self._executor is None:
            while self._collected < len(self._items):
                index = self._collected
                self._collected += 1
                yield index, self._fn(self._shared, self._items[index])
            return
        from concurrent.futures import as_completed

        pending, self._futures = self._futures, {}
        for future in as_completed(pending):
            try:
                result = future.result()
            except BaseException as exc:
                problem = self._lost(exc)
                if problem is None:
                    raise
                raise problem from exc
            yield pending[future], result


@contextmanager
def open_pool(
    fn: Callable[[S, Any], Any], shared: S, *, executor: ExecutorSpec, tasks: int | None = None
) -> Iterator[TaskPool]:
    """A TaskPool on ``executor``; ``tasks`` (when known) caps the number of local processes.

    Local with one worker (or one task) runs inline, in this process, when results are read.
    """
    workers = executor.workers if tasks is None else max(1, min(executor.workers, tasks))
    if executor.kind == "local" and workers == 1:
        yield TaskPool(fn, shared, "", None, lambda _exc: None)  # inline: nothing is sent
        return
    payload = pickle.dumps(shared, protocol=pickle.HIGHEST_PROTOCOL)
    key = hashlib.sha256(payload).hexdigest()
    if executor.kind == "local":
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("spawn")  # safe under threads, alike everywhere
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=install_shared,
            initargs=(key, payload),
        ) as pool:
            yield TaskPool(fn, shared, key, pool, lambda _exc: None)
    else:
        from simulation.experiment.executors_dask import dask_executor

        address = executor.address if executor.kind == "dask" else None
        label = executor.label if executor.kind == "dask" else "dask-local"
        with dask_executor(
            label, workers, address, (key, payload, install_shared), ExecutorError
        ) as (pool, lost):
            yield TaskPool(fn, shared, key, pool, lost)


def run_tasks(
    fn: Callable[[S, T], R],
    shared: S,
    items: Sequence[T],
    *,
    executor: ExecutorSpec | None = None,
    done: Callable[[int, R], None] | None = None,
) -> list[R]:
    """``[fn(shared, item) for item in items]`` on ``executor`` (default: inline, here).

    ``done(index, result)`` is called in this process as each task finishes, in completion
    order; the returned list never depends on that order.
    """
    results: dict[int, R] = {}
    if items:
        spec = executor if executor is not None else ExecutorSpec()
        with open_pool(fn, shared, executor=spec, tasks=len(items)) as pool:
            pool.submit(items)
            for index, result in pool.results():
                results[index] = result
                if done is not None:
                    done(index, result)
    return [results[index] for index in range(len(items))]
