"""Content-addressed blob store: audio, transcripts and insights are stored under their sha256.

The key is the content's own hash, so writing the same bytes twice is a no-op (idempotent on redelivery) and
an event can carry a small claim check (``BlobRef``) instead of the bytes. ``LocalBlobStore`` keeps files under
``root/ab/abcdef...``; S3 or Azure Blob slot in behind the same ``BlobStore`` protocol.

A write lands in a temporary file in the same folder, is fsynced, checked against its hash and renamed into
place: a crash or a full disk never leaves a half-written blob under a valid key.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from dealtalk.contracts.documents import BlobRef
from dealtalk.contracts.errors import InvalidInput, TransientError

__all__ = ["LocalBlobStore", "sha256_of_file"]

_CHUNK = 1 << 20


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class LocalBlobStore:
    """Blobs as files under ``root``, two-level fan-out by hash prefix."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put_file(self, path: Path, *, content_type: str = "application/octet-stream") -> BlobRef:
        try:
            handle = path.open("rb")
        except OSError as exc:
            raise InvalidInput(f"cannot read {path.name}: {exc.strerror or exc}") from exc
        with handle:
            return self.put_stream(iter(lambda: handle.read(_CHUNK), b""), content_type=content_type)

    def put_bytes(self, data: bytes, *, content_type: str = "application/octet-stream") -> BlobRef:
        return self.put_stream([data], content_type=content_type)

    def put_stream(
        self, chunks: Iterable[bytes], *, content_type: str = "application/octet-stream"
    ) -> BlobRef:
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        with self._temporary() as (tmp_path, handle):
            try:
                for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            except OSError as exc:
                raise _storage_error(exc) from exc
            sha = digest.hexdigest()
            final = self._path(sha)
            if not final.exists():
                try:
                    final.parent.mkdir(parents=True, exist_ok=True)
                    # Atomic on POSIX: readers see the whole blob or none.
                    tmp_path.replace(final)
                except OSError as exc:
                    raise _storage_error(exc) from exc
        return BlobRef(sha256=sha, size_bytes=size, content_type=content_type)

    @contextlib.contextmanager
    def _temporary(self) -> Iterator[tuple[Path, IO[bytes]]]:
        try:
            fd, name = tempfile.mkstemp(prefix=".incoming-", dir=self.root)
        except OSError as exc:
            raise _storage_error(exc) from exc
        tmp_path = Path(name)
        try:
            with os.fdopen(fd, "wb") as handle:
                yield tmp_path, handle
        finally:
            tmp_path.unlink(missing_ok=True)

    def read_bytes(self, ref: BlobRef) -> bytes:
        data = self.local_path(ref).read_bytes()
        if len(data) != ref.size_bytes:
            raise InvalidInput(
                f"blob {ref.sha256[:12]} has {len(data)} bytes, its claim check says {ref.size_bytes}"
            )
        return data

    def local_path(self, ref: BlobRef) -> Path:
        path = self._path(ref.sha256)
        if not path.is_file():
            raise InvalidInput(f"blob {ref.sha256[:12]} is missing from the blob store at {self.root}")
        return path

    def exists(self, ref: BlobRef) -> bool:
        return self._path(ref.sha256).is_file()

    def delete(self, sha256: str) -> bool:
        path = self._path(sha256)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise TransientError(f"cannot delete blob {sha256[:12]}: {exc.strerror or exc}") from exc
        return True


def _storage_error(exc: OSError) -> TransientError:
    # EFBIG: a file-size limit (ulimit -f, quota) stops the write the same way a full disk does.
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return TransientError("the blob store's disk is full; free space and the message will be retried")
    return TransientError(f"blob store write failed: {exc.strerror or exc}")
