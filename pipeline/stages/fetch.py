"""Stage 1, fetch: a discovered recording's bytes into the blob store (RecordingDiscovered -> AudioStored)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sqlalchemy.orm import Session

from dealtalk.ingest.protocols import RecordingFetcher
from dealtalk.pipeline.blobs import BlobStore
from dealtalk.pipeline.errors import ConfigurationError, InvalidInput
from dealtalk.pipeline.events import AudioStored, RecordingDiscovered
from dealtalk.pipeline.runtime.stage import Stage
from dealtalk.pipeline.store.projections import save_audio

__all__ = ["build_fetch_stage", "fetch_recording"]

# Given an audio sha256, the recording that already holds that audio (None when it is new).
RecordingWithAudio = Callable[[str], str | None]

VERSION = "fetch-1"


def fetch_recording(
    event: RecordingDiscovered,
    *,
    fetchers: Mapping[str, RecordingFetcher],
    blobs: BlobStore,
    recording_with_audio: RecordingWithAudio,
) -> AudioStored:
    """Copy or download the recording, refusing audio that is already stored under another recording.

    Raises:
        InvalidInput: the source has no fetcher, the file is gone or empty, or the audio duplicates another
            recording (named in the message).
    """
    fetcher = fetchers.get(event.source)
    if fetcher is None:
        raise ConfigurationError(f"no fetcher for source {event.source!r}; configured: {sorted(fetchers)}")
    fetched = fetcher.fetch(event, blobs)
    owner = recording_with_audio(fetched.audio.sha256)
    if owner is not None and owner != event.recording_id:
        raise InvalidInput(
            f"duplicate recording: the same audio (sha256 {fetched.audio.sha256[:12]}) was already ingested as "
            f"recording {owner}; nothing was changed"
        )
    return AudioStored(
        **event.follow(),
        audio=fetched.audio,
        meeting=event.meeting,
        teams_transcript=fetched.teams_transcript,
    )


def build_fetch_stage(
    *,
    fetchers: Mapping[str, RecordingFetcher],
    blobs: BlobStore,
    recording_with_audio: RecordingWithAudio,
) -> Stage[RecordingDiscovered, AudioStored]:
    def run(event: RecordingDiscovered) -> AudioStored:
        return fetch_recording(
            event, fetchers=fetchers, blobs=blobs, recording_with_audio=recording_with_audio
        )

    def persist(session: Session, event: RecordingDiscovered, output: AudioStored) -> None:
        save_audio(session, event, output)

    return Stage(name="fetch", consumes=RecordingDiscovered, run=run, version=VERSION, persist=persist)
