"""Experiments: one virtual run, independent replications, and sweeps of overrides."""

__all__ = [
    "folder",
    "gcpause",
    "machine",
    "replications",
    "sensitivity",
    "sensitivity_params",
    "sweep",
    "variants",
    "virtual",
]
