"""The Graph ``RecordingFetcher``: stream a recording into the blob store, resuming a broken download.

Bytes go to ``{partial_dir}/<digest of the recording id>.part`` as they arrive (memory stays bounded); the
response's ETag is kept beside it. After a broken connection the next attempt (in this call, or a later
redelivery) asks for ``Range: bytes=<have>-`` with ``If-Range: <etag>``: a 206 continues the file, a 200
means the content changed or ranges are not served, so the file starts over. The finished file goes into
the blob store, which hashes it (sha256) on the way in. Graph does not document range support for
recording content; the fallback to a full download keeps this correct either way.

The Teams transcript (WebVTT) of the same recording, when there is one, is fetched too.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import urllib.parse
from pathlib import Path
from typing import Any

import httpx

from dealtalk.contracts.blobs import BlobStore
from dealtalk.contracts.documents import BlobRef
from dealtalk.contracts.errors import DealtalkError, InvalidInput, TransientError
from dealtalk.contracts.events import RecordingDiscovered
from dealtalk.ingest.graph.errors import GraphFailure, graph_error
from dealtalk.ingest.graph.session import GraphSession
from dealtalk.ingest.protocols import FetchedRecording

__all__ = ["GraphRecordingFetcher"]

logger = logging.getLogger(__name__)

_REQUIRED_IDS = ("organizer_id", "meeting_id", "recording_id")


class GraphRecordingFetcher:
    """Fetches Teams recordings (and their transcripts) named by ``RecordingDiscovered`` events from Graph.

    Args:
        session: the Graph session.
        partial_dir: where partial downloads wait for a resume.
        attempts: download attempts within one ``fetch`` call (each resumes the previous one).
    """

    def __init__(self, session: GraphSession, partial_dir: Path, *, attempts: int = 4) -> None:
        self._session = session
        self._partial_dir = partial_dir
        self._attempts = attempts

    def close(self) -> None:
        """Close the Graph session (at shutdown)."""
        self._session.close()

    def fetch(self, event: RecordingDiscovered, blobs: BlobStore) -> FetchedRecording:
        """Download the recording (resuming), store it, and fetch the transcript when Teams made one.

        Raises:
            InvalidInput: the event lacks Graph ids, or the recording is gone (404) or empty.
            ConfigurationError: permissions, access policy or metering are not set up (message says how).
            TransientError / RetryLater: Graph throttles, fails, or the connection keeps breaking.
        """
        missing = [k for k in _REQUIRED_IDS if not event.source_ids.get(k)]
        if missing:
            raise InvalidInput(
                f"a Graph recording event needs source_ids {', '.join(_REQUIRED_IDS)}; missing {', '.join(missing)}",
                recording_id=event.recording_id,
            )
        ids = event.source_ids
        organizer, meeting = _segment(ids["organizer_id"]), _segment(ids["meeting_id"])
        base = f"{self._session.base_url}/users/{organizer}/onlineMeetings/{meeting}"
        audio = self._download_recording(
            event, f"{base}/recordings/{_segment(ids['recording_id'])}/content", blobs
        )
        transcript = self._transcript(event, base, blobs)
        return FetchedRecording(audio=audio, teams_transcript=transcript)

    # --- recording ---------------------------------------------------------------------------------------
    def _paths(self, recording_id: str) -> tuple[Path, Path]:
        digest = hashlib.sha256(recording_id.encode()).hexdigest()[:32]
        return self._partial_dir / f"{digest}.part", self._partial_dir / f"{digest}.part.json"

    def _download_recording(self, event: RecordingDiscovered, url: str, blobs: BlobStore) -> BlobRef:
        part, meta = self._paths(event.recording_id)
        self._partial_dir.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, self._attempts + 1):
            try:
                self._download_once(url, part, meta)
                break
            except httpx.TransportError as exc:
                have = part.stat().st_size if part.exists() else 0
                logger.warning(
                    "recording %s: download broke at %d bytes (%s), attempt %d/%d",
                    event.recording_id,
                    have,
                    exc.__class__.__name__,
                    attempt,
                    self._attempts,
                )
            except GraphFailure as failure:
                raise self._error(failure, event) from None
        else:
            raise TransientError(
                f"the recording download broke {self._attempts} times; it resumes on the next attempt",
                recording_id=event.recording_id,
            )
        if part.stat().st_size == 0:
            raise InvalidInput("Graph served an empty recording", recording_id=event.recording_id)
        content_type = (
            json.loads(meta.read_text()).get("content_type", "video/mp4") if meta.exists() else "video/mp4"
        )
        ref = blobs.put_file(part, content_type=content_type)
        part.unlink(missing_ok=True)
        meta.unlink(missing_ok=True)
        logger.info(
            "recording %s stored: %d bytes, sha256 %s", event.recording_id, ref.size_bytes, ref.sha256[:12]
        )
        return ref

    def _download_once(self, url: str, part: Path, meta: Path) -> None:
        have = part.stat().st_size if part.exists() else 0
        saved: dict[str, Any] = json.loads(meta.read_text()) if meta.exists() and have else {}
        # identity: byte ranges must count the bytes we store, not a compressed stream's.
        headers = {"Accept": "application/octet-stream", "Accept-Encoding": "identity"}
        if have and saved.get("etag"):
            headers |= {"Range": f"bytes={have}-", "If-Range": str(saved["etag"])}

        async def sink(response: httpx.Response) -> None:
            # Disk work goes to a thread: the session loop serves other Graph calls meanwhile.
            record = {
                "etag": response.headers.get("etag"),
                "content_type": response.headers.get("content-type", "video/mp4").split(";")[0],
            }
            # A full body (200) means what we had is stale or ranges are not served: start the file over.
            mode = "ab" if response.status_code == 206 else "wb"
            await asyncio.to_thread(meta.write_text, json.dumps(record))
            expected = _expected_total(response)
            handle = await asyncio.to_thread(part.open, mode)
            try:
                async for chunk in response.aiter_bytes():
                    await asyncio.to_thread(handle.write, chunk)
            finally:
                await asyncio.to_thread(handle.close)
            size = (await asyncio.to_thread(part.stat)).st_size
            if expected is not None and size != expected:
                raise httpx.RemoteProtocolError(f"got {size} of {expected} bytes")

        self._session.download(url, headers=headers, sink=sink)

    # --- transcript -------------------------------------------------------------------------------------
    def _transcript(self, event: RecordingDiscovered, base: str, blobs: BlobStore) -> BlobRef | None:
        ids = event.source_ids
        organizer_id, meeting_id = ids["organizer_id"], ids["meeting_id"]
        try:
            listing = self._session.call(
                lambda c: (
                    c.users.by_user_id(organizer_id)
                    .online_meetings.by_online_meeting_id(meeting_id)
                    .transcripts.get()
                )
            )
        except GraphFailure as failure:
            if failure.status in (403, 404):
                # No transcript permission or none made: the call is still transcribed from audio.
                logger.info("recording %s: no Teams transcript (HTTP %d)", event.recording_id, failure.status)
                return None
            raise self._error(failure, event) from None
        correlation = ids.get("content_correlation_id")
        transcripts = [
            t
            for t in (listing.value if listing is not None else None) or []
            if not correlation or t.content_correlation_id == correlation
        ]
        if not transcripts:
            return None
        url = f"{base}/transcripts/{_segment(str(transcripts[0].id))}/content?$format=text/vtt"
        chunks: list[bytes] = []

        async def collect(response: httpx.Response) -> None:
            chunks.extend([chunk async for chunk in response.aiter_bytes()])

        try:
            self._session.download(url, headers={"Accept": "text/vtt"}, sink=collect)
        except GraphFailure as failure:
            raise self._error(failure, event) from None
        except httpx.TransportError as exc:
            raise TransientError(
                f"the transcript download broke ({exc.__class__.__name__})", recording_id=event.recording_id
            ) from exc
        return blobs.put_bytes(b"".join(chunks), content_type="text/vtt")

    def _error(self, failure: GraphFailure, event: RecordingDiscovered) -> DealtalkError:
        error = graph_error(failure, "the recording or its transcript", client_id=self._session.client_id)
        error.recording_id = event.recording_id
        return error


def _segment(value: str) -> str:
    """A Graph id as one URL path segment: base64 ids carry ``/``, ``+`` and ``=``."""
    return urllib.parse.quote(value, safe="")


def _expected_total(response: httpx.Response) -> int | None:
    content_range = response.headers.get("content-range", "")
    if "/" in content_range and not content_range.endswith("/*"):
        return int(content_range.rsplit("/", 1)[1])
    length = response.headers.get("content-length")
    return int(length) if length and response.status_code == 200 else None
