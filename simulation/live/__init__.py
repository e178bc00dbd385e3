"""Live and load-test modes: real MQTT brokers, a swarm of real clients, wall-clock time."""
