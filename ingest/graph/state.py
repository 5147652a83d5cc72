"""What Graph discovery remembers between runs: deltaLinks, subscriptions, recordings already emitted.

A small protocol so that the runtime can keep it in its database later; ``FileDiscoveryState`` keeps it in
one JSON file under ``{data_dir}/graph/``, replaced atomically on every change, guarded by a lock.
Nothing personal is stored: ids, URLs Graph gave us, timestamps.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from dealtalk.contracts.errors import TransientError

__all__ = ["DiscoveryState", "FileDiscoveryState", "SubscriptionRecord"]

# Ids seen longer ago than this are forgotten: Graph never replays recordings that old in a delta round.
_SEEN_RETENTION = timedelta(days=120)


@dataclass(frozen=True, slots=True)
class SubscriptionRecord:
    id: str
    organizer_id: str
    resource: str
    expires: str  # ISO 8601, UTC


class DiscoveryState(Protocol):
    def delta_link(self, organizer_id: str) -> str | None: ...

    def save_delta_link(self, organizer_id: str, url: str | None) -> None: ...

    def seen(self, recording_id: str) -> bool: ...

    def mark_seen(self, recording_id: str) -> None: ...

    def subscriptions(self) -> list[SubscriptionRecord]: ...

    def save_subscription(self, record: SubscriptionRecord) -> None: ...

    def drop_subscription(self, subscription_id: str) -> None: ...

    def user_id(self, organizer: str) -> str | None: ...

    def save_user_id(self, organizer: str, user_id: str) -> None: ...


class FileDiscoveryState:
    """``DiscoveryState`` in a JSON file.

    Args:
        path: the file (its folder is created on first write).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._data: dict[str, Any] = {"delta_links": {}, "seen": {}, "subscriptions": {}, "user_ids": {}}
        if path.exists():
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise TransientError(f"cannot read the Graph discovery state {path}: {exc}") from exc
            self._data.update(loaded)

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".state-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self._data, handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            Path(name).replace(self.path)
        except OSError as exc:
            raise TransientError(f"cannot write the Graph discovery state {self.path}: {exc}") from exc
        finally:
            Path(name).unlink(missing_ok=True)

    def delta_link(self, organizer_id: str) -> str | None:
        with self._lock:
            link = self._data["delta_links"].get(organizer_id)
            return str(link) if link else None

    def save_delta_link(self, organizer_id: str, url: str | None) -> None:
        with self._lock:
            if url is None:
                self._data["delta_links"].pop(organizer_id, None)
            else:
                self._data["delta_links"][organizer_id] = url
            self._save()

    def seen(self, recording_id: str) -> bool:
        with self._lock:
            return recording_id in self._data["seen"]

    def mark_seen(self, recording_id: str) -> None:
        with self._lock:
            now = datetime.now(UTC)
            cutoff = (now - _SEEN_RETENTION).isoformat()
            self._data["seen"] = {k: v for k, v in self._data["seen"].items() if v >= cutoff}
            self._data["seen"][recording_id] = now.isoformat()
            self._save()

    def subscriptions(self) -> list[SubscriptionRecord]:
        with self._lock:
            return [SubscriptionRecord(**record) for record in self._data["subscriptions"].values()]

    def save_subscription(self, record: SubscriptionRecord) -> None:
        with self._lock:
            self._data["subscriptions"][record.id] = asdict(record)
            self._save()

    def drop_subscription(self, subscription_id: str) -> None:
        with self._lock:
            self._data["subscriptions"].pop(subscription_id, None)
            self._save()

    def user_id(self, organizer: str) -> str | None:
        with self._lock:
            found = self._data["user_ids"].get(organizer.lower())
            return str(found) if found else None

    def save_user_id(self, organizer: str, user_id: str) -> None:
        with self._lock:
            self._data["user_ids"][organizer.lower()] = user_id
            self._save()
