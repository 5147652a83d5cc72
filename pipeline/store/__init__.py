"""The relational store (SQLAlchemy 2 + Alembic): recordings, results, embedded bus, dead letters, audit log."""

# The coordination tables (outbox, Graph state, leases) live in their own module; importing it here registers
# them on the one metadata that Alembic and the migration check compare against.
from dealtalk.pipeline.store import coordination as coordination
from dealtalk.pipeline.store.engine import Database, open_database

__all__ = ["Database", "open_database"]
