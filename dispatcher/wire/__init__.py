"""The wire vocabulary: MQTT topics, user properties, CAP messages and their JSON codec."""
