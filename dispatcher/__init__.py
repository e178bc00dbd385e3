"""What a command center would actually run: messages, topics, the dispatch policy, tracking."""
