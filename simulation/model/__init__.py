"""The SimPy model: the world, its centers and channels, and the Reach past them (virtual here)."""

__all__ = [
    "alert_ids",
    "background",
    "centers",
    "channels",
    "clock",
    "episodes",
    "network",
    "plans",
    "reach",
    "responders",
    "routes",
    "world",
]
