"""A job run beside this process, on the other core, its outcome (or error) brought back here.

After a city run the report is built and drawn (Python, one core) while records.csv.gz, which
needs only the records, is written: ``start(job)`` forks a child that runs ``job()`` and leaves
with ``os._exit`` (nothing of the model is freed twice), and ``Job.result()`` waits for it and
returns what it returned or raises what it raised, the same exception as had it run here (the
child's traceback added as a note). A thread would not do: formatting the CSV holds the GIL.

The child shares this process's memory copy-on-write and touches only what the job reads. Where
a fork is not safe, the job runs here, in ``start``, its outcome kept for ``result()`` alike:
off Linux (macOS forbids a fork without exec once its frameworks are loaded; Windows has none),
when the process has another thread (a server's, a worker pool's, a progress bar's), whose
locks a child would inherit held, and when it may run on one processor only.
"""

from __future__ import annotations

import gc
import os
import pickle
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

__all__ = ["Job", "can_fork", "fork", "here", "start", "try_fork"]

T = TypeVar("T")
Outcome = tuple[bool, Any]  # (True, what the job returned) or (False, what it raised)
THREADS = Path("/proc/self/task")  # one entry per thread of this process, native ones too


def can_fork() -> bool:
    """Whether a child forked now may run Python safely and beside this process: Linux, this
    process one thread, and more than one processor it may run on (on one, the child would
    only take turns with it)."""
    return (
        sys.platform == "linux"
        and len(os.sched_getaffinity(0)) > 1
        and len(os.listdir(THREADS)) == 1
    )


class Job(Generic[T]):
    """A job started by `start`: `result()` once for its outcome, `close()` to only reap it."""

    def __init__(self, what: str, pid: int | None, pipe: int | None, outcome: Outcome) -> None:
        self.what = what
        self._pid = pid  # None: it ran here (or was waited for), `outcome` is how it went
        self._pipe = pipe
        self._outcome = outcome

    def result(self) -> T:
        """What the job returned; raises what it raised, or ChildProcessError if it died."""
        ok, value = self._wait()
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def close(self) -> None:
        """Wait for the job without asking how it went (this process is failing already)."""
        self._wait()

    def __enter__(self) -> Job[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _wait(self) -> Outcome:
        if self._pid is None:
            return self._outcome
        assert self._pipe is not None
        with os.fdopen(self._pipe, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(self._pid, 0)
        self._pid = self._pipe = None
        if data:
            self._outcome = pickle.loads(data)
        else:
            code = os.waitstatus_to_exitcode(status)
            died = f"signal {-code}" if code < 0 else f"exit status {code}"
            exc = ChildProcessError(f"the {self.what} (a forked process) ended with {died}")
            self._outcome = (False, exc)
        return self._outcome


def start(job: Callable[[], T], what: str) -> Job[T]:
    """``job()`` in a forked child where that is safe (`can_fork`), here otherwise.

    ``what`` names the job in the error of a child that died without a word. A fork the
    system refuses (no memory for the page tables, a process limit) runs it here too.
    """
    forked = try_fork(job, what)
    return forked if forked is not None else here(job, what)


def try_fork(job: Callable[[], T], what: str) -> Job[T] | None:
    """``job()`` in a forked child where that is safe and the system allows it; None else.

    For a job that would be done otherwise in place (`start` runs it here): the records
    writer, forked as soon as the model ends, takes the records in the child; in place it
    writes the ones this process takes for the report, not a second copy.
    """
    if can_fork():
        try:
            return fork(job, what)
        except OSError:
            pass
    return None


def here(job: Callable[[], T], what: str) -> Job[T]:
    """``job()`` run now, in this process, its outcome kept for ``result()``."""
    return Job(what, None, None, _run(job))


def fork(job: Callable[[], T], what: str) -> Job[T]:
    """``job()`` in a forked child, whether or not that is safe here (`start` asks first)."""
    read, write = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read)
        os.close(write)
        raise
    if pid == 0:  # the child: run, tell, leave without tearing the interpreter down
        code = 0
        try:
            os.close(read)
            gc.disable()  # a full pass would touch (and copy) every object of the parent
            with os.fdopen(write, "wb") as pipe:
                pipe.write(_told(_run(job)))
        except BaseException:
            code = 70  # could not even tell: the parent sees an exit code, not a silence
        finally:
            os._exit(code)
    os.close(write)
    return Job(what, pid, read, (False, None))


def _run(job: Callable[[], T]) -> Outcome:
    """(True, what job() returned) or (False, the exception it raised)."""
    try:
        return True, job()
    except BaseException as exc:
        return False, exc


def _told(outcome: Outcome) -> bytes:
    """A child's outcome as its parent will read it: an exception with the child's traceback
    as a note (raised there, it has none of its own), and one that does not survive pickling
    both ways as a RuntimeError with its type and message, so that the parent always gets one.
    """
    ok, value = outcome
    if ok:
        return pickle.dumps(outcome)
    value.add_note("".join(traceback.format_exception(value)).rstrip())
    try:
        data = pickle.dumps(outcome)
        pickle.loads(data)
    except Exception:
        data = pickle.dumps((False, RuntimeError(f"{type(value).__name__}: {value}")))
    return data
