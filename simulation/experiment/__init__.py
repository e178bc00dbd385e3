"""Experiments: one virtual run, independent replications, and sweeps of overrides."""

__all__ = [
    "folder",
    "gcpause",
    "levers",
    "machine",
    "optimize",
    "optimize_results",
    "replications",
    "sensitivity",
    "sensitivity_params",
    "sweep",
    "variants",
    "virtual",
]
