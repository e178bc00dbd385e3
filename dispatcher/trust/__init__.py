"""Trust: alert signatures, the receiving inbox that verifies them, and broker access."""

__all__ = [
    "brokerauth",
    "inbox",
    "signing",
]
