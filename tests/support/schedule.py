"""The suite's longest test files and their seconds: `make test` hands them to xdist first.

`make test` distributes whole files (`--dist loadfile`) to two workers, each taking the next file
as it runs out of work. By default xdist queues the files with the most tests first, which puts
the long ones of few tests (a service killed at seeded moments, a Dask cluster, a paced live
run) last: on one measured run one worker ran 175 s of tests and the other 141 s, idle for the
last 34. Longest first (`--no-loadscope-reorder` and the order `tests/conftest.py` collects in)
leaves the workers within a few seconds of each other.

Seconds of test time per file (pytest --junitxml, summed per file) on the shared 2-core
machine, 2026-12-01. Only the order matters, and only roughly: refresh when a file's place in
it changes a lot; a file not listed runs after these, in collection order.
"""

from __future__ import annotations

LONGEST_FILES_S: dict[str, float] = {
    "tests/simulation/experiment/test_replications.py": 45.4,
    "tests/simulation/live/test_live_identity.py": 21.0,
    "tests/dispatcher/service/test_service_kill.py": 17.3,
    "tests/simulation/live/test_live_mode.py": 16.0,
    "tests/simulation/calibrate/test_calibrate.py": 15.1,
    "tests/loadtest/test_loadtest_runs.py": 10.9,
    "tests/simulation/live/test_live_lifecycle.py": 10.7,
    "tests/simulation/live/test_live_trust.py": 9.7,
    "tests/dispatcher/service/test_service_crash.py": 9.4,
    "tests/simulation/experiment/test_dask_compose.py": 8.4,
    "tests/simulation/live/test_faults.py": 7.9,
    "tests/simulation/model/test_channel_lengths.py": 7.1,
    "tests/simulation/experiment/test_determinism.py": 6.1,
    "tests/simulation/experiment/test_executors.py": 5.6,
    "tests/dispatcher/service/test_service_broker_faults.py": 5.5,
}
