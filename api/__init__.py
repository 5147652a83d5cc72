"""The HTTP API (FastAPI): analysts' queries, health, metrics and Graph change notifications."""
