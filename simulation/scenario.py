"""Scenario schema (frozen pydantic models) and the loader that reports every error with its path.

A scenario file is YAML. Loading it is one function, `load_scenario`, which either returns a
validated, frozen `Scenario` or raises `ScenarioError` carrying *all* problems found, each as
`{file}: {field path}: expected ..., got ...`. Nothing runs before a scenario has loaded cleanly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from dispatcher.errors import AlertsimError
from simulation.topology.source import TopologyError, TopologySource, load_topology

MAX_SCENARIO_BYTES = 10 * 1024 * 1024
# A YAML alias bomb is small on disk and huge once expanded; refuse documents whose expanded
# node count passes this bound before pydantic ever walks them.
MAX_EXPANDED_NODES = 200_000

ChannelName = Literal["app_push", "sms", "voice_call", "area_terminal", "door_knock"]
CHANNELS: tuple[ChannelName, ...] = ("app_push", "sms", "voice_call", "area_terminal", "door_knock")
Strategy = Literal["cascade", "direct", "hybrid"]
WarningLevel = Literal["blue", "yellow", "orange", "red"]
WARNING_LEVELS: tuple[WarningLevel, ...] = ("blue", "yellow", "orange", "red")

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]


class Frozen(BaseModel):
    """Base for every option group: immutable, strict about unknown keys, finite numbers only."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


# --- distributions ---------------------------------------------------------------------------


class Constant(Frozen):
    kind: Literal["constant"]
    value: NonNegative


class Uniform(Frozen):
    kind: Literal["uniform"]
    low: NonNegative
    high: NonNegative

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"expected high >= low, got low={self.low} high={self.high}")
        return self


class Exponential(Frozen):
    kind: Literal["exponential"]
    mean: Positive


class LogNormal(Frozen):
    """Lognormal given by what studies report: the median and the 90th percentile."""

    kind: Literal["lognormal"]
    median: Positive
    p90: Positive

    @model_validator(mode="after")
    def _ordered(self) -> LogNormal:
        if self.p90 < self.median:
            raise ValueError(f"expected p90 >= median, got median={self.median} p90={self.p90}")
        return self


class Empirical(Frozen):
    """Resamples observed values with equal weight."""

    kind: Literal["empirical"]
    values: Annotated[list[NonNegative], Field(min_length=1, max_length=100_000)]


Distribution = Annotated[
    Constant | Uniform | Exponential | LogNormal | Empirical, Field(discriminator="kind")
]


def distribution_mean(dist: Distribution) -> float:
    """Expected value of a distribution; used for sanity figures, never for sampling."""
    match dist:
        case Constant(value=v):
            return v
        case Uniform(low=lo, high=hi):
            return (lo + hi) / 2
        case Exponential(mean=m):
            return m
        case LogNormal(median=med, p90=p90):
            sigma = math.log(p90 / med) / 1.2815515655446004
            return med * math.exp(sigma * sigma / 2)
        case Empirical(values=vs):
            return sum(vs) / len(vs)
    raise AssertionError(dist)  # pragma: no cover


# --- option groups ---------------------------------------------------------------------------


class TopologySettings(Frozen):
    path: str = Field(description="topology data file, relative to the scenario file")
    scale: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0
    districts: list[str] | None = Field(default=None, description="subset of district codes")
    towns_per_district: Annotated[int, Field(ge=1)] | None = None
    district_team_size: Annotated[int, Field(ge=1, le=100)] = 4
    town_team_size: Annotated[int, Field(ge=1, le=100)] = 3

    @field_validator("districts")
    @classmethod
    def _known_districts(cls, codes: list[str] | None, info: ValidationInfo) -> list[str] | None:
        known: set[str] | None = (info.context or {}).get("district_codes")
        if codes is None or known is None:
            return codes
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise ValueError(
                f"expected district codes from the topology file, got unknown {unknown!r}"
            )
        if len(set(codes)) != len(codes):
            raise ValueError(f"expected each district once, got {codes!r}")
        return codes


class Targets(Frozen):
    notify_target_s: Positive = 180.0
    respond_target_s: Positive = 900.0
    notify_target_share: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0


class TierSettings(Frozen):
    processing_s: Distribution
    staff: Annotated[int, Field(ge=1, le=1000)]


class Tiers(Frozen):
    municipal: TierSettings
    district: TierSettings
    town: TierSettings


class ChannelSettings(Frozen):
    delay_s: Distribution = Field(description="from sending to the device (or door)")
    failure: Probability = Field(description="probability a single attempt never arrives")
    missed: Probability = Field(
        default=0.0, description="probability an arrived attempt is never noticed"
    )
    via_broker: bool = Field(
        default=False, description="carried by the MQTT broker, so the network model applies"
    )
    cell_dependent: bool = Field(
        default=False, description="fails where the recipient's cell site is out"
    )
    staff_s: Distribution | None = Field(
        default=None, description="town staff time per attempt (calls, arranging a door-knock)"
    )
    read_s: Distribution | None = Field(
        default=None, description="overrides behaviour.read_s (a ringing phone is read at once)"
    )


class Escalation(Frozen):
    ladder: Annotated[list[ChannelName], Field(min_length=1)]
    timeout_s: Annotated[list[Positive], Field(min_length=1)]

    @model_validator(mode="after")
    def _aligned(self) -> Escalation:
        if len(self.timeout_s) != len(self.ladder):
            raise ValueError(
                f"expected one timeout_s per ladder rung ({len(self.ladder)}), "
                f"got {len(self.timeout_s)}"
            )
        if len(set(self.ladder)) != len(self.ladder):
            raise ValueError(f"expected each channel once in the ladder, got {self.ladder!r}")
        return self


class Behaviour(Frozen):
    read_s: Distribution
    ack_s: Distribution
    availability: Probability
    depart_s: Distribution = Field(description="from acknowledging to leaving for risk points")
    walking_speed_m_s: Distribution
    risk_point_distance_m: Distribution


class Outage(Frozen):
    """Cell-site outage share as rainfall rises; `districts` pins a share (e.g. a 45% outage)."""

    share_per_mm_3h: NonNegative = 0.0
    max_share: Probability = 0.5
    districts: dict[str, Probability] = Field(default_factory=dict)

    @field_validator("districts")
    @classmethod
    def _known(cls, shares: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        _check_codes(shares, info, allow_default=False)
        return shares


class FloodSlowdown(Frozen):
    """Walking slows with rain on the ground (0.35 m of water cuts speed by about 40%)."""

    per_mm_1h: NonNegative = 0.0
    max_slowdown: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.4


class Hazard(Frozen):
    step_s: Positive = Field(default=3600.0, description="length of one rainfall step")
    rainfall_mm: dict[str, list[NonNegative]] = Field(
        description="rainfall per step by district code; 'default' applies to all others"
    )
    alert_level: WarningLevel = Field(
        default="orange", description="lowest warning level that issues an alert"
    )
    scope: Literal["city", "district"] = Field(
        default="district",
        description="city: the first warning at alert_level alerts every district at once",
    )
    outage: Outage = Outage()
    slowdown: FloodSlowdown = FloodSlowdown()

    @field_validator("rainfall_mm")
    @classmethod
    def _series(
        cls, series: dict[str, list[float]], info: ValidationInfo
    ) -> dict[str, list[float]]:
        if not series:
            raise ValueError("expected at least one rainfall series, got none")
        lengths = {len(v) for v in series.values()}
        if len(lengths) != 1 or 0 in lengths:
            raise ValueError(
                f"expected series of one common non-zero length, got {sorted(lengths)}"
            )
        _check_codes(series, info, allow_default=True)
        return series


class Network(Frozen):
    latency_s: Distribution
    loss: Probability = 0.0
    duplicate: Probability = Field(default=0.0, description="QoS 1 redelivery share")
    broker_capacity_per_s: Positive = 40_000.0


class AlertSettings(Frozen):
    expires_s: Positive = 3600.0
    sender: str = "cq-municipal"


class TrustSettings(Frozen):
    # 0 keeps scenarios written before signing byte-for-byte; live measurements go here.
    verify_s: NonNegative = Field(
        default=0.0,
        description="a responder's device verifying one signed alert (app push) before showing it",
    )


class Scenario(Frozen):
    name: Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.-]+$")]
    description: str = ""
    seed: Annotated[int, Field(ge=0, lt=2**63)]
    strategy: Strategy
    topology: TopologySettings
    targets: Targets = Targets()
    tiers: Tiers
    channels: dict[ChannelName, ChannelSettings]
    escalation: Escalation
    behaviour: Behaviour
    hazard: Hazard
    network: Network
    alert: AlertSettings = AlertSettings()
    trust: TrustSettings = TrustSettings()

    @model_validator(mode="after")
    def _ladder_channels_defined(self) -> Scenario:
        missing = [c for c in self.escalation.ladder if c not in self.channels]
        if missing:
            raise ValueError(
                f"expected every escalation.ladder channel under channels, missing {missing!r}"
            )
        return self


def _check_codes(keys: Mapping[str, object], info: ValidationInfo, *, allow_default: bool) -> None:
    known: set[str] | None = (info.context or {}).get("district_codes")
    if known is None:
        return
    unknown = [k for k in keys if k not in known and not (allow_default and k == "default")]
    if unknown:
        raise ValueError(f"expected district codes from the topology file, got unknown {unknown!r}")


# --- loading ---------------------------------------------------------------------------------


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
    return LoadedScenario(
        scenario=scenario,
        path=path,
        sha256=hashlib.sha256(raw_bytes).hexdigest(),
        topology=topology,
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
