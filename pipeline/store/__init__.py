"""The relational store (SQLAlchemy 2 + Alembic): recordings, results, embedded bus, dead letters, audit log."""

from dealtalk.pipeline.store.engine import Database, open_database

__all__ = ["Database", "open_database"]
