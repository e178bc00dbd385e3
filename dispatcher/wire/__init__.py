"""The wire vocabulary: MQTT topics, user properties, CAP messages and their JSON codec."""

__all__ = [
    "alerts",
    "codec",
    "envelopes",
    "message",
    "messages",
    "properties",
    "runs",
    "topics",
]
