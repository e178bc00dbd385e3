"""Live mode: the model paced against the wall clock, over a real MQTT broker and real clients."""

__all__ = [
    "brokerconfig",
    "driver",
    "inbound",
    "keys",
    "pacer",
    "progress",
    "proxy",
    "reach",
    "run",
    "swarm",
    "swarm_processes",
]
