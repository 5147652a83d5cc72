"""The blob store is content addressed, idempotent, and never leaves half a blob behind."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dealtalk.contracts.documents import BlobRef
from dealtalk.contracts.errors import InvalidInput
from dealtalk.pipeline.blobs import LocalBlobStore


def test_key_is_the_sha256_and_writes_are_idempotent(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    data = b"RIFF....WAVEfmt " * 1000
    first = store.put_bytes(data, content_type="audio/wav")
    second = store.put_stream(iter([data[:100], data[100:]]), content_type="audio/wav")
    assert first == second
    assert first.sha256 == hashlib.sha256(data).hexdigest()
    assert store.read_bytes(first) == data
    assert [p.name for p in (tmp_path / "blobs").rglob("*") if p.is_file()] == [first.sha256]


def test_missing_blob_is_a_clear_error(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    with pytest.raises(InvalidInput, match="missing from the blob store"):
        store.read_bytes(BlobRef(sha256="b" * 64, size_bytes=3))


def test_unreadable_file_is_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot read"):
        LocalBlobStore(tmp_path).put_file(tmp_path / "nope.flac")


def test_full_disk_leaves_no_partial_blob(tmp_path: Path) -> None:
    """A real write failure (file-size limit, as a full disk would) in a child process: no blob, no temp file."""
    root = tmp_path / "blobs"
    script = textwrap.dedent(
        f"""
        import resource, signal
        from pathlib import Path
        from dealtalk.pipeline.blobs import LocalBlobStore
        from dealtalk.contracts.errors import TransientError
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        try:
            LocalBlobStore(Path({str(root)!r})).put_bytes(b"x" * 100_000)
        except TransientError as exc:
            print("ERROR:", exc)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert "ERROR: the blob store's disk is full" in out
    assert [p for p in root.rglob("*") if p.is_file()] == []
