"""The dry-run publisher: writes the exact Dataverse requests it would send, one JSON file per recording.

``{outbox_dir}/<recording key>.json`` holds the method, URL (entity set and alternate key), headers and body
of each request. Files are replaced atomically, so publishing a recording twice leaves one file with the
latest content, and a reader never sees half a file.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from dealtalk.contracts.documents import CallResult, MeetingInfo, OpportunityLink
from dealtalk.contracts.errors import TransientError
from dealtalk.publisher.crm import CrmReader
from dealtalk.publisher.payload import (
    CallActivity,
    fallback_requests,
    insight_activity_request,
    report_url_for,
    resolve_parties,
)
from dealtalk.publisher.protocols import PublishReceipt
from dealtalk.publisher.request import DataverseRequest, api_root, key_path, record_key, stable_id
from dealtalk.publisher.schema import ActivitySchema

__all__ = ["OUTBOX_FORMAT", "DryRunPublisher"]

logger = logging.getLogger(__name__)

OUTBOX_FORMAT = "dealtalk.dataverse-requests/1"


class DryRunPublisher:
    """An ``ActivityPublisher`` that writes requests to the outbox instead of sending them.

    Args:
        outbox_dir: where the request files go (created on first use).
        schema: names of the call-insights table.
        parties_from: the CRM whose systemusers/contacts become activity parties.
        org_url: the Dataverse organisation URL for absolute request URLs; empty gives relative ones.
        api_version: the Web API version in the URL.
        fallback_phonecall: write the phone call + note fallback instead of the custom activity.
        report_base_url: base of the HTML report links; empty leaves the link out.
    """

    def __init__(
        self,
        outbox_dir: Path,
        *,
        schema: ActivitySchema,
        parties_from: CrmReader,
        org_url: str = "",
        api_version: str = "v9.2",
        fallback_phonecall: bool = False,
        report_base_url: str = "",
    ) -> None:
        self._outbox = outbox_dir
        self._schema = schema
        self._parties_from = parties_from
        self._root = api_root(org_url, api_version) if org_url else f"/api/data/{api_version}/"
        self._fallback = fallback_phonecall
        self._report_base_url = report_base_url

    def close(self) -> None:
        """Close the party reader's connections, when it has any (at shutdown)."""
        close = getattr(self._parties_from, "close", None)
        if close is not None:
            close()

    def outbox_file(self, recording_id: str) -> Path:
        """Where the requests for a recording are written."""
        return self._outbox / f"{record_key(recording_id)}.json"

    def publish(
        self, result: CallResult, *, recording_id: str, meeting: MeetingInfo, link: OpportunityLink
    ) -> PublishReceipt:
        """Write the requests that would upsert this call's activity; overwrite any earlier file.

        Raises:
            TransientError: the outbox cannot be written (disk full, permissions); retrying may help.
        """
        call = CallActivity(
            result=result,
            recording_id=recording_id,
            meeting=meeting,
            link=link,
            parties=resolve_parties(meeting, self._parties_from),
            report_url=report_url_for(self._report_base_url, recording_id),
        )
        requests: tuple[DataverseRequest, ...]
        if self._fallback:
            requests = fallback_requests(call)
            activity_ref = f"phonecalls({stable_id(recording_id, 'phonecall')})"
        else:
            requests = (insight_activity_request(call, self._schema),)
            activity_ref = key_path(
                self._schema.entity_set, self._schema.key_column, record_key(recording_id)
            )
        document: dict[str, Any] = {
            "format": OUTBOX_FORMAT,
            "recording_id": recording_id,
            "opportunity_id": link.opportunity_id,
            "link_method": link.method,
            "requests": [request.to_json(self._root) for request in requests],
        }
        target = self.outbox_file(recording_id)
        created = not target.exists()
        _write_atomically(target, json.dumps(document, ensure_ascii=False, indent=2) + "\n")
        logger.info(
            "dry-run publish: recording=%s requests=%d created=%s file=%s",
            recording_id,
            len(requests),
            created,
            target.name,
        )
        return PublishReceipt(activity_id=activity_ref, target=str(target), created=created)

    def withdraw(self, *, recording_id: str) -> bool:
        """Remove the recording's outbox file (what a live run would delete from Dataverse)."""
        target = self.outbox_file(recording_id)
        try:
            target.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise TransientError(
                f"cannot delete the dry-run outbox file {target}: {exc.strerror or exc}"
            ) from exc
        logger.info("dry-run withdraw: recording=%s file=%s", recording_id, target.name)
        return True


def _write_atomically(target: Path, text: str) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            Path(name).replace(target)
        finally:
            Path(name).unlink(missing_ok=True)
    except OSError as exc:
        raise TransientError(f"cannot write the dry-run outbox file {target}: {exc.strerror or exc}") from exc
