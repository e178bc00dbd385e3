"""Experiments: one run, replications, sweeps, sensitivity, optimize, and where they run."""

__all__ = [
    "beside",
    "executors",
    "executors_dask",
    "folder",
    "gcpause",
    "levers",
    "machine",
    "morris",
    "optimize",
    "optimize_results",
    "replicate",
    "replications",
    "sensitivity",
    "sensitivity_params",
    "sweep",
    "taskfile",
    "variants",
    "virtual",
]
