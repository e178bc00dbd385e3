"""The load tester's lean MQTT 5: packet codec and one asyncio client connection."""

__all__ = [
    "codec",
    "connection",
]
