"""The compose file's Dask profile, run for real without docker: its scheduler and worker commands
as processes on loopback, then its sweep against them; a scheduler lost mid-sweep is one error,
what finished is kept, and the sweep resumes to the figures a local sweep gives."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from simulation.cli import app
from simulation.experiment.sweep import TASKS_FILE
from tests.support.broker import free_port
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[3]
DASK = str(Path(sys.executable).with_name("dask"))


def _service(name: str) -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert services[name]["profiles"] == ["dask"]
    return dict(services[name])


def _argv(name: str, port: int) -> list[str]:
    """The service's command with the container's addresses made loopback ones."""
    swap = {
        "0.0.0.0": "127.0.0.1",
        "8786": str(port),
        ":8787": "127.0.0.1:0",
        "tcp://dask-scheduler:8786": f"tcp://127.0.0.1:{port}",
        "dask://dask-scheduler:8786": f"dask://127.0.0.1:{port}",
        "dask": DASK,
    }
    return [swap.get(str(arg), str(arg)) for arg in _service(name)["command"]]


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
    except OSError:
        return False
    return True


class Cluster:
    """The profile's scheduler and one worker, started and killed as processes."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.log = tmp_path / "dask.log"
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        with self.log.open("ab") as log:
            scheduler = subprocess.Popen(
                _argv("dask-scheduler", self.port), stdout=log, stderr=log, cwd=ROOT
            )
            self.processes.append(scheduler)
            wait_until(lambda: _listening(self.port), "the scheduler to listen", timeout_s=60)
            worker = subprocess.Popen(
                _argv("dask-worker", self.port), stdout=log, stderr=log, cwd=ROOT
            )
            self.processes.append(worker)

    def kill_scheduler(self) -> None:
        self.processes[-2].send_signal(signal.SIGKILL)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)
        self.processes.clear()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    running = Cluster(tmp_path)
    try:
        yield running
    finally:
        running.stop()


def _sweep_args(port: int, out: Path, replications: str) -> list[str]:
    argv = _argv("dask-sweep", port)
    assert argv[:2] == ["alertsim", "sweep"]
    args = argv[1:]
    args[args.index("--out") + 1] = str(out)
    args[args.index("--replications") + 1] = replications
    args[1] = str(ROOT / args[1])
    return args


def test_the_profile_runs_a_sweep_and_resumes_after_losing_its_scheduler(
    cluster: Cluster, tmp_path: Path
) -> None:
    out = tmp_path / "sweep"
    args = _sweep_args(cluster.port, out, "10")  # 20 tasks: the kill lands mid-sweep
    local = tmp_path / "local"
    plain = [*args[: args.index("--executor")], *args[args.index("--executor") + 2 :]]
    plain[plain.index("--out") + 1] = str(local)
    reference = CliRunner().invoke(app, [*plain, "--workers", "1", "-q"])
    assert reference.exit_code == 0, reference.output

    cluster.start()
    tasks = out / TASKS_FILE

    def finished() -> int:
        return len(tasks.read_text().splitlines()) - 1 if tasks.exists() else 0

    def kill_after_first_task() -> None:
        wait_until(lambda: finished() >= 1, "a first finished task", timeout_s=120)
        cluster.kill_scheduler()

    killer = threading.Thread(target=kill_after_first_task)
    killer.start()
    cut = CliRunner().invoke(app, [*args, "-q"])
    killer.join()
    assert cut.exit_code == 1, cut.output
    lines = [line for line in cut.output.splitlines() if line.strip()]
    assert lines[0].startswith(f"--executor dask://127.0.0.1:{cluster.port}: lost the Dask")
    kept = finished()
    assert 1 <= kept < 20
    assert lines[-1] == (
        f"{kept} of 20 task(s) kept in {tasks}: run the same command again to resume"
    )
    assert not (out / "sweep.json").exists()

    cluster.stop()
    cluster.start()
    resumed = CliRunner().invoke(app, args)
    assert resumed.exit_code == 0, resumed.output
    assert f"resuming: {kept} of 20 task(s) kept" in resumed.output
    assert not tasks.exists()  # removed once sweep.json is written
    assert (out / "sweep.json").read_bytes() == (local / "sweep.json").read_bytes()
    assert (out / "sweep.csv").read_bytes() == (local / "sweep.csv").read_bytes()
