"""The executor seam: local processes and a real Dask scheduler give the same figures.

Dask tests start real `distributed` clusters (a LocalCluster, or the `dask scheduler` and
`dask worker` commands as processes on loopback): no mocks.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulation import extras
from simulation.experiment import executors
from simulation.experiment.executors import (
    ExecutorError,
    ExecutorSpec,
    open_pool,
    parse_executor,
    run_tasks,
)
from simulation.experiment.replications import figures_task, run_replications
from simulation.experiment.sweep import build_grid, run_sweep
from simulation.extras import MissingExtra
from simulation.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[3]
SMOKE = ROOT / "scenarios" / "smoke-one-town.yaml"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """One LocalCluster of two worker processes for the module, reached as dask://HOST:PORT."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as running:
        yield running


def _remote(cluster: Any) -> ExecutorSpec:
    return parse_executor(str(cluster.scheduler_address).replace("tcp://", "dask://"))


def where_and_what(shared: dict[str, int], item: int) -> tuple[int, int, int]:
    """A task that says which process ran it and which copy of the shared object it saw."""
    return os.getpid(), id(shared), shared["base"] + item


def test_parse_executor_reads_the_three_kinds_and_refuses_the_rest() -> None:
    assert parse_executor("local", 2) == ExecutorSpec("local", 2)
    assert parse_executor("dask-local", 3) == ExecutorSpec("dask-local", 3)
    remote = parse_executor("dask://10.0.0.5:8786")
    assert (remote.kind, remote.address, remote.label) == (
        "dask",
        "10.0.0.5:8786",
        "dask://10.0.0.5:8786",
    )
    for bad in ("dask", "dask://host", "dask://:8786", "dask://h:99999", "ray://h:1"):
        with pytest.raises(ExecutorError, match=r"expected local, dask-local or dask://HOST:PORT"):
            parse_executor(bad)
    with pytest.raises(ExecutorError, match="--workers: expected a positive integer, got 0"):
        parse_executor("local", 0)


def test_local_processes_unpickle_the_shared_object_once_per_worker() -> None:
    got = run_tasks(
        where_and_what, {"base": 100}, list(range(12)), executor=ExecutorSpec("local", 2)
    )
    assert [value for _, _, value in got] == [100 + i for i in range(12)]
    copies: dict[int, set[int]] = {}
    for pid, copy, _ in got:
        copies.setdefault(pid, set()).add(copy)
    assert os.getpid() not in copies  # they ran in worker processes
    assert all(len(ids) == 1 for ids in copies.values()), copies


def test_inline_runs_in_this_process_as_results_are_read() -> None:
    with open_pool(where_and_what, {"base": 1}, executor=ExecutorSpec()) as pool:
        pool.submit([0, 1])
        first = list(pool.results())
        pool.submit([2])
        second = list(pool.results())
    assert [(i, v) for i, (_, _, v) in first] == [(0, 1), (1, 2)]
    assert [(i, v) for i, (_, _, v) in second] == [(2, 3)]
    assert {pid for _, (pid, _, _) in first} == {os.getpid()}


def test_local_one_two_and_a_dask_cluster_give_identical_figures(cluster: Any) -> None:
    """(`alertsim run --executor dask-local`, whole report, is in test_replicate.py.)"""
    loaded = load_scenario(SMOKE)
    one = run_replications(loaded, range(6), executor=ExecutorSpec("local", 1))
    two = run_replications(loaded, range(6), executor=ExecutorSpec("local", 2))
    dask = run_replications(loaded, range(6), executor=_remote(cluster))
    assert one == two == dask
    assert len({repr(sorted(f.items())) for f in one.values()}) == 6  # each its own streams


def test_a_sweep_on_a_dask_scheduler_keeps_one_copy_per_worker_and_its_figures(
    cluster: Any,
) -> None:
    got = run_tasks(where_and_what, {"base": 7}, list(range(10)), executor=_remote(cluster))
    assert [value for _, _, value in got] == [7 + i for i in range(10)]
    copies: dict[int, set[int]] = {}
    for pid, copy, _ in got:
        copies.setdefault(pid, set()).add(copy)
    assert all(len(ids) == 1 for ids in copies.values()), copies
    loaded = load_scenario(SMOKE)
    _, grid = build_grid(loaded, ["strategy=cascade,direct"])
    local = run_sweep(grid, 3, executor=ExecutorSpec("local", 1))
    dask = run_sweep(grid, 3, executor=_remote(cluster))
    assert local == dask


def test_a_worker_killed_mid_run_changes_no_figure(cluster: Any) -> None:
    """A cluster worker is killed (SIGKILL) after the first result; its tasks run elsewhere."""
    loaded = load_scenario(SMOKE)
    items = list(range(16))
    expected = run_replications(loaded, items, executor=ExecutorSpec("local", 1))
    spec = _remote(cluster)
    scenarios = (loaded,)
    killed: list[int] = []
    results: dict[int, Any] = {}
    with open_pool(figures_task, scenarios, executor=spec) as pool:
        pool.submit([(0, r) for r in items])
        for index, figures in pool.results():
            results[index] = figures
            if not killed:
                # the cluster's nannies, in this process, spawned the worker processes
                workers = multiprocessing.active_children()
                assert len(workers) == 2
                victim = min(p.pid for p in workers if p.pid is not None)
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)
                assert len(results) < len(items)  # the kill lands while tasks remain
    assert killed
    assert {r: results[r] for r in items} == expected


def test_an_unreachable_scheduler_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from simulation.experiment import executors_dask

    monkeypatch.setattr(executors_dask, "CONNECT_TIMEOUT_S", 1)
    spec = parse_executor("dask://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(ExecutorError) as caught:
        run_tasks(where_and_what, {"base": 0}, [1], executor=spec)
    message = str(caught.value)
    assert message.startswith("--executor dask://127.0.0.1:9: expected a Dask scheduler")
    assert "\n" not in message


def test_without_distributed_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(extras.EXTRAS, "dask", ("no_such_module_for_alertsim",))
    with pytest.raises(MissingExtra, match=r"pip install 'alertsim\[dask\]'"):
        run_tasks(where_and_what, {"base": 0}, [1], executor=ExecutorSpec("dask-local", 1))
    assert executors.ExecutorSpec().label == "local, 1 worker(s)"
