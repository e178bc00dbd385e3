"""`alertsim serve`: the web app that lists runs, shows reports, and starts and watches runs."""

__all__ = [
    "app",
    "guard",
    "jobs",
    "metrics",
]
