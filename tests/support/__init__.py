"""Helpers shared by test tiers (the real Kafka-protocol test broker)."""
