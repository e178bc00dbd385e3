"""The live dispatcher service: journal, crash points, the asyncio runtime and its command."""

__all__ = [
    "cli",
    "crashpoints",
    "dispatch",
    "journal",
    "ladder",
    "metrics",
    "plan_file",
]
