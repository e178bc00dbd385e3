"""Small scenario factories for tests: a dict with overrides, written where the loader finds it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from simulation.scenario import LoadedScenario, load_scenario

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = ROOT / "config" / "topology" / "chongqing.yaml"


def constant(value: float) -> dict[str, Any]:
    return {"kind": "constant", "value": value}


def base_scenario() -> dict[str, Any]:
    """Two towns of one district; every delay constant, nothing fails, nobody is away."""
    return {
        "name": "test-scenario",
        "seed": 7,
        "strategy": "cascade",
        "topology": {
            "path": str(TOPOLOGY),
            "scale": 0.05,
            "districts": ["500101"],
            "towns_per_district": 2,
            "district_team_size": 2,
            "town_team_size": 2,
        },
        "tiers": {
            "municipal": {"staff": 50, "processing_s": constant(30)},
            "district": {"staff": 50, "processing_s": constant(40)},
            "town": {"staff": 50, "processing_s": constant(50)},
        },
        "channels": {
            "app_push": {"delay_s": constant(2), "failure": 0.0, "via_broker": True},
            "sms": {"delay_s": constant(10), "failure": 0.0},
            "voice_call": {
                "delay_s": constant(15),
                "failure": 0.0,
                "staff_s": constant(40),
                "read_s": constant(0),
            },
            "door_knock": {
                "delay_s": constant(240),
                "failure": 0.0,
                "staff_s": constant(30),
                "read_s": constant(0),
            },
        },
        "escalation": {
            "ladder": ["app_push", "sms", "voice_call", "door_knock"],
            "timeout_s": [600, 600, 600, 600],
        },
        "behaviour": {
            "read_s": constant(20),
            "ack_s": constant(5),
            "availability": 1.0,
            "depart_s": constant(60),
            "walking_speed_m_s": constant(1.0),
            "risk_point_distance_m": constant(300),
        },
        "hazard": {
            "step_s": 3600,
            "rainfall_mm": {"default": [120]},
            "alert_level": "red",
            "scope": "city",
        },
        "network": {
            "latency_s": constant(0.5),
            "loss": 0.0,
            "duplicate": 0.0,
            "broker_capacity_per_s": 1e12,
        },
        "alert": {"expires_s": 7200},
    }


def merged(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge `overrides` into a copy of `base` (dicts merge, everything else replaces).

    A distribution (a dict with `kind`) replaces the one it overrides whole.
    """
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and "kind" not in value:
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def write_scenario(directory: Path, data: dict[str, Any], name: str = "scenario.yaml") -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def load(directory: Path, **overrides: Any) -> LoadedScenario:
    return load_scenario(write_scenario(directory, merged(base_scenario(), overrides)))
