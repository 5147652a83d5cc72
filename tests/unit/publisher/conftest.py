"""Publish-stage fixtures: sample meetings (from the sidecars), a hand-built call result, the fixture CRM."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dealtalk.contracts.documents import CallResult, MeetingInfo
from dealtalk.publisher.fixture import FixtureCrmReader

from .builders import build_result
from .builders import sample_meetings as _sample_meetings

INTERNAL = ("schoonenberg.nl",)


@pytest.fixture(scope="session")
def sample_meetings() -> dict[str, MeetingInfo]:
    return _sample_meetings()


@pytest.fixture(scope="session")
def fixture_reader() -> FixtureCrmReader:
    return FixtureCrmReader.from_path()


@pytest.fixture
def make_result() -> Callable[..., CallResult]:
    """A factory for a small, fully filled call result (two speakers, two risks, one action item)."""
    return build_result
