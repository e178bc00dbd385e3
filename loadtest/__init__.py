"""Load generator: fan alerts out through a real MQTT broker to a swarm and measure it honestly."""

from loadtest.report import merge_reports, print_table
from loadtest.runner import LoadtestError, Progress, run_loadtest
from loadtest.schedule import PROFILES, LoadtestConfig, Profile

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
