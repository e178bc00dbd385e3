"""The dispatch core: who an alert targets, the pure policy, and exactly-once tracking."""

__all__ = [
    "commands",
    "events",
    "lifecycle",
    "plan",
    "policy",
    "relays",
    "tracker",
]
