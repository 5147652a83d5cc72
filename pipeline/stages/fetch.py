"""Stage 1, fetch: a discovered recording's bytes into the blob store (RecordingDiscovered -> AudioStored)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sqlalchemy.orm import Session

from dealtalk.contracts.blobs import BlobStore
from dealtalk.contracts.errors import ConfigurationError, InvalidInput
from dealtalk.contracts.events import AudioStored, RecordingDiscovered
from dealtalk.contracts.stage import Stage
from dealtalk.ingest.protocols import RecordingFetcher
from dealtalk.pipeline.store.projections import save_audio

__all__ = ["build_fetch_stage", "fetch_recording"]

# Given an audio sha256, the recording that already holds that audio (None when it is new).
RecordingWithAudio = Callable[[str], str | None]
# Consent at the stage's entry (``gdpr.consent.ConsentScreen``): returns, or raises when the call may not be
# fetched at all (after recording why).
ConsentScreen = Callable[[RecordingDiscovered], None]

VERSION = "fetch-1"


def fetch_recording(
    event: RecordingDiscovered,
    *,
    fetchers: Mapping[str, RecordingFetcher],
    blobs: BlobStore,
    recording_with_audio: RecordingWithAudio,
    screen: ConsentScreen | None = None,
) -> AudioStored:
    """Copy or download the recording, refusing audio that is already stored under another recording.

    Raises:
        ConsentWithheld: ``screen`` found a participant who did not consent (nothing is fetched).
        InvalidInput: the source has no fetcher, the file is gone or empty, or the audio duplicates another
            recording (named in the message).
    """
    if screen is not None:
        screen(event)
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
    screen: ConsentScreen | None = None,
) -> Stage[RecordingDiscovered, AudioStored]:
    def run(event: RecordingDiscovered) -> AudioStored:
        return fetch_recording(
            event,
            fetchers=fetchers,
            blobs=blobs,
            recording_with_audio=recording_with_audio,
            screen=screen,
        )

    def persist(session: Session, event: RecordingDiscovered, output: AudioStored) -> None:
        save_audio(session, event, output)

    return Stage(name="fetch", consumes=RecordingDiscovered, run=run, version=VERSION, persist=persist)
