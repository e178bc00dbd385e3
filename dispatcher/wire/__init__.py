"""The wire vocabulary: MQTT topics, user properties, CAP messages and their JSON and XML codecs."""

__all__ = [
    "alerts",
    "capvocab",
    "capxml",
    "capxml_read",
    "codec",
    "envelopes",
    "message",
    "messages",
    "properties",
    "runs",
    "topics",
]
