"""The local-folder source: a watched folder standing in for Teams.

Each recording is an audio file with an optional JSON sidecar ``<name>.meeting.json`` carrying what Graph would
tell us about the meeting (organizer, attendees, start time, join URL, ...), and optionally the Teams WebVTT
transcript as ``<name>.vtt``. Discovery turns them into ``RecordingDiscovered`` events; the fetcher copies the
bytes into the blob store.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from dealtalk.contracts.blobs import BlobStore
from dealtalk.contracts.config import TenantSettings
from dealtalk.contracts.documents import MeetingInfo
from dealtalk.contracts.errors import InvalidInput
from dealtalk.contracts.events import RecordingDiscovered, new_trace_id
from dealtalk.ingest.protocols import FetchedRecording
from dealtalk.ingest.sidecar import MeetingSidecar, meeting_from_sidecar

__all__ = ["LocalFolderFetcher", "SidecarProblem", "discover_folder", "read_meeting"]

logger = logging.getLogger(__name__)

SIDECAR_SUFFIX = ".meeting.json"


@dataclass(frozen=True, slots=True)
class SidecarProblem:
    """A recording whose sidecar could not be read: it goes to the dead-letter table, the file stays put."""

    audio_path: Path
    sidecar_path: Path
    reason: str
    sidecar_text: str


def discover_folder(
    folder: Path, *, extensions: tuple[str, ...], tenant: TenantSettings
) -> Iterator[RecordingDiscovered | SidecarProblem]:
    """Yield one event per audio file in ``folder`` (sorted by name), or the problem with its sidecar.

    Raises:
        InvalidInput: the folder does not exist.
    """
    if not folder.is_dir():
        raise InvalidInput(f"the ingest folder {folder} does not exist (set DEALTALK_INGEST__WATCH_DIR)")
    for audio in sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in extensions):
        sidecar_path = audio.with_name(audio.stem + SIDECAR_SUFFIX)
        try:
            meeting, recording_id = read_meeting(audio, tenant)
        except InvalidInput as exc:
            text = sidecar_path.read_text(encoding="utf-8", errors="replace") if sidecar_path.exists() else ""
            yield SidecarProblem(audio, sidecar_path, exc.message, text)
            continue
        yield RecordingDiscovered(
            recording_id=recording_id,
            trace_id=new_trace_id(),
            source="local",
            source_ref=str(audio.resolve()),
            meeting=meeting,
        )


def read_meeting(audio: Path, tenant: TenantSettings) -> tuple[MeetingInfo, str]:
    """The meeting and recording id of a local audio file, from its sidecar when there is one.

    Raises:
        InvalidInput: the sidecar exists but is not valid (the message lists the problems).
    """
    sidecar_path = audio.with_name(audio.stem + SIDECAR_SUFFIX)
    if not sidecar_path.exists():
        # No calendar data: the call is still processed, with unknown participants, and stays unlinked.
        return MeetingInfo(subject=audio.stem), f"local-{_content_id(audio)}"
    try:
        sidecar = MeetingSidecar.model_validate_json(sidecar_path.read_bytes())
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors()[:6]
        )
        raise InvalidInput(f"sidecar {sidecar_path.name} is invalid: {problems}") from exc
    recording_id = sidecar.recording_id or f"local-{_content_id(audio)}"
    return meeting_from_sidecar(sidecar, tenant), recording_id


def _content_id(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()[:20]


class LocalFolderFetcher:
    """Copies a local recording (and its ``.vtt`` transcript, if any) into the blob store."""

    def fetch(self, event: RecordingDiscovered, blobs: BlobStore) -> FetchedRecording:
        path = Path(event.source_ref)
        if not path.is_file():
            raise InvalidInput(f"the recording file {path} is gone (moved or deleted after discovery)")
        size = path.stat().st_size
        if size == 0:
            raise InvalidInput(f"the recording file {path.name} is empty (0 bytes)")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        audio = blobs.put_file(path, content_type=content_type)
        vtt = path.with_suffix(".vtt")
        transcript = blobs.put_file(vtt, content_type="text/vtt") if vtt.is_file() else None
        logger.info(
            "fetched recording=%s bytes=%s teams_transcript=%s", event.recording_id, size, bool(transcript)
        )
        return FetchedRecording(audio=audio, teams_transcript=transcript)
