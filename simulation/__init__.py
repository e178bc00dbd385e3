"""The world around the dispatcher: scenarios, topology, geography, hazards, model, reports."""

__all__ = [
    "behaviour",
    "cli",
    "experiment",
    "faults",
    "geo",
    "hazards",
    "inputs",
    "live",
    "metrics",
    "model",
    "rainfall",
    "report",
    "scenario",
    "serve",
    "topology",
]
