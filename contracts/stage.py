"""A stage: one function from event to event, its idempotency version, and its projection into the store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy.orm import Session

__all__ = ["Stage"]

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Stage(Generic[In, Out]):
    """Everything the runtime needs to run a stage on any bus.

    Attributes:
        name: "fetch", "transcribe", "analyze" or "publish".
        consumes: the event type the stage takes (its topic follows from it).
        run: the stage function with its models and clients bound in (heavy work; called off the event loop).
        version: identifies the models and options that shape the output; results are keyed by recording id +
            stage name + version, so a redelivered message reuses the stored output instead of redoing the work.
        persist: writes the output's durable projection into the store (rows for the API and reports), inside
            the same transaction that records the result and hands the next event to the bus. Idempotent.
    """

    name: str
    consumes: type[In]
    run: Callable[[In], Out]
    version: str
    persist: Callable[[Session, In, Out], None]
