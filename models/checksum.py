"""Checksums of model files, with a stamp cache so that a worker start does not re-hash gigabytes.

A stamp records (path, size, mtime) -> sha256. When the file's size or mtime changes the stamp no longer
matches and the file is hashed again, so a replaced or truncated weight file is never trusted by its old hash.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

from dealtalk.contracts.errors import ConfigurationError

__all__ = ["CorruptModelError", "cached_sha256", "sha256_file", "verify_sha256"]

logger = logging.getLogger(__name__)

_CHUNK = 4 << 20


class CorruptModelError(ConfigurationError):
    """A model file does not have the checksum it must have (truncated download, disk error, tampering)."""


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file, read in 4 MiB chunks (memory stays flat for multi-GB weights)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str, *, what: str) -> None:
    """Refuse a file whose sha256 is not ``expected``.

    Args:
        path: the file to check.
        expected: the hex sha256 it must have.
        what: a few words naming the model, for the error message.

    Raises:
        CorruptModelError: the file is missing or its checksum differs.
    """
    if not path.is_file():
        raise CorruptModelError(f"{what}: {path} is missing")
    actual = sha256_file(path)
    if actual != expected:
        raise CorruptModelError(
            f"{what}: {path} has sha256 {actual[:12]}…, expected {expected[:12]}…; the file is corrupt or "
            f"incomplete. Delete it and run `python -m dealtalk.models.prepare` to rebuild it"
        )


def cached_sha256(path: Path, stamp_dir: Path) -> str:
    """The sha256 of ``path``, remembered in ``stamp_dir`` while the file's size and mtime stay the same.

    Args:
        path: a model file (may live in a read-only folder; the stamp goes to ``stamp_dir``).
        stamp_dir: a writable folder for stamps; when it cannot be written the hash is simply not cached.

    Returns:
        The hex sha256 of the file.
    """
    resolved = path.resolve()
    stat = resolved.stat()
    key = hashlib.sha1(str(resolved).encode(), usedforsecurity=False).hexdigest()
    stamp_path = stamp_dir / f"{key}.json"
    fingerprint = {"path": str(resolved), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    try:
        stamp = json.loads(stamp_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        stamp = None
    if isinstance(stamp, dict) and all(stamp.get(k) == v for k, v in fingerprint.items()):
        cached = stamp.get("sha256")
        if isinstance(cached, str) and len(cached) == 64:
            return cached
    logger.info("hashing model file %s (%.0f MB)", resolved.name, stat.st_size / 1e6)
    digest = sha256_file(resolved)
    try:
        stamp_dir.mkdir(parents=True, exist_ok=True)
        tmp = stamp_path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({**fingerprint, "sha256": digest}), encoding="utf-8")
        tmp.replace(stamp_path)
    except OSError as exc:
        logger.debug("cannot cache checksum stamp in %s: %s", stamp_dir, exc)
    return digest
