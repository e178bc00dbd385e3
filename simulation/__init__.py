"""The world around the dispatcher: scenarios, topology, hazards, model, metrics, reports."""
