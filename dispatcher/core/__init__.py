"""The dispatch core: who an alert targets, the pure policy, and exactly-once tracking."""
