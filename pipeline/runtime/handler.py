"""What happens to one delivered message, on any bus: parse, reuse or run the stage, classify the outcome.

The bus drivers (embedded, Kafka) call ``handle_delivery`` and then make the outcome durable their own way:
``record_success`` stores the result and its projection in the database, after which the driver hands the
next event on and acknowledges the input.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dealtalk.contracts.config import BusSettings
from dealtalk.contracts.errors import DealtalkError, InvalidInput, RetryLater
from dealtalk.contracts.events import StageFailed, dump_event, parse_event
from dealtalk.contracts.stage import Stage
from dealtalk.pipeline.store import Database
from dealtalk.pipeline.store.schema import AuditRow, StageResultRow

__all__ = ["Dead", "Done", "Outcome", "Retry", "backoff_s", "handle_delivery", "record_success"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Done:
    event: BaseModel
    output: BaseModel
    reused: bool


@dataclass(frozen=True, slots=True)
class Retry:
    error: str
    delay_s: float


@dataclass(frozen=True, slots=True)
class Dead:
    failed: StageFailed


Outcome = Done | Retry | Dead


def backoff_s(attempt: int, settings: BusSettings) -> float:
    """Exponential backoff: base * 2^(attempt-1), capped."""
    return float(min(settings.backoff_max_s, settings.backoff_base_s * 2 ** max(0, attempt - 1)))


def handle_delivery(
    stage: Stage[Any, Any],
    payload: str | bytes,
    *,
    topic: str,
    attempt: int,
    database: Database,
    settings: BusSettings,
    headers: dict[str, str] | None = None,
) -> Outcome:
    """Run ``stage`` on one delivered message and classify what happened.

    Never raises for a bad message or a failing stage: a poison message becomes ``Dead`` with the reason, a
    retriable failure ``Retry`` (until ``max_attempts``, then ``Dead``).
    """
    headers = headers or {}
    try:
        event = parse_event(payload)
    except InvalidInput as exc:
        return _dead(stage.name, topic, payload, headers, exc, attempt, recording_id=headers.get("key"))
    if not isinstance(event, stage.consumes):
        problem = InvalidInput(
            f"event type {event.type!r} arrived on topic {topic!r}; stage {stage.name} takes "
            f"{stage.consumes.__name__}"
        )
        return _dead(stage.name, topic, payload, headers, problem, attempt, recording_id=event.recording_id)

    stored = _stored_output(database, event.recording_id, stage)
    if stored is not None:
        logger.info(
            "job reused stage=%s recording=%s version=%s", stage.name, event.recording_id, stage.version
        )
        return Done(event=event, output=stored, reused=True)

    started = time.monotonic()
    logger.info(
        "job started stage=%s recording=%s attempt=%s trace=%s",
        stage.name,
        event.recording_id,
        attempt,
        event.trace_id,
    )
    try:
        output = stage.run(event)
    except DealtalkError as exc:
        exc.recording_id = exc.recording_id or event.recording_id
        return _failure(stage, topic, payload, headers, exc, attempt, event.recording_id, settings, started)
    except Exception as exc:  # an unexpected bug or library error: retry, then dead-letter with the reason
        logger.exception(
            "job crashed stage=%s recording=%s attempt=%s", stage.name, event.recording_id, attempt
        )
        return _failure(stage, topic, payload, headers, exc, attempt, event.recording_id, settings, started)
    logger.info(
        "job done stage=%s recording=%s attempt=%s elapsed_s=%.2f",
        stage.name,
        event.recording_id,
        attempt,
        time.monotonic() - started,
    )
    return Done(event=event, output=output, reused=False)


def record_success(session: Session, stage: Stage[Any, Any], done: Done, *, actor: str) -> None:
    """Store the stage's result and its projection in the caller's transaction (skipped when reused)."""
    if done.reused:
        return
    recording_id = done.event.recording_id  # type: ignore[attr-defined]
    try:
        with session.begin_nested():
            session.add(
                StageResultRow(
                    recording_id=recording_id,
                    stage=stage.name,
                    version=stage.version,
                    output_event=dump_event(done.output),
                )
            )
    except IntegrityError:
        # Another delivery of the same message finished first; its projection is already stored.
        logger.info("result already stored stage=%s recording=%s", stage.name, recording_id)
        return
    stage.persist(session, done.event, done.output)
    session.add(
        AuditRow(
            recording_id=recording_id,
            actor=actor,
            action=f"stage.{stage.name}",
            detail={"version": stage.version, "output": done.output.type},  # type: ignore[attr-defined]
        )
    )


def _stored_output(database: Database, recording_id: str, stage: Stage[Any, Any]) -> BaseModel | None:
    with database.session() as session:
        row = session.get(StageResultRow, (recording_id, stage.name, stage.version))
        return parse_event(row.output_event) if row is not None else None


def _failure(
    stage: Stage[Any, Any],
    topic: str,
    payload: str | bytes,
    headers: dict[str, str],
    exc: Exception,
    attempt: int,
    recording_id: str,
    settings: BusSettings,
    started: float,
) -> Outcome:
    retriable = exc.retriable if isinstance(exc, DealtalkError) else True
    elapsed = time.monotonic() - started
    if retriable and attempt < settings.max_attempts:
        delay = exc.defer_s if isinstance(exc, RetryLater) else backoff_s(attempt, settings)
        logger.warning(
            "job failed, will retry stage=%s recording=%s attempt=%s delay_s=%.1f elapsed_s=%.2f error=%s",
            stage.name,
            recording_id,
            attempt,
            delay,
            elapsed,
            type(exc).__name__,
        )
        return Retry(error=_describe(exc), delay_s=delay)
    return _dead(stage.name, topic, payload, headers, exc, attempt, recording_id=recording_id)


def _dead(
    stage_name: str,
    topic: str,
    payload: str | bytes,
    headers: dict[str, str],
    exc: Exception,
    attempt: int,
    *,
    recording_id: str | None,
) -> Dead:
    original = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else payload
    retriable = exc.retriable if isinstance(exc, DealtalkError) else True
    reason = _describe(exc)
    if retriable:
        reason = f"gave up after {attempt} attempts: {reason}"
    failed = StageFailed(
        recording_id=recording_id or "unknown",
        trace_id=headers.get("trace_id", "unknown"),
        stage=stage_name,
        reason=reason,
        error_type=type(exc).__name__,
        attempt=max(1, attempt),
        retriable=retriable,
        original=original,
        original_topic=topic,
    )
    return Dead(failed=failed)


def _describe(exc: Exception) -> str:
    if isinstance(exc, DealtalkError):
        return str(exc)
    return f"unexpected {type(exc).__name__}: {exc}"
