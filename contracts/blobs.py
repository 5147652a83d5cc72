"""The blob-store protocol: content-addressed storage that events point into with a ``BlobRef`` claim check.

``pipeline/blobs.py`` has the local-disk store; S3 or Azure Blob slot in behind the same protocol.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from dealtalk.contracts.documents import BlobRef

__all__ = ["BlobStore"]


class BlobStore(Protocol):
    def put_file(self, path: Path, *, content_type: str = "application/octet-stream") -> BlobRef:
        """Store a file's content; return its claim check."""

    def put_bytes(self, data: bytes, *, content_type: str = "application/octet-stream") -> BlobRef:
        """Store bytes; return their claim check."""

    def put_stream(
        self, chunks: Iterable[bytes], *, content_type: str = "application/octet-stream"
    ) -> BlobRef:
        """Store a stream of chunks without holding it in memory; return its claim check."""

    def read_bytes(self, ref: BlobRef) -> bytes:
        """The content behind a claim check (verified against its size)."""

    def local_path(self, ref: BlobRef) -> Path:
        """A local file with the content (for decoders that want a path)."""

    def exists(self, ref: BlobRef) -> bool: ...

    def delete(self, sha256: str) -> bool:
        """Remove a blob for good (GDPR erasure, retention); True when it existed."""
