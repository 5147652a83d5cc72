"""Buses that move events between stages: the embedded database queue, or Kafka (``kafka`` extra)."""
