"""Trust: alert signatures, the receiving inbox that verifies them, and broker access."""
