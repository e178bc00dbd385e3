"""Where and with what a run was made: the host's name and the versions behind the figures.

Kept out of the report builder, which is pure: these are the run's volatile facts (report.json
keeps them under keys that comparisons ignore).
"""

from __future__ import annotations

import functools
import platform
import socket
from importlib import metadata

__all__ = ["host", "versions"]


def host() -> str:
    return socket.gethostname()


def versions() -> dict[str, str]:
    """Versions of what produced the figures: Python and the packages the model runs on."""
    return dict(_versions())


@functools.cache
def _versions() -> dict[str, str]:
    # Read once a process: each look-up parses the package's METADATA file (3 ms of a small
    # scenario's 46 ms replication), and the versions cannot change under a running process.
    out = {"python": platform.python_version()}
    for package in ("simpy", "pydantic", "alertsim"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = "unknown"
    return out
