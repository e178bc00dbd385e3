"""Where and with what a run was made: the host's name and the versions behind the figures.

Kept out of the report builder, which is pure: these are the run's volatile facts (report.json
keeps them under keys that comparisons ignore).
"""

from __future__ import annotations

import platform
import socket
from importlib import metadata

__all__ = ["host", "versions"]


def host() -> str:
    return socket.gethostname()


def versions() -> dict[str, str]:
    """Versions of what produced the figures: Python and the packages the model runs on."""
    out = {"python": platform.python_version()}
    for package in ("simpy", "pydantic", "alertsim"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = "unknown"
    return out
