"""Checksums of model files: verification and the stamp cache that must never trust a changed file."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dealtalk.contracts.errors import ConfigurationError
from dealtalk.models.checksum import CorruptModelError, cached_sha256, sha256_file, verify_sha256


@settings(max_examples=30)
@given(st.binary(max_size=20_000))
def test_sha256_file_is_sha256(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("h") / "f.bin"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()


def test_verify_refuses_a_wrong_or_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"weights")
    verify_sha256(path, hashlib.sha256(b"weights").hexdigest(), what="test model")
    with pytest.raises(
        CorruptModelError, match=r"test model: .* has sha256 .*corrupt or incomplete"
    ) as caught:
        verify_sha256(path, "0" * 64, what="test model")
    assert isinstance(caught.value, ConfigurationError) and not caught.value.retriable
    with pytest.raises(CorruptModelError, match="is missing"):
        verify_sha256(tmp_path / "gone.bin", "0" * 64, what="test model")


def test_the_stamp_is_used_only_while_the_file_is_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    stamps = tmp_path / "stamps"
    path.write_bytes(b"a" * 1000)
    first = cached_sha256(path, stamps)
    assert first == hashlib.sha256(b"a" * 1000).hexdigest()
    # Same size, new content and mtime: re-hashed, not trusted by the old stamp.
    path.write_bytes(b"b" * 1000)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    assert cached_sha256(path, stamps) == hashlib.sha256(b"b" * 1000).hexdigest()
    # Truncated: re-hashed.
    path.write_bytes(b"b" * 10)
    assert cached_sha256(path, stamps) == hashlib.sha256(b"b" * 10).hexdigest()


def test_an_unwritable_stamp_dir_still_gives_the_checksum(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"x")
    blocker = tmp_path / "stamps"
    blocker.write_text("a file where the folder should be")
    assert cached_sha256(path, blocker) == hashlib.sha256(b"x").hexdigest()
