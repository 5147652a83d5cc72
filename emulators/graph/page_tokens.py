"""Opaque, tamper-proof page tokens for the Graph emulator's listings (skip, delta and $skiptoken values).

Graph's tokens are opaque to clients; the emulator signs its paging state so that a client which edits or
invents a token is refused, as Graph refuses it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any

__all__ = ["PageTokens"]

_MAC_BYTES = 12


class PageTokens:
    def __init__(self) -> None:
        self._key = secrets.token_bytes(16)

    def sign(self, state: dict[str, Any]) -> str:
        raw = json.dumps(state, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw + self._mac(raw)).decode().rstrip("=")

    def read(self, token: str) -> dict[str, Any]:
        """The state a token carries; empty when the token is malformed or was not signed here."""
        try:
            blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            raw, mac = blob[:-_MAC_BYTES], blob[-_MAC_BYTES:]
            if not hmac.compare_digest(mac, self._mac(raw)):
                return {}
            state = json.loads(raw)
        except (ValueError, json.JSONDecodeError):
            return {}
        return state if isinstance(state, dict) else {}

    def _mac(self, raw: bytes) -> bytes:
        return hmac.new(self._key, raw, hashlib.sha256).digest()[:_MAC_BYTES]
