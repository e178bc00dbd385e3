"""Load generator: fan alerts out through a real MQTT broker to a swarm and measure it honestly."""

from simulation.live.loadtest.plan import PROFILES, LoadtestConfig, Profile
from simulation.live.loadtest.report import merge_reports, print_table
from simulation.live.loadtest.runner import LoadtestError, Progress, run_loadtest

__all__ = [
    "PROFILES",
    "LoadtestConfig",
    "LoadtestError",
    "Profile",
    "Progress",
    "merge_reports",
    "print_table",
    "run_loadtest",
]
