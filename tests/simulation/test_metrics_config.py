"""The compose `metrics` profile, its Prometheus config and the Grafana dashboard hold together.

No docker engine here: the compose file is parsed, Prometheus's config is checked by `promtool`
when it is installed (`apt-get install prometheus`), and every metric the dashboard's PromQL names
is one the collectors expose.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path, PurePosixPath
from types import SimpleNamespace
from typing import Any

import yaml
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from dispatcher.core.tracker import Tracker
from simulation.live.reach import LiveCounters
from simulation.live.swarm import SwarmCounters
from simulation.prometheus import LiveCollector, SwarmCollector
from simulation.serve.jobs import RunQueue
from simulation.serve.metrics import ServeCollector

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES: dict[str, Any] = COMPOSE["services"]
PROMETHEUS = ROOT / "config" / "prometheus" / "prometheus.yml"
DASHBOARD = ROOT / "config" / "grafana" / "alertsim.json"


def exposed_names() -> set[str]:
    """Every sample name the live and serve collectors expose (families without samples too)."""
    registry = CollectorRegistry()
    world = SimpleNamespace(tracker=Tracker(), env=SimpleNamespace(now=0.0))
    driver = SimpleNamespace(counters=LiveCounters(), pacer=SimpleNamespace(lags_s=[]))
    registry.register(LiveCollector(world, driver, target_s=180.0))  # type: ignore[arg-type]
    registry.register(ServeCollector({}, RunQueue(2, 10), Counter()))
    registry.register(SwarmCollector(SwarmCounters(), 0))
    names: set[str] = set()
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        names.add(family.name)
        if family.type == "counter":
            names.add(f"{family.name}_total")
        if family.type == "histogram":
            names |= {f"{family.name}_{s}" for s in ("bucket", "count", "sum")}
        names |= {sample.name for sample in family.samples}
    return names


def mounts(service: dict[str, Any]) -> dict[str, Path]:
    """container path -> repository path, for the service's bind mounts of ./ files."""
    out = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            out[target] = ROOT / source
    return out


def test_the_metrics_profile_has_prometheus_and_grafana() -> None:
    for name in ("prometheus", "grafana"):
        assert SERVICES[name]["profiles"] == ["metrics"]
        for target, source in mounts(SERVICES[name]).items():
            assert source.exists(), f"{name}: {source} (mounted at {target}) is missing"
    assert mounts(SERVICES["prometheus"])["/etc/prometheus/prometheus.yml"] == PROMETHEUS
    default = [n for n, s in SERVICES.items() if "profiles" not in s]
    assert "prometheus" not in default
    assert "grafana" not in default


def test_prometheus_scrapes_the_ports_the_live_run_and_the_swarm_serve() -> None:
    config = yaml.safe_load(PROMETHEUS.read_text(encoding="utf-8"))
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]
    }
    for service in ("live", "swarm"):
        command = [str(word) for word in SERVICES[service]["command"]]
        port = command[command.index("--metrics-port") + 1]
        assert command[command.index("--metrics-host") + 1] == "0.0.0.0"
        assert port in [str(p) for p in SERVICES[service]["expose"]]
        # prometheus-client installed
        assert "'.[metrics]'" in SERVICES[service]["entrypoint"][2]
        assert targets[f"alertsim-{service}"] == [f"{service}:{port}"]


def test_promtool_accepts_the_prometheus_config() -> None:
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool missing: make test installs Debian's prometheus"
    checked = subprocess.run(
        [promtool, "check", "config", str(PROMETHEUS)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_metric_the_dashboard_queries_is_exposed() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(exprs) >= 8
    queried = {name for expr in exprs for name in re.findall(r"alertsim_[a-z_]+", expr)}
    assert queried - exposed_names() == set()
    # the share within target is one ratio, on the bucket edges at 3 and 15 minutes
    assert any('le="180.0"' in e and "alertsim_recipients_targeted_total" in e for e in exprs)
    assert any('le="900.0"' in e for e in exprs)


def test_grafana_is_provisioned_with_the_dashboard_and_the_data_source() -> None:
    volumes = mounts(SERVICES["grafana"])
    provisioning = volumes["/etc/grafana/provisioning"]
    [source] = yaml.safe_load(
        (provisioning / "datasources" / "prometheus.yml").read_text(encoding="utf-8")
    )["datasources"]
    assert source["url"] == "http://prometheus:9090"
    [provider] = yaml.safe_load(
        (provisioning / "dashboards" / "alertsim.yml").read_text(encoding="utf-8")
    )["providers"]
    folder = PurePosixPath(provider["options"]["path"])
    dashboards = [Path(p) for t, p in volumes.items() if PurePosixPath(t).parent == folder]
    assert dashboards == [DASHBOARD]
    panels = json.loads(DASHBOARD.read_text(encoding="utf-8"))["panels"]
    assert {p["datasource"]["uid"] for p in panels} == {source["uid"]}
