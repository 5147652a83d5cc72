"""The erasure ledger: hashes of erased people's addresses and names, consulted whenever results are derived
again, so that reprocessing or a new discovery of an old recording never brings an erased person back."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from dealtalk.pipeline.gdpr.identity import Person, hash_email, hash_name
from dealtalk.pipeline.store import Database
from dealtalk.pipeline.store.schema import ErasureRow, utcnow

__all__ = ["ErasedPeople", "load_erased", "open_erasure"]


@dataclass(frozen=True, slots=True)
class ErasedPeople:
    """A snapshot of the ledger."""

    email_hashes: frozenset[str] = frozenset()
    name_hashes: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.email_hashes or self.name_hashes)

    def contains(self, email: str | None, name: str | None) -> bool:
        """True for an erased address, or an erased full name."""
        if email and hash_email(email) in self.email_hashes:
            return True
        return bool(name) and hash_name(name or "") in self.name_hashes


def load_erased(database: Database) -> ErasedPeople:
    """The ledger as it is now (one short read)."""
    with database.session() as session:
        rows = session.execute(select(ErasureRow.subject_hash, ErasureRow.name_hashes)).all()
    return ErasedPeople(
        email_hashes=frozenset(row.subject_hash for row in rows),
        name_hashes=frozenset(h for row in rows for h in row.name_hashes),
    )


def open_erasure(session: Session, person: Person, *, actor: str) -> ErasureRow:
    """The ledger row of ``person``, created on their first erasure; names learnt later are added."""
    row = session.get(ErasureRow, person.subject_hash)
    if row is None:
        row = ErasureRow(
            subject_hash=person.subject_hash,
            name_hashes=list(person.name_hashes),
            status="running",
            requested_by=actor,
            requested_at=utcnow(),
        )
        session.add(row)
        return row
    row.name_hashes = sorted({*row.name_hashes, *person.name_hashes})
    row.status = "running"
    row.requested_by = actor
    return row
