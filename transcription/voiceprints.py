"""Seller voiceprints: a stored speaker embedding per seller, so later calls name the seller by voice.

Voiceprints are biometric personal data (GDPR art. 9): enrolment can be turned off
(``DEALTALK_SPEECH__VOICEPRINTS=false``), a seller's print can be erased (``delete``), files are named by a
hash of the e-mail address, and nothing about them is logged but that hash. A print is tied to the
embedding model's checksum: prints made by another model are ignored, never compared.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["FileVoiceprintStore", "Voiceprint", "VoiceprintStore", "unit"]

logger = logging.getLogger(__name__)

# A new embedding this far from the stored print suggests the speaker was named wrongly: do not average.
_MIN_UPDATE_SIMILARITY = 0.3
# Later calls still move the print, but never by less than 1/_MAX_WEIGHT.
_MAX_WEIGHT = 20


def unit(vector: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The vector scaled to length 1 (zeros stay zeros)."""
    norm = float(np.linalg.norm(vector))
    return (vector / norm).astype(np.float32) if norm > 0 else vector.astype(np.float32)


@dataclass(frozen=True, slots=True)
class Voiceprint:
    """A seller's voice: the unit-length mean embedding over ``calls`` enrolled calls."""

    email: str
    name: str
    embedding: npt.NDArray[np.float32]
    calls: int
    model_sha256: str


class VoiceprintStore(Protocol):
    """Where seller voiceprints live (a folder here; the lead may add a database-backed one)."""

    def get(self, email: str, *, model_sha256: str) -> Voiceprint | None:
        """The seller's print made with this embedding model, if enrolled."""

    def all(self, *, model_sha256: str) -> list[Voiceprint]:
        """Every print made with this embedding model."""

    def enrol(
        self, email: str, name: str, embedding: npt.NDArray[np.float32], *, model_sha256: str
    ) -> Voiceprint | None:
        """Add one call's embedding to the seller's print; None when it was refused as inconsistent."""

    def delete(self, email: str) -> bool:
        """Erase the seller's print (GDPR erasure); True when there was one."""


class FileVoiceprintStore:
    """Voiceprints as small JSON files under ``root`` (``{data_dir}/voiceprints``).

    Args:
        root: the folder; created on first enrolment.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    @staticmethod
    def key(email: str) -> str:
        """The file key for an address: a hash, so no file name carries personal data."""
        return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]

    def _path(self, email: str) -> Path:
        return self.root / f"{self.key(email)}.json"

    @staticmethod
    def _read(path: Path) -> Voiceprint | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return Voiceprint(
                email=str(data["email"]),
                name=str(data["name"]),
                embedding=np.asarray(data["embedding"], dtype=np.float32),
                calls=int(data["calls"]),
                model_sha256=str(data["model_sha256"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            logger.warning("ignoring unreadable voiceprint file %s", path.name)
            return None

    def get(self, email: str, *, model_sha256: str) -> Voiceprint | None:
        path = self._path(email)
        if not path.is_file():
            return None
        print_ = self._read(path)
        return print_ if print_ is not None and print_.model_sha256 == model_sha256 else None

    def all(self, *, model_sha256: str) -> list[Voiceprint]:
        if not self.root.is_dir():
            return []
        prints = (self._read(path) for path in sorted(self.root.glob("*.json")))
        return [p for p in prints if p is not None and p.model_sha256 == model_sha256]

    def enrol(
        self, email: str, name: str, embedding: npt.NDArray[np.float32], *, model_sha256: str
    ) -> Voiceprint | None:
        new = unit(np.asarray(embedding, dtype=np.float32))
        if not np.all(np.isfinite(new)) or not np.any(new):
            return None
        old = self.get(email, model_sha256=model_sha256)
        if old is None:
            updated = Voiceprint(email=email, name=name, embedding=new, calls=1, model_sha256=model_sha256)
        else:
            similarity = float(np.dot(old.embedding, new))
            if similarity < _MIN_UPDATE_SIMILARITY:
                logger.warning(
                    "voiceprint %s: new call's voice differs (similarity %.2f); not enrolled",
                    self.key(email)[:8],
                    similarity,
                )
                return None
            weight = min(old.calls, _MAX_WEIGHT)
            mean = unit(((old.embedding * weight + new) / (weight + 1)).astype(np.float32))
            updated = Voiceprint(
                email=email, name=name, embedding=mean, calls=old.calls + 1, model_sha256=model_sha256
            )
        self._write(updated)
        logger.info("voiceprint %s enrolled (%d calls)", self.key(email)[:8], updated.calls)
        return updated

    def _write(self, voiceprint: Voiceprint) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        path = self._path(voiceprint.email)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        payload = {
            "email": voiceprint.email,
            "name": voiceprint.name,
            "calls": voiceprint.calls,
            "model_sha256": voiceprint.model_sha256,
            "embedding": [round(float(x), 6) for x in voiceprint.embedding],
        }
        tmp.write_text(json.dumps(payload), encoding="utf-8")
        tmp.replace(path)

    def delete(self, email: str) -> bool:
        path = self._path(email)
        if not path.is_file():
            return False
        path.unlink()
        return True
