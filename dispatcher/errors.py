"""The root of every error alertsim raises on purpose, so a caller can catch them all at once.

Each package error derives from `AlertsimError` and, where it is a kind of bad value or a lost
connection, from the built-in exception it refines (`ValueError`, `ConnectionError`, ...), so
existing `except ValueError` handlers keep working.
"""

from __future__ import annotations

__all__ = ["AlertsimError"]


class AlertsimError(Exception):
    """An error alertsim raised on purpose: bad input, a refused message, a failed run."""
