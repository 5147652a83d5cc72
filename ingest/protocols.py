"""Contracts of the ingest side: discover recordings, then fetch their bytes into the blob store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from dealtalk.contracts.blobs import BlobStore
from dealtalk.contracts.documents import BlobRef
from dealtalk.contracts.events import RecordingDiscovered

__all__ = ["FetchedRecording", "RecordingFetcher"]


@dataclass(frozen=True, slots=True)
class FetchedRecording:
    audio: BlobRef
    # The Teams WebVTT transcript with speaker names, when the source has one.
    teams_transcript: BlobRef | None = None


class RecordingFetcher(Protocol):
    def fetch(self, event: RecordingDiscovered, blobs: BlobStore) -> FetchedRecording:
        """Copy or download the recording's bytes into the blob store (resuming a broken download).

        Raises:
            InvalidInput: the recording is gone (404), empty, or not audio/video.
            TransientError / RetryLater: the source is throttled or unreachable for now.
        """
