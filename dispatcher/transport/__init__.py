"""Transports that carry alerts and acknowledgements: the protocol, in-memory and MQTT."""

from dispatcher.transport.base import (
    Message,
    Transport,
    TransportError,
    TransportStats,
)
from dispatcher.transport.memory import MemoryBroker, MemoryTransport

__all__ = [
    "MemoryBroker",
    "MemoryTransport",
    "Message",
    "Transport",
    "TransportError",
    "TransportStats",
]
