"""What a command center would actually run: messages, topics, the dispatch policy, tracking."""

__all__ = [
    "core",
    "errors",
    "service",
    "transport",
    "trust",
    "wire",
]
