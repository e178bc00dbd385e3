"""Experiments: one virtual run, independent replications, and sweeps of overrides."""
