"""Experiments: one virtual run, independent replications, sweeps, and where they run."""

__all__ = [
    "executors",
    "executors_dask",
    "folder",
    "gcpause",
    "machine",
    "replicate",
    "replications",
    "sweep",
    "taskfile",
    "virtual",
]
