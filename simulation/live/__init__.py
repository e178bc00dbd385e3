"""Live mode: the model paced against the wall clock, over a real MQTT broker and real clients."""
