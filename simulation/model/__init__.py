"""The SimPy model: the world, its centers and channels, and the Reach past them (virtual here)."""
