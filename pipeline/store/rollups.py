"""Pre-aggregated risk-signal counts per UTC day, for the API's aggregate routes.

A row holds, for one day and one *level* of detail, the number of signals, of high-severity signals, the sum of
their confidences (in millionths, so that sums are exact integers whichever order they are added in) and the
number of distinct calls among them. Levels keep the counts of distinct calls exact
when the aggregates collapse a dimension (a call with a high and a low price objection is one call per type):

* ``ts``: per type and severity; ``t``: per type; ``s``: per severity; ``a``: all signals of the day;
* ``o``: per opportunity and account name of the call's link (every type and severity), which serves the
  groupings by account and owner and a manager's team scope.

A call lies in exactly one day and one opportunity, so counts add up over days and opportunities. Rows are
additive: concurrent writers may leave two rows for one key, and every reader sums. ``refresh_call`` keeps them
current inside the transaction that changes a call's risks or link (a day's rows are shared by that day's
calls, so concurrent writers wait for each other's commit on them, briefly); ``rebuild_rollups`` recomputes them
all from the raw tables (after bulk loads, and in migration 0007).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Date,
    Index,
    Integer,
    String,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from dealtalk.pipeline.store.schema import Base, LinkRow, RecordingRow, RiskRow

__all__ = ["LEVELS", "RiskRollupRow", "confidence_micros", "day_of", "rebuild_rollups", "refresh_call"]

# level -> (per type, per severity, per opportunity)
LEVELS: dict[str, tuple[bool, bool, bool]] = {
    "ts": (True, True, False),
    "t": (True, False, False),
    "s": (False, True, False),
    "a": (False, False, False),
    "o": (False, False, True),
}


class RiskRollupRow(Base):
    """Counts of the risk signals of one UTC day at one level (see the module docstring)."""

    __tablename__ = "risk_rollups"
    __table_args__ = (Index("ix_risk_rollups_level_day", "level", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    level: Mapped[str] = mapped_column(String(2))
    day: Mapped[date] = mapped_column(Date)
    type: Mapped[str | None] = mapped_column(String(40))
    severity: Mapped[str | None] = mapped_column(String(8))
    opportunity_id: Mapped[str | None] = mapped_column(String(64))
    account_name: Mapped[str | None] = mapped_column(String(400))
    signals: Mapped[int] = mapped_column(Integer)
    high: Mapped[int] = mapped_column(Integer)
    confidence_micros: Mapped[int] = mapped_column(BigInteger)
    calls: Mapped[int] = mapped_column(Integer)


Key = tuple[str, date, str | None, str | None, str | None, str | None]
_KEY_COLUMNS = ("level", "day", "type", "severity", "opportunity_id", "account_name")


def day_of(dialect: str, column: Any) -> ColumnElement[Any]:
    """The UTC calendar day of a timestamp column, as SQL."""
    if dialect == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)  # SQLite keeps naive UTC text


def confidence_micros(column: Any) -> ColumnElement[int]:
    """A confidence in millionths, rounded by the database (the rollups and the raw query use the same SQL)."""
    return cast(func.round(column * 1_000_000), BigInteger)


def _contribution(session: Session, recording_id: str) -> dict[Key, list[int]]:
    """What one call adds to the rollups now: key -> [signals, high, confidence sum, calls]."""
    session.flush()
    head = session.execute(
        select(RecordingRow.discovered_at, LinkRow.opportunity_id, LinkRow.account_name)
        .outerjoin(LinkRow, LinkRow.recording_id == RecordingRow.recording_id)
        .where(RecordingRow.recording_id == recording_id)
    ).first()
    if head is None:
        return {}
    day = head.discovered_at.date()
    totals: dict[Key, list[int]] = {}
    for risk_type, severity, signals, micros in session.execute(
        select(RiskRow.type, RiskRow.severity, func.count(), func.sum(confidence_micros(RiskRow.confidence)))
        .where(RiskRow.recording_id == recording_id)
        .group_by(RiskRow.type, RiskRow.severity)
    ):
        for level, (by_type, by_severity, by_opportunity) in LEVELS.items():
            key: Key = (
                level,
                day,
                risk_type if by_type else None,
                severity if by_severity else None,
                head.opportunity_id if by_opportunity else None,
                head.account_name if by_opportunity else None,
            )
            row = totals.setdefault(key, [0, 0, 0, 1])
            row[0] += int(signals)
            row[1] += int(signals) if severity == "high" else 0
            row[2] += int(micros)
    return totals


def _apply(session: Session, key: Key, delta: list[int]) -> None:
    where = [
        getattr(RiskRollupRow, name).is_not_distinct_from(value)
        for name, value in zip(_KEY_COLUMNS, key, strict=True)
    ]
    first = session.scalars(select(RiskRollupRow.id).where(*where).limit(1)).first()
    values = dict(zip(("signals", "high", "confidence_micros", "calls"), delta, strict=True))
    if first is None:
        session.execute(insert(RiskRollupRow).values(**dict(zip(_KEY_COLUMNS, key, strict=True)), **values))
        return
    row = RiskRollupRow
    session.execute(
        update(row)
        .where(row.id == first)
        .values(
            signals=row.signals + values["signals"],
            high=row.high + values["high"],
            confidence_micros=row.confidence_micros + values["confidence_micros"],
            calls=row.calls + values["calls"],
        )
    )
    session.execute(delete(row).where(row.id == first, row.signals == 0, row.calls == 0))


@contextmanager
def refresh_call(session: Session, recording_id: str) -> Iterator[None]:
    """Wrap every change of a call's risk signals or link: what the call added before is taken off the rollups
    and what it adds afterwards is put on, in the same transaction."""
    before = _contribution(session, recording_id)
    yield
    after = _contribution(session, recording_id)
    # One order for every writer, so that two transactions touching the same rows cannot deadlock.
    for key in sorted(
        before.keys() | after.keys(), key=lambda k: tuple("" if v is None else str(v) for v in k)
    ):
        old, new = before.get(key, [0, 0, 0, 0]), after.get(key, [0, 0, 0, 0])
        delta = [n - o for n, o in zip(new, old, strict=True)]
        if any(delta):
            _apply(session, key, delta)


def rebuild_rollups(connection: Connection) -> None:
    """Recompute every rollup row from the risks, recordings and links (one ``INSERT … SELECT`` per level)."""
    connection.execute(delete(RiskRollupRow))
    day = day_of(connection.dialect.name, RecordingRow.discovered_at).label("day")
    for level, (by_type, by_severity, by_opportunity) in LEVELS.items():
        keys: list[Any] = [day]
        keys += [RiskRow.type] if by_type else []
        keys += [RiskRow.severity] if by_severity else []
        keys += [LinkRow.opportunity_id, LinkRow.account_name] if by_opportunity else []
        query = select(
            literal(level).label("level"),
            *keys,
            func.count().label("signals"),
            func.coalesce(func.sum(case((RiskRow.severity == "high", 1), else_=0)), 0).label("high"),
            func.coalesce(func.sum(confidence_micros(RiskRow.confidence)), 0).label("confidence_micros"),
            func.count(RiskRow.recording_id.distinct()).label("calls"),
        ).join(RecordingRow, RecordingRow.recording_id == RiskRow.recording_id)
        if by_opportunity:
            query = query.outerjoin(LinkRow, LinkRow.recording_id == RiskRow.recording_id)
        query = query.group_by(*keys)
        names = (
            ["level", "day"] + [c.key for c in keys[1:]] + ["signals", "high", "confidence_micros", "calls"]
        )
        connection.execute(insert(RiskRollupRow).from_select(names, query))
