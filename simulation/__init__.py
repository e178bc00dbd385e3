"""The world around the dispatcher: scenarios, topology, hazards, model, metrics, reports."""

__all__ = [
    "behaviour",
    "cli",
    "experiment",
    "faults",
    "hazards",
    "live",
    "metrics",
    "model",
    "report",
    "scenario",
    "serve",
    "topology",
]
