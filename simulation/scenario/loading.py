"""Loading a scenario file: YAML with bounds, validation, and every problem reported with its path.

Loading is one function, `load_scenario`, which either returns a validated, frozen `Scenario`
or raises `ScenarioError` carrying *all* problems found, each as
`{file}: {field path}: expected ..., got ...`. Nothing runs before a scenario has loaded cleanly.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from dispatcher.errors import AlertsimError
from dispatcher.wire.messages import Alert
from simulation.rainfall.readings import Provenance
from simulation.scenario.schema import Scenario
from simulation.topology.source import TopologyError, TopologySource, load_topology

MAX_SCENARIO_BYTES = 10 * 1024 * 1024
# A YAML alias bomb is small on disk and huge once expanded; refuse documents whose expanded
# node count passes this bound before pydantic ever walks them.
MAX_EXPANDED_NODES = 200_000


class ScenarioError(AlertsimError, ValueError):
    """Every problem found in a scenario file, each naming file, field path, value, expectation."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


class LoadedScenario(BaseModel):
    """A validated scenario together with where it came from and the topology it refers to."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    scenario: Scenario
    path: Path
    sha256: str
    topology: TopologySource
    # Where hazard.rainfall_mm came from when the file gave a rainfall_source (else None).
    rainfall: Provenance | None = None
    # CAP messages replayed instead of the hazard's warnings (`alertsim run --cap`), by sent time.
    cap_alerts: tuple[Alert, ...] = ()


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # guards against recursive aliases while we compute
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(child, memo) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    memo[key] = min(size, MAX_EXPANDED_NODES + 1)
    return memo[key]


def parse_yaml(text: str, where: str) -> Any:
    """Safe-load YAML, refusing alias bombs; raises ScenarioError naming `where`."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ScenarioError([f"{where}: expected valid YAML, got a parse error: {exc}"]) from exc
    if node is None:
        raise ScenarioError([f"{where}: expected a mapping of scenario fields, got an empty file"])
    if _expanded_size(node, {}) > MAX_EXPANDED_NODES:
        raise ScenarioError(
            [
                f"{where}: expected at most {MAX_EXPANDED_NODES:,} YAML nodes once aliases are "
                "expanded, got more (an alias bomb?)"
            ]
        )
    return yaml.SafeLoader(text).get_single_data()


def format_validation_error(where: str, exc: ValidationError) -> list[str]:
    """One line per pydantic error: `{where}: {path}: {what was expected}, got {value!r}`."""
    lines = []
    for err in exc.errors(include_url=False):
        path = _dotted(err["loc"])
        message = err["msg"]
        if message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        if err["type"] == "missing":
            lines.append(f"{where}: {path}: expected this field, got nothing (field required)")
        elif err["type"] == "extra_forbidden":
            lines.append(f"{where}: {path}: expected no such field, got {err['input']!r}")
        elif "got" in message:
            lines.append(f"{where}: {path}: {message}")
        else:
            found = _short(err.get("input"))
            lines.append(f"{where}: {path}: expected {_lower_first(message)}, got {found}")
    return lines


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = "scenario"
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("constant", "uniform", "exponential", "lognormal", "empirical"):
            continue  # discriminator tags are noise in a path a planner reads
        else:
            out += f".{part}"
    return out


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _lower_first(message: str) -> str:
    message = message.removeprefix("Input should be ").removeprefix("Input ")
    return message[:1].lower() + message[1:]


def load_scenario(path: str | Path) -> LoadedScenario:
    """Read, parse and validate a scenario file; raise ScenarioError with every problem found."""
    import hashlib

    path = Path(path)
    where = str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ScenarioError([f"{where}: expected a readable scenario file, got {exc}"]) from exc
    if size > MAX_SCENARIO_BYTES:
        raise ScenarioError(
            [f"{where}: expected a file of at most {MAX_SCENARIO_BYTES:,} bytes, got {size:,}"]
        )
    raw_bytes = path.read_bytes()
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError([f"{where}: expected UTF-8 text, got {exc}"]) from exc
    data = parse_yaml(text, where)
    if not isinstance(data, dict):
        raise ScenarioError(
            [f"{where}: expected a mapping of scenario fields, got {type(data).__name__}"]
        )

    errors: list[str] = []
    topology: TopologySource | None = None
    context: dict[str, Any] = {}
    topo_field = data.get("topology")
    if isinstance(topo_field, dict) and isinstance(topo_field.get("path"), str):
        topo_path = (path.parent / topo_field["path"]).resolve()
        try:
            topology = load_topology(topo_path)
            context["district_codes"] = {d.code for d in topology.districts}
        except TopologyError as exc:
            errors.append(f"{where}: scenario.topology.path: {exc}")
        except OSError as exc:
            errors.append(
                f"{where}: scenario.topology.path: expected a readable topology file, "
                f"got {topo_field['path']!r} ({exc.strerror})"
            )
    scenario: Scenario | None = None
    try:
        scenario = Scenario.model_validate(data, context=context)
    except ValidationError as exc:
        errors.extend(format_validation_error(where, exc))
    if scenario is not None and topology is not None:
        errors.extend(_cross_checks(where, scenario))
    if errors or scenario is None or topology is None:
        raise ScenarioError(errors or [f"{where}: expected a valid scenario"])
    from simulation.scenario.geodata import load_geodata

    scenario, rainfall, problems = load_geodata(where, path, scenario, topology)
    if problems:
        raise ScenarioError(problems)
    return LoadedScenario(
        scenario=scenario,
        path=path,
        sha256=hashlib.sha256(raw_bytes).hexdigest(),
        topology=topology,
        rainfall=rainfall,
    )


def _cross_checks(where: str, scenario: Scenario) -> list[str]:
    errors = []
    unknown = sorted(
        code
        for code in scenario.hazard.outage.districts
        if scenario.topology.districts is not None and code not in scenario.topology.districts
    )
    if unknown:
        errors.append(
            f"{where}: scenario.hazard.outage.districts: expected districts included in "
            f"topology.districts, got {unknown!r}"
        )
    return errors
