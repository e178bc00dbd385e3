"""Scenarios: the schema of a scenario file, its distributions, and the loader.

A scenario is YAML validated by frozen pydantic models (`schema`, built on `distributions`);
`load_scenario` (`loading`) returns it with its topology and the provenance of its parameters
(`provenance`: a source or an assumption per number) or raises `ScenarioError` listing every
problem. docs/scenarios.md describes every field.
"""

from __future__ import annotations

from simulation.scenario.background import BackgroundStream
from simulation.scenario.distributions import (
    CHANNELS,
    WARNING_LEVELS,
    ChannelName,
    Constant,
    Distribution,
    Empirical,
    Exponential,
    Frozen,
    LogNormal,
    NonNegative,
    Positive,
    Probability,
    Strategy,
    Uniform,
    WarningLevel,
    distribution_mean,
)
from simulation.scenario.loading import (
    MAX_EXPANDED_NODES,
    MAX_SCENARIO_BYTES,
    LoadedScenario,
    ScenarioError,
    format_validation_error,
    load_scenario,
    parse_yaml,
)
from simulation.scenario.provenance import Entry, ParameterProvenance, Source
from simulation.scenario.schema import (
    AlertSettings,
    Behaviour,
    ChannelSettings,
    Escalation,
    FloodSlowdown,
    Hazard,
    Network,
    Outage,
    Relays,
    Scenario,
    Targets,
    Tiers,
    TierSettings,
    TopologySettings,
    TrustSettings,
)

__all__ = [
    "CHANNELS",
    "MAX_EXPANDED_NODES",
    "MAX_SCENARIO_BYTES",
    "WARNING_LEVELS",
    "AlertSettings",
    "BackgroundStream",
    "Behaviour",
    "ChannelName",
    "ChannelSettings",
    "Constant",
    "Distribution",
    "Empirical",
    "Entry",
    "Escalation",
    "Exponential",
    "FloodSlowdown",
    "Frozen",
    "Hazard",
    "LoadedScenario",
    "LogNormal",
    "Network",
    "NonNegative",
    "Outage",
    "ParameterProvenance",
    "Positive",
    "Probability",
    "Relays",
    "Scenario",
    "ScenarioError",
    "Source",
    "Strategy",
    "Targets",
    "TierSettings",
    "Tiers",
    "TopologySettings",
    "TrustSettings",
    "Uniform",
    "WarningLevel",
    "background",
    "distribution_mean",
    "distributions",
    "format_validation_error",
    "load_scenario",
    "loading",
    "parse_yaml",
    "provenance",
    "schema",
]
