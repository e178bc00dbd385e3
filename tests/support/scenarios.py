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


SMOKE = ROOT / "scenarios" / "smoke-one-town.yaml"

# What live tests change in the smoke town. A live run is paced, each model second costing
# 1/speed of wall time, and smoke's walks (a median 350 m leg, 1 km at p90, up to 40% slower in
# the rain) and its 20-minute door-knock rung keep the model going 2,866 s after the alert when
# its last acknowledgement is in at 570 s: at speed 400 that is 7.2 s of wall time a run, 5.6 s
# of it with nothing on the wire. Short walks and live-district's door-knock rung end it at
# 596 s (1.5 s a run). Who is targeted, the relays, the channels' draws and who acknowledges
# are smoke's.
LIVE_TOWN_OVERRIDES: dict[str, Any] = {
    "name": "live-town",
    "behaviour": {"depart_s": constant(10), "risk_point_distance_m": constant(20)},
    "channels": {"door_knock": {"delay_s": {"kind": "lognormal", "median": 120, "p90": 300}}},
    "escalation": {"timeout_s": [120, 90, 120, 300]},
    "provenance": {
        "parameters": {
            "behaviour.depart_s": {"assumption": "test: leave 10 s after the dispatch"},
            "behaviour.risk_point_distance_m": {"assumption": "test: 20 m to a risk point"},
            "channels.door_knock.delay_s": {"assumption": "test: a neighbour next door"},
            "escalation.timeout_s": {"assumption": "test: 5 minutes on the door-knock"},
        }
    },
}


def live_town(directory: Path) -> Path:
    """smoke-one-town with the walks and door-knock rung a live run waits through cut short.

    For live tests about the wire (identity, trust, payloads, metrics), not about the town's
    durations; written to `directory` with its paths made absolute, so the CLI can run it too.
    """
    data = yaml.safe_load(SMOKE.read_text(encoding="utf-8"))
    data["topology"]["path"] = str(TOPOLOGY)
    data["provenance"]["sources"] = str(ROOT / "config" / "sources.yaml")
    return write_scenario(directory, merged(data, LIVE_TOWN_OVERRIDES), name="live-town.yaml")


def load_live_town(directory: Path) -> LoadedScenario:
    return load_scenario(live_town(directory))
