"""The scenario schema: frozen option groups (tiers, channels, hazard, network) and `Scenario`.

Every group refuses unknown fields and checks its own cross-field rules where it is built; what
needs the topology (district codes) reads it from the validation context the loader passes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from string import Formatter
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from dispatcher.wire.alerts import DEFAULT_INSTRUCTION, DEFAULT_INSTRUCTION_ZH
from simulation.scenario.background import BackgroundStream, check_names
from simulation.scenario.distributions import (
    ChannelName,
    Distribution,
    Frozen,
    LogNormal,
    NonNegative,
    Positive,
    Probability,
    Strategy,
    WarningLevel,
)

# --- option groups ---------------------------------------------------------------------------


def _no_items() -> list[Any]:
    # Not `default_factory=list`: pydantic reads a factory's signature, and `list`'s is text
    # that inspect tokenizes (compiling tokenize's patterns first): 10-25 ms of a run's start.
    return []


class TopologySettings(Frozen):
    path: str = Field(description="topology data file, relative to the scenario file")
    scale: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0
    districts: list[str] | None = Field(default=None, description="subset of district codes")
    towns_per_district: Annotated[int, Field(ge=1)] | None = None
    district_team_size: Annotated[int, Field(ge=1, le=100)] = 4
    town_team_size: Annotated[int, Field(ge=1, le=100)] = 3
    geometry: bool = Field(
        default=False,
        description="place towns and risk points on the district boundaries and walk real legs",
    )

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
    background: list[BackgroundStream] = Field(
        default_factory=_no_items,
        description="other work each center of the tier takes on, sharing its staff",
    )

    @field_validator("background")
    @classmethod
    def _unique_streams(cls, streams: list[BackgroundStream]) -> list[BackgroundStream]:
        return check_names(streams)


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


# Hours of data one scenario may take: a leap year.
MAX_RAINFALL_STEPS = 8784


class StationRainfall(Frozen):
    """Hourly station observations (CMA surface hourly columns), assigned to districts."""

    kind: Literal["stations"]
    path: str = Field(description="CSV file, relative to the scenario file")
    start: datetime = Field(description="model time 0, on the clock of the file's hours")
    steps: Annotated[int, Field(ge=1, le=MAX_RAINFALL_STEPS)]
    assign: Literal["idw", "nearest"] = Field(
        default="idw",
        description="idw: inverse-distance mean over the district of the stations inside it; "
        "nearest: the station nearest the district's centre",
    )
    on_bad: Literal["error", "skip"] = Field(
        default="error",
        description="missing, negative or absurd readings and stations outside the city: "
        "an error, or left out and counted",
    )


class GridRainfall(Frozen):
    """Gridded precipitation (NetCDF, time x lat x lon), averaged over each district."""

    kind: Literal["grid"]
    path: str = Field(description="NetCDF file, relative to the scenario file")
    start: datetime = Field(description="model time 0, on the clock of the file's time axis")
    steps: Annotated[int, Field(ge=1, le=MAX_RAINFALL_STEPS)]
    variable: str | None = Field(
        default=None, description="the precipitation variable; the only one when omitted"
    )
    on_bad: Literal["error", "skip"] = Field(
        default="error",
        description="missing, negative or absurd cell values: an error, or left out and counted",
    )


RainfallSource = Annotated[StationRainfall | GridRainfall, Field(discriminator="kind")]

# CAP's circle: "latitude,longitude radius" with the radius in kilometres
_CAP_CIRCLE = r"^-?\d+(\.\d+)?,-?\d+(\.\d+)? \d+(\.\d+)?$"
LatLon = tuple[Annotated[float, Field(ge=-90, le=90)], Annotated[float, Field(ge=-180, le=180)]]


class AlertArea(Frozen):
    """A drawn alert area: its warnings alert only the towns inside (simulation.geo.areas)."""

    files: list[str] = Field(
        default_factory=_no_items,
        description="GeoJSON files of polygons (longitude, latitude), relative to the scenario",
    )
    polygons: list[Annotated[list[LatLon], Field(min_length=4)]] = Field(
        default_factory=_no_items,
        description="CAP polygons: rings of (latitude, longitude), the last point the first",
    )
    circles: list[Annotated[str, Field(pattern=_CAP_CIRCLE)]] = Field(
        default_factory=_no_items, description="CAP circles: 'latitude,longitude radius_km'"
    )
    geocodes: list[Annotated[str, Field(pattern=r"^(\d{6}|\d{9}|\d{12})$")]] = Field(
        default_factory=_no_items,
        description="division codes: a district (6 digits), a town (9) or a village's town (12)",
    )
    select_by: Literal["point", "cell"] = Field(
        default="point",
        description="point: a town is in when its point is; cell: when any of its cell is",
    )

    @field_validator("polygons")
    @classmethod
    def _closed(cls, rings: list[list[tuple[float, float]]]) -> list[list[tuple[float, float]]]:
        for i, ring in enumerate(rings):
            if ring[0] != ring[-1]:
                raise ValueError(
                    f"expected polygon {i} to end on its first point {list(ring[0])}, "
                    f"got {list(ring[-1])}"
                )
        return rings

    @model_validator(mode="after")
    def _something(self) -> AlertArea:
        if not (self.files or self.polygons or self.circles or self.geocodes):
            raise ValueError(
                "expected at least one of files, polygons, circles or geocodes, got none"
            )
        return self


class Hazard(Frozen):
    step_s: Positive = Field(default=3600.0, description="length of one rainfall step")
    rainfall_mm: dict[str, list[NonNegative]] = Field(
        default_factory=dict,
        description="rainfall per step by district code; 'default' applies to all others",
    )
    rainfall_source: RainfallSource | None = Field(
        default=None,
        description="rainfall from data instead: station observations or a precipitation grid",
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
    areas: AlertArea | None = Field(
        default=None,
        description="a drawn area: warnings alert only its towns (needs topology.geometry)",
    )

    @field_validator("rainfall_mm")
    @classmethod
    def _series(
        cls, series: dict[str, list[float]], info: ValidationInfo
    ) -> dict[str, list[float]]:
        if not series:
            return series  # then rainfall_source must be given (_one_rainfall)
        lengths = {len(v) for v in series.values()}
        if len(lengths) != 1 or 0 in lengths:
            raise ValueError(
                f"expected series of one common non-zero length, got {sorted(lengths)}"
            )
        _check_codes(series, info, allow_default=True)
        return series

    @model_validator(mode="after")
    def _one_rainfall(self) -> Hazard:
        # The loader turns a rainfall_source into rainfall_mm (simulation.rainfall), so a
        # scenario that runs always holds the series it was given or read.
        if bool(self.rainfall_mm) == (self.rainfall_source is not None):
            found = "both" if self.rainfall_mm else "neither"
            raise ValueError(
                "expected rainfall_mm (at least one series typed per district) or "
                f"rainfall_source (a data file), got {found}"
            )
        return self


class Network(Frozen):
    latency_s: Distribution
    loss: Probability = 0.0
    duplicate: Probability = Field(default=0.0, description="QoS 1 redelivery share")
    broker_capacity_per_s: Positive = 40_000.0
    resend_s: Positive = Field(
        default=10.0,
        description="a device sends an acknowledgement again when the broker has not taken it",
    )


class Relays(Frozen):
    """Between centers: each relay is confirmed by its receiver, resent while unconfirmed, and a
    center that stays silent is phoned by the tier above (as towns phone their members)."""

    resend_after_s: Positive = Field(
        default=15.0, description="an unconfirmed relay is sent again after this"
    )
    call_after_s: Positive = Field(
        default=60.0, description="a center silent this long after the first send is phoned"
    )
    call_staff_s: Distribution = Field(
        default=LogNormal(kind="lognormal", median=60.0, p90=120.0),
        description="the calling center's staff time per call",
    )
    call_failure: Probability = Field(
        default=0.05, description="probability a call to a staffed center goes unanswered"
    )


# What an info block's words may name: the level (red), its Chinese colour (红色), the areas.
TEXT_FIELDS = ("level", "colour_zh", "areas")


class AlertText(Frozen):
    """The words of one language's info block; {level}, {colour_zh} and {areas} are filled in."""

    event: Annotated[str, Field(min_length=1)]
    headline: str
    instruction: str = ""

    @field_validator("event", "headline", "instruction")
    @classmethod
    def _known_fields(cls, template: str) -> str:
        try:
            names = [name for _, name, _, _ in Formatter().parse(template) if name is not None]
        except ValueError as exc:
            raise ValueError(f"expected a template with {{name}} fields, got {exc}") from None
        unknown = [name for name in names if name not in TEXT_FIELDS]
        if unknown:
            raise ValueError(
                f"expected only the fields {', '.join(TEXT_FIELDS)}, got {{{unknown[0]}}}"
            )
        return template


def _default_text() -> dict[str, AlertText]:
    return {
        "zh-CN": AlertText(
            event="暴雨", headline="暴雨{colour_zh}预警", instruction=DEFAULT_INSTRUCTION_ZH
        ),
        "en-US": AlertText(
            event="Flood", headline="{level} rainstorm warning", instruction=DEFAULT_INSTRUCTION
        ),
    }


LanguageTag = Annotated[str, Field(pattern=r"^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$")]


class SpeechRates(Frozen):
    """How fast a voice call or an area terminal reads its script aloud."""

    zh_chars_per_s: Positive = Field(
        default=4.0, description="spoken characters a second of a Chinese script"
    )
    en_words_per_s: Positive = Field(
        default=2.5, description="words a second of a script in any other language"
    )


class AlertSettings(Frozen):
    expires_s: Positive = 3600.0
    lifecycle: Literal["separate", "updates"] = Field(
        default="updates",
        description=(
            "updates: a district's rising level issues Updates of its first alert and its "
            "falling back a Cancel; separate: every rise is an alert of its own"
        ),
    )
    sender: str = "cq-municipal"
    # One info block per language, in this order, in every CAP alert a run sends or writes.
    text: dict[LanguageTag, AlertText] = Field(default_factory=_default_text, min_length=1)
    # Whose instruction an SMS carries and a call or terminal reads (None: text's first).
    sms_language: LanguageTag | None = None
    script_language: LanguageTag | None = None
    speech: SpeechRates = SpeechRates()

    @model_validator(mode="after")
    def _languages_have_text(self) -> AlertSettings:
        for name in ("sms_language", "script_language"):
            language = getattr(self, name)
            if language is not None and language not in self.text:
                raise ValueError(
                    f"{name}: expected a language of alert.text ({', '.join(self.text)}), "
                    f"got {language!r}"
                )
        return self


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
    relay: Relays = Relays()
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
