"""The runs `alertsim serve` starts: a bounded queue, one spawned worker each, and their outcome.

`RunQueue` admits at most `max_running + max_waiting` runs at a time (a request is counted from
the moment it arrives, before its upload is read or parsed, so a burst cannot get past the bound
while earlier ones parse); beyond that the server answers 429. Admitted runs wait for one of
`max_running` slots, then get their own spawned process, so a city-scale model never blocks the
event loop; the process reports progress over a multiprocessing queue, which `drain` moves into
the job's history and its Server-Sent Events subscribers.

A run's outcome is what its worker said: `done`, or `failed` with the worker's own error. A
worker that exits without saying (killed, or dying before it could) is `failed` with how it
ended; one that exited 0 after writing its report is `done`, never `failed: exited with 0`.
"""

from __future__ import annotations

import asyncio
import queue as queue_module
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from simulation.scenario import LoadedScenario

__all__ = ["QUEUE_POLL_S", "Job", "RunQueue", "drain", "exit_reason", "job_main"]

QUEUE_POLL_S: Final = 0.2
# After the worker is seen dead, how long its last messages may take to arrive from the pipe.
FINAL_DRAIN_S: Final = 2.0


@dataclass
class Job:
    """One run started from the server, and everything a viewer needs to follow it."""

    name: str
    scenario: str
    out_dir: Path
    status: str = "queued"  # queued | running | done | failed
    points: list[dict[str, Any]] = field(default_factory=list)
    result: dict[str, Any] = field(default_factory=dict)
    subscribers: set[asyncio.Queue[tuple[str, dict[str, Any]]]] = field(default_factory=set)
    process: Any = None
    task: asyncio.Task[None] | None = None

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")

    def publish(self, event: str, data: dict[str, Any]) -> None:
        for subscriber in self.subscribers:
            subscriber.put_nowait((event, data))

    def record(self, event: str, data: dict[str, Any]) -> None:
        if event == "progress":
            self.points.append(data)
        else:
            self.status = event
            self.result = data
        self.publish(event, data)


class RunQueue:
    """At most `max_running` runs at once and `max_waiting` more admitted behind them."""

    def __init__(self, max_running: int, max_waiting: int) -> None:
        if max_running < 1 or max_waiting < 0:
            raise ValueError(
                f"run queue: expected max_running >= 1 and max_waiting >= 0, "
                f"got {max_running} and {max_waiting}"
            )
        self.max_running = max_running
        self.max_waiting = max_waiting
        self.admitted = 0
        self._slots = asyncio.Semaphore(max_running)

    def admit(self) -> bool:
        """Count one more run in, or False when the queue is full (the caller answers 429)."""
        if self.admitted >= self.max_running + self.max_waiting:
            return False
        self.admitted += 1
        return True

    def release(self) -> None:
        self.admitted -= 1

    async def run(self, job: Job, loaded: LoadedScenario) -> None:
        """Wait for a slot, run `job` in its own process to its outcome, free the slot."""
        try:
            async with self._slots:
                await _run_worker(job, loaded)
        finally:
            self.release()


async def _run_worker(job: Job, loaded: LoadedScenario) -> None:
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    job.process = context.Process(
        target=job_main,
        args=(loaded, str(job.out_dir), events),
        name=f"alertsim-{job.name}",
        daemon=True,
    )
    job.status = "running"
    job.process.start()
    try:
        await drain(job, events)
    finally:
        events.close()


def job_main(loaded: LoadedScenario, out_dir: str, events: Any) -> None:
    """Run one replication in a spawned process, sending progress and the outcome on `events`."""
    try:
        from simulation.experiment.folder import finish_run
        from simulation.experiment.virtual import Progress, run_virtual

        def progress(p: Progress) -> None:
            events.put(
                (
                    "progress",
                    {
                        "now_s": p.now_s,
                        "acknowledged_share": p.acknowledged_share,
                        "alerts_issued": p.alerts_issued,
                    },
                )
            )

        # the same folder as `alertsim run` writes: report.json, report.html, records.csv.gz
        report, _ = finish_run(run_virtual(loaded, progress=progress), Path(out_dir))
        events.put(("done", {"verdict": report["verdict"]}))
    except Exception as exc:  # the viewer must hear about any failure, whatever it is
        first = str(exc).splitlines()[0] if str(exc) else ""
        events.put(("failed", {"error": f"{type(exc).__name__}: {first}".rstrip(": ")}))


def exit_reason(exitcode: int | None) -> str:
    """How a worker that said nothing ended, in words."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"worker was killed by {name} before reporting an outcome"
    if exitcode == 0:
        return "worker exited without reporting an outcome"
    return f"worker exited with status {exitcode} before reporting an outcome (see the server log)"


async def drain(job: Job, events: Any) -> None:
    """Move the worker's messages into the job until it reports an outcome or dies."""
    loop = asyncio.get_running_loop()
    dead = False
    while True:
        try:
            wait = FINAL_DRAIN_S if dead else QUEUE_POLL_S
            event, data = await loop.run_in_executor(None, events.get, True, wait)
        except queue_module.Empty:
            if dead:
                _settle(job)
                return
            # seen dead: read what it sent before dying, which may still be in the pipe
            dead = job.process is not None and not job.process.is_alive()
            continue
        job.record(event, data)
        if event != "progress":
            return


def _settle(job: Job) -> None:
    """The outcome of a worker that died without a word: its report if it wrote one."""
    exitcode = job.process.exitcode if job.process is not None else None
    if exitcode == 0 and (job.out_dir / "report.json").is_file():
        import json

        report = json.loads((job.out_dir / "report.json").read_text(encoding="utf-8"))
        job.record("done", {"verdict": report.get("verdict", [])})
    else:
        job.record("failed", {"error": exit_reason(exitcode)})
