"""A job beside the run (records.csv.gz in a forked child): the same outcome as run here.

The same value, the same exception (type and message), the same bytes; never a lost error: a
child that dies says so, and an exception that cannot cross the pipe still arrives as one.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulation.experiment import beside
from simulation.experiment.folder import finish_run, fork_records, start_records
from simulation.experiment.virtual import run_virtual
from simulation.model.world import World
from simulation.report.build import RunResult
from simulation.report.records import write_records
from tests.support.scenarios import load

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="forks on Linux only")
TESTS = os.getpid()


class Unpicklable(Exception):
    """An error no reducer can carry over a pipe: it holds a lock. (Two arguments alone are not
    enough: once `distributed` is imported, tblib's reducer carries such an error whole.)"""

    def __init__(self, code: int, why: str) -> None:
        super().__init__(f"{code}: {why}")
        self.lock = threading.Lock()


def fail_with(exc: BaseException) -> None:
    raise exc


def die() -> None:
    if os.getpid() != TESTS:  # never the tests' own process
        os.kill(os.getpid(), signal.SIGKILL)


@pytest.fixture
def another_thread() -> Iterator[None]:
    done = threading.Event()
    thread = threading.Thread(target=done.wait)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    # failures make the ladder climb: some rows have empty hops and staffed attempts
    directory = tmp_path_factory.mktemp("beside")
    return run_virtual(load(directory, channels={"sms": {"failure": 0.5}}))


@linux_only
def test_a_job_runs_in_a_child_and_its_value_comes_back() -> None:
    job = beside.fork(os.getpid, "pid")
    child = job.result()
    assert child != os.getpid()
    assert job.result() == child  # asked again: the same answer, no second wait


@linux_only
def test_the_childs_error_is_raised_here_as_it_was_raised_there() -> None:
    missing = Path("/nonexistent/dir/records.csv.gz")
    job = beside.fork(lambda: missing.write_bytes(b""), "writer")
    with pytest.raises(FileNotFoundError) as forked:
        job.result()
    with pytest.raises(FileNotFoundError) as here:
        missing.write_bytes(b"")
    assert (forked.value.errno, str(forked.value)) == (here.value.errno, str(here.value))
    assert "Traceback" in forked.value.__notes__[0]  # where it went wrong, in the child


@linux_only
def test_an_error_that_cannot_be_pickled_still_arrives() -> None:
    job = beside.fork(lambda: fail_with(Unpicklable(3, "no disk")), "writer")
    with pytest.raises(RuntimeError, match=r"^Unpicklable: 3: no disk$"):
        job.result()


@linux_only
def test_a_child_that_dies_is_an_error_not_a_silence() -> None:
    job = beside.fork(die, "writer of x.csv.gz")
    with pytest.raises(ChildProcessError, match=r"writer of x\.csv\.gz .* signal 9"):
        job.result()


def test_with_another_thread_the_job_runs_here_and_fails_alike(another_thread: None) -> None:
    assert not beside.can_fork()
    assert beside.start(os.getpid, "pid").result() == os.getpid()
    job = beside.start(lambda: fail_with(Unpicklable(3, "no disk")), "writer")
    with pytest.raises(Unpicklable, match="3: no disk"):
        job.result()


@linux_only
def test_records_written_beside_are_the_bytes_written_here(
    result: RunResult, tmp_path: Path
) -> None:
    here = tmp_path / "here.csv.gz"
    rows = write_records(result.records, here, result.staff_stamps)
    assert rows == len(result.records) > 0
    forked = tmp_path / "forked.csv.gz"
    job = beside.fork(lambda: write_records(result.records, forked, result.staff_stamps), "w")
    assert job.result() == rows
    assert forked.read_bytes() == here.read_bytes()
    assert start_records(result, tmp_path / "run").result() == rows  # either way
    assert (tmp_path / "run" / "records.csv.gz").read_bytes() == here.read_bytes()


@linux_only
def test_records_forked_as_the_model_ends_are_the_bytes_of_the_runs_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(beside, "can_fork", lambda: True)  # a test runner may have threads
    forked: list[beside.Job[int] | None] = []

    def ran(world: World) -> bool:
        assert world.env.now > 0  # the model has run, its world not yet freed
        forked.append(fork_records(world, tmp_path / "run"))
        return False  # freed by run_virtual

    result = run_virtual(load(tmp_path, channels={"sms": {"failure": 0.5}}), ran=ran)
    (job,) = forked
    assert job is not None
    here = tmp_path / "here.csv.gz"
    assert job.result() == write_records(result.records, here, result.staff_stamps) > 0
    assert (tmp_path / "run" / "records.csv.gz").read_bytes() == here.read_bytes()


def test_where_a_fork_is_not_safe_the_records_are_not_taken_twice(
    tmp_path: Path, another_thread: None
) -> None:
    forked: list[beside.Job[int] | None] = []

    def ran(world: World) -> bool:
        forked.append(fork_records(world, tmp_path))
        return False

    run_virtual(load(tmp_path), ran=ran)
    assert forked == [None]  # left to start_records, from the records the run takes
    assert not (tmp_path / "records.csv.gz").exists()


@linux_only
def test_on_one_processor_the_job_runs_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0})
    assert not beside.can_fork()
    assert beside.start(os.getpid, "pid").result() == os.getpid()


def test_a_fork_refused_runs_the_job_here(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(beside, "can_fork", lambda: True)
    monkeypatch.setattr(os, "fork", refused)
    assert beside.start(os.getpid, "pid").result() == os.getpid()


@pytest.mark.parametrize(
    "forked", [pytest.param(True, marks=linux_only, id="forked"), pytest.param(False, id="here")]
)
def test_finish_run_raises_the_writers_error(
    result: RunResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forked: bool
) -> None:
    monkeypatch.setattr(beside, "can_fork", lambda: forked)
    (tmp_path / "run" / "records.csv.gz").mkdir(parents=True)  # cannot be opened as a file
    with pytest.raises(IsADirectoryError) as raised:
        finish_run(result, tmp_path / "run")
    with pytest.raises(IsADirectoryError) as here:
        write_records(result.records, tmp_path / "run" / "records.csv.gz", result.staff_stamps)
    assert str(raised.value) == str(here.value)
    assert (tmp_path / "run" / "report.json").is_file()  # the rest of the folder was written


@pytest.mark.parametrize("keep", [True, False])
def test_a_world_its_caller_keeps_is_not_freed(tmp_path: Path, keep: bool) -> None:
    worlds: list[World] = []

    def ran(world: World) -> bool:
        worlds.append(world)
        return keep

    result = run_virtual(load(tmp_path), ran=ran)
    assert result.records
    assert bool(vars(worlds[0])) == keep  # World.close empties it
