"""Helpers shared by the test suite (not a test package of its own)."""
