"""What a load test does: its settings, and the deterministic plan of topics, subscribers and sends.

Every process of a run (the publisher and each swarm worker, on one host or several) derives the
same plan from the same :class:`LoadtestConfig`, so nothing but the config crosses a process
boundary before the run and each side knows exactly which deliveries it is owed.

Responders share connections the way a town's devices would share a gateway: connection ``c``
carries the contiguous block of responders ``[c*R//C, (c+1)*R//C)``. In ``unicast`` and ``storm``
each responder has its own alert topic; in ``broadcast`` every connection subscribes once to one
topic, so there the unit of delivery is the connection (``responders == connections``). In
``tiered`` the publisher is the municipal center: it publishes each alert once to every district
center topic, a district relay republishes it to its towns' center topics, and a town relay (one
per swarm connection) republishes it to each of its responders' topics, as the cascade strategy
relays; the stamp (the municipal publish's scheduled time) travels unchanged down the tiers. With
``--shard i/n`` a process takes every n-th connection starting at i and publishes only what those
connections are owed, so shards never deliver to one another and their results add up exactly.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dispatcher.wire.topics import alert_topic, district_center_topic, town_center_topic

__all__ = [
    "PROFILES",
    "RELAY_TIERS",
    "BrokerAddress",
    "ConnectionPlan",
    "LoadtestConfig",
    "Profile",
    "RelayPlan",
    "RelayTier",
    "descriptor_problem",
    "parse_broker_url",
    "parse_shard",
    "publish_count",
    "relay_plans",
]

Profile = Literal["broadcast", "unicast", "tiered", "storm"]
PROFILES: Final[tuple[Profile, ...]] = ("broadcast", "unicast", "tiered", "storm")
RelayTier = Literal["district", "town"]
RELAY_TIERS: Final[tuple[RelayTier, ...]] = ("district", "town")

# Chongqing's district codes start at 500101; 38 districts as in the default topology.
_FIRST_DISTRICT: Final = 500101
_DISTRICTS: Final = 38
_SHARD_RE: Final = re.compile(r"([0-9]+)/([0-9]+)")
# Descriptors a process needs besides its MQTT sockets: stdio, pipes, the event loop, imports.
_SPARE_DESCRIPTORS: Final = 64


@dataclass(frozen=True)
class BrokerAddress:
    """Host and port of an MQTT broker, from an mqtt:// URL."""

    host: str
    port: int


def parse_broker_url(url: str) -> BrokerAddress:
    """``mqtt://host:port`` -> BrokerAddress; ValueError naming the URL otherwise."""
    parts = urlsplit(url)
    if parts.scheme != "mqtt" or not parts.hostname:
        raise ValueError(f"--broker: expected mqtt://host[:port], got {url!r}")
    try:
        port = parts.port or 1883
    except ValueError:
        raise ValueError(f"--broker: expected a port in 1-65535, got {url!r}") from None
    return BrokerAddress(parts.hostname, port)


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` -> (i, n) with 0 <= i < n; ValueError naming the value otherwise."""
    found = _SHARD_RE.fullmatch(text.strip())
    if found is None:
        raise ValueError(f"--shard: expected i/n such as 0/3, got {text!r}")
    index, count = int(found.group(1)), int(found.group(2))
    if count < 1 or index >= count:
        raise ValueError(f"--shard: expected 0 <= i < n, got {index}/{count}")
    return index, count


class LoadtestConfig(BaseModel):
    """Settings of one load-test run (one shard of it when ``shard_count > 1``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    broker_url: str = "mqtt://127.0.0.1:1883"
    profile: Profile = "unicast"
    responders: int = Field(default=1000, ge=1)
    connections: int = Field(default=100, ge=1)
    qos: Literal[0, 1, 2] = 0
    payload_bytes: int | None = Field(default=None, ge=1)
    # None: every message is due at once (one alert fanned out as fast as the system can).
    rate_per_s: float | None = Field(default=None, gt=0)
    duration_s: float = Field(default=10.0, gt=0)
    messages: int = Field(default=1, ge=1)
    ramp_per_s: float | None = Field(default=None, gt=0)
    clean_session: bool = True
    workers: int = Field(default=1, ge=1)
    shard_index: int = Field(default=0, ge=0)
    shard_count: int = Field(default=1, ge=1)
    publishers: int = Field(default=2, ge=1)
    # QoS 1/2 messages a publisher connection keeps unacknowledged at most (MQTT packet ids).
    max_inflight: int = Field(default=65535, ge=1, le=65535)
    drain_timeout_s: float = Field(default=10.0, gt=0)
    connect_timeout_s: float = Field(default=60.0, gt=0)
    run_tag: str = Field(default_factory=lambda: secrets.token_hex(3), pattern=r"^[a-z0-9]{1,12}$")

    @model_validator(mode="after")
    def _consistent(self) -> LoadtestConfig:
        if self.connections > self.responders:
            raise ValueError(
                f"connections: expected at most --responders ({self.responders}), "
                f"got {self.connections}"
            )
        if self.profile == "broadcast" and self.responders != self.connections:
            raise ValueError(
                "responders: broadcast delivers once per subscribed connection, so expected "
                f"--responders equal to --connections ({self.connections}), got {self.responders}"
            )
        if self.profile == "storm" and self.rate_per_s is None:
            raise ValueError("rate_per_s: storm offers alerts at a fixed rate, expected a rate")
        if self.shard_index >= self.shard_count:
            raise ValueError(
                f"shard: expected 0 <= i < n, got {self.shard_index}/{self.shard_count}"
            )
        if self.connections < self.shard_count:
            raise ValueError(
                f"shard: expected at least one connection per shard, got {self.connections} "
                f"connection(s) for {self.shard_count} shards"
            )
        return self

    # --- the plan ---------------------------------------------------------------------------

    def shard_connections(self) -> list[int]:
        """Connection indices this shard runs."""
        return list(range(self.shard_index, self.connections, self.shard_count))

    def responders_of(self, connection: int) -> range:
        """Global responder indices carried by one connection."""
        start = connection * self.responders // self.connections
        return range(start, (connection + 1) * self.responders // self.connections)

    def town_of(self, connection: int) -> tuple[str, str]:
        """(district code, town code) a connection stands for."""
        district = str(_FIRST_DISTRICT + connection % _DISTRICTS)
        return district, f"{district}{connection // _DISTRICTS + 1:03d}"

    def responder_topic(self, responder: int, connection: int) -> str:
        district, town = self.town_of(connection)
        return alert_topic(district, town, f"lt{self.run_tag}-r{responder}")

    def broadcast_topic(self) -> str:
        # One topic per shard, so shards on several hosts never deliver to each other.
        district, town = self.town_of(0)
        return alert_topic(district, town, f"lt{self.run_tag}-all-s{self.shard_index}")

    def message_count(self) -> int:
        """Messages this shard's responders are sent (deliveries owed, except in broadcast)."""
        if self.profile == "broadcast":
            return self.messages
        if self.profile == "storm":
            assert self.rate_per_s is not None
            return max(1, round(self.rate_per_s * self.duration_s / self.shard_count))
        return self.messages * self.shard_responder_count()

    def shard_districts(self) -> list[str]:
        """District codes of this shard's connections, in order of first appearance."""
        return list(dict.fromkeys(self.town_of(c)[0] for c in self.shard_connections()))

    def shard_responder_count(self) -> int:
        return sum(len(self.responders_of(c)) for c in self.shard_connections())

    def shard_rate_per_s(self) -> float | None:
        return None if self.rate_per_s is None else self.rate_per_s / self.shard_count


@dataclass(frozen=True)
class ConnectionPlan:
    """One swarm connection: its client id, what it subscribes to, and whom each topic reaches.

    ``keys`` maps a topic to the delivery key counted for it (a responder index, or the
    connection index in broadcast), and ``owed`` is how many distinct deliveries it expects.
    """

    index: int
    client_id: str
    topics: tuple[str, ...]
    keys: dict[str, int]


def connection_plan(config: LoadtestConfig, connection: int) -> ConnectionPlan:
    client_id = f"alertsim-lt{config.run_tag}-c{connection}"
    if config.profile == "broadcast":
        topic = config.broadcast_topic()
        return ConnectionPlan(connection, client_id, (topic,), {topic: connection})
    keys = {config.responder_topic(r, connection): r for r in config.responders_of(connection)}
    return ConnectionPlan(connection, client_id, tuple(keys), keys)


def publish_topics(config: LoadtestConfig) -> list[str]:
    """Topics this shard's publisher cycles through, in order (message i goes to [i % len])."""
    if config.profile == "broadcast":
        return [config.broadcast_topic()]
    if config.profile == "tiered":
        return [district_center_topic(district) for district in config.shard_districts()]
    return [
        config.responder_topic(r, c)
        for c in config.shard_connections()
        for r in config.responders_of(c)
    ]


def publish_count(config: LoadtestConfig) -> int:
    """Messages this shard's publisher sends (tiered: one per district per alert)."""
    if config.profile == "tiered":
        return config.messages * len(config.shard_districts())
    return config.message_count()


@dataclass(frozen=True)
class RelayPlan:
    """One relaying center of the tiered profile: its client id, inbox topic and where it relays.

    ``outputs`` are the topics it republishes every alert to, in order: a district center's
    towns' center topics, or a town center's responders' alert topics.
    """

    tier: RelayTier
    client_id: str
    inbox: str
    outputs: tuple[str, ...]


def relay_plans(config: LoadtestConfig, tier: RelayTier) -> list[RelayPlan]:
    """The centers of one tier in this shard: its districts, or one town per connection."""
    connections = config.shard_connections()
    prefix = f"alertsim-lt{config.run_tag}-s{config.shard_index}"
    if tier == "district":
        towns: dict[str, list[str]] = {d: [] for d in config.shard_districts()}
        for connection in connections:
            district, town = config.town_of(connection)
            towns[district].append(town_center_topic(district, town))
        return [
            RelayPlan(tier, f"{prefix}-d{d}", district_center_topic(d), tuple(outputs))
            for d, outputs in towns.items()
        ]
    plans = []
    for connection in connections:
        district, town = config.town_of(connection)
        inbox = town_center_topic(district, town)
        responders = config.responders_of(connection)
        outputs = tuple(config.responder_topic(r, connection) for r in responders)
        plans.append(RelayPlan(tier, f"{prefix}-t{town}", inbox, outputs))
    return plans


def owed_deliveries(config: LoadtestConfig) -> int:
    """Deliveries this shard's swarm is owed when every planned message is published once."""
    if config.profile == "broadcast":
        return config.messages * len(config.shard_connections())
    return config.message_count()


def descriptor_problem(config: LoadtestConfig, limit: int) -> str | None:
    """Why one process of this shard would need more sockets than ``limit`` (the open-file
    limit); None when every process fits. The message says what to change."""
    connections = len(config.shard_connections())
    workers = min(config.workers, connections)
    per_worker = -(-connections // workers)
    room = limit - _SPARE_DESCRIPTORS
    if per_worker > room:
        needed = -(-connections // room)
        return (
            f"connections: {connections:,} connections over --workers {config.workers} put "
            f"{per_worker:,} sockets in one swarm process, but a process may open {limit:,} "
            f"files here (ulimit -n); expected at most {room:,} a process: use --workers "
            f"{needed} or more, or split the swarm across hosts with --shard i/n"
        )
    if config.profile == "tiered" and connections > room:
        return (
            f"connections: the tiered profile's town relay holds one connection per town, "
            f"{connections:,} in one process, but a process may open {limit:,} files here "
            f"(ulimit -n); split the swarm across hosts with --shard i/n"
        )
    return None
