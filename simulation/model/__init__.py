"""The SimPy model: centers, responders, channels and the network, driven by the pure policy."""
