"""The world around the dispatcher: scenarios, topology, geography, hazards, model, reports.

Also the experiments on it and what is fitted to drills (``calibrate``)."""

__all__ = [
    "alerttext",
    "behaviour",
    "calibrate",
    "caplifecycle",
    "capreplay",
    "cli",
    "experiment",
    "extras",
    "faults",
    "geo",
    "hazards",
    "inputs",
    "live",
    "metrics",
    "model",
    "prometheus",
    "rainfall",
    "report",
    "scenario",
    "serve",
    "textlength",
    "topology",
]
