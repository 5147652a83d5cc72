"""The Kafka driver: the same Stage objects as the embedded worker, over Kafka topics and consumer groups."""
