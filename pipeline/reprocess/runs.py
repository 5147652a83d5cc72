"""Run bookkeeping in the store: create a run, its checkpoint (one committed row per finished call), results."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from dealtalk.contracts.errors import InvalidInput
from dealtalk.contracts.events import AudioStored, InsightsReady, parse_event
from dealtalk.pipeline.reprocess.models import ModelSet
from dealtalk.pipeline.reprocess.selection import CallSelection
from dealtalk.pipeline.store import Database
from dealtalk.pipeline.store.reprocess_schema import ReprocessResultRow, ReprocessRunRow
from dealtalk.pipeline.store.schema import StageResultRow, utcnow

__all__ = [
    "RunInfo",
    "StoredInputs",
    "create_run",
    "finish_run",
    "list_runs",
    "load_run",
    "record_result",
    "results_of",
    "stored_inputs",
]


@dataclass(frozen=True, slots=True)
class RunInfo:
    run_id: str
    status: str
    mode: str
    created_at: datetime
    model_set: ModelSet
    selection: dict[str, Any]
    recording_ids: tuple[str, ...]
    done: frozenset[str]


@dataclass(frozen=True, slots=True)
class StoredInputs:
    """What a recording's earlier run left: its stored audio event and its newest insights (the baseline)."""

    audio: AudioStored | None
    baseline: InsightsReady | None


def new_run_id() -> str:
    return f"rp-{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


def create_run(
    database: Database, recording_ids: list[str], *, selection: CallSelection, model_set: ModelSet, mode: str
) -> str:
    """Register a run with its fixed list of recordings; returns the run id."""
    run_id = new_run_id()
    with database.session() as session:
        session.add(
            ReprocessRunRow(
                run_id=run_id,
                status="running",
                mode=mode,
                selection=selection.as_dict(),
                model_set=model_set.as_dict(),
                recording_ids=list(recording_ids),
            )
        )
    return run_id


def load_run(database: Database, run_id: str) -> RunInfo:
    """The run and which of its recordings are done (the checkpoint).

    Raises:
        InvalidInput: no run with this id (``dealtalk reprocess runs`` lists them).
    """
    with database.session() as session:
        row = session.get(ReprocessRunRow, run_id)
        if row is None:
            raise InvalidInput(f"no reprocessing run {run_id!r}; `dealtalk reprocess runs` lists the runs")
        done = session.scalars(
            select(ReprocessResultRow.recording_id).where(
                ReprocessResultRow.run_id == run_id, ReprocessResultRow.status == "done"
            )
        ).all()
        return RunInfo(
            run_id=row.run_id,
            status=row.status,
            mode=row.mode,
            created_at=row.created_at,
            model_set=ModelSet.from_dict(row.model_set),
            selection=dict(row.selection),
            recording_ids=tuple(row.recording_ids),
            done=frozenset(done),
        )


def list_runs(database: Database) -> list[RunInfo]:
    with database.session() as session:
        ids = session.scalars(select(ReprocessRunRow.run_id).order_by(ReprocessRunRow.created_at)).all()
    return [load_run(database, run_id) for run_id in ids]


def finish_run(database: Database, run_id: str, status: str = "finished") -> None:
    with database.session() as session:
        row = session.get(ReprocessRunRow, run_id)
        if row is not None:
            row.status = status
            row.finished_at = utcnow()


def record_result(database: Database, run_id: str, recording_id: str, **values: Any) -> None:
    """Upsert one recording's result in its own transaction: the checkpoint a resumed run starts from."""
    with database.session() as session:
        row = session.get(ReprocessResultRow, (run_id, recording_id))
        if row is None:
            values.setdefault("models", {})
            values.setdefault("blobs", {})
            values.setdefault("version", "")
            session.add(ReprocessResultRow(run_id=run_id, recording_id=recording_id, **values))
            return
        row.attempts = (row.attempts or 1) + 1
        for key, value in values.items():
            setattr(row, key, value)


def results_of(database: Database, run_id: str) -> list[ReprocessResultRow]:
    with database.session() as session:
        return list(
            session.scalars(
                select(ReprocessResultRow)
                .where(ReprocessResultRow.run_id == run_id)
                .order_by(ReprocessResultRow.recording_id)
            ).all()
        )


def stored_inputs(database: Database, recording_id: str) -> StoredInputs:
    """The newest stored ``audio.stored`` event (fetch) and ``insights.ready`` event (analyze) of a recording."""
    with database.session() as session:
        rows = session.scalars(
            select(StageResultRow)
            .where(
                StageResultRow.recording_id == recording_id, StageResultRow.stage.in_(("fetch", "analyze"))
            )
            .order_by(StageResultRow.created_at)
        ).all()
    newest = {row.stage: parse_event(row.output_event) for row in rows}
    audio, baseline = newest.get("fetch"), newest.get("analyze")
    return StoredInputs(
        audio=audio if isinstance(audio, AudioStored) else None,
        baseline=baseline if isinstance(baseline, InsightsReady) else None,
    )
