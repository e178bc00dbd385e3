"""Experiments: one run, replications, sweeps, sensitivity (one at a time, Morris), optimize."""

__all__ = [
    "folder",
    "gcpause",
    "levers",
    "machine",
    "morris",
    "optimize",
    "optimize_results",
    "replications",
    "sensitivity",
    "sensitivity_params",
    "sweep",
    "variants",
    "virtual",
]
