"""The Dataverse client's pure parts: $batch encoding/decoding, error mapping, Retry-After, key values."""

from __future__ import annotations

import email.utils
import string
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dealtalk.contracts.errors import (
    ConfigurationError,
    InvalidInput,
    RetryLater,
    TransientError,
    retry_after_s,
)
from dealtalk.emulators.dataverse.batch import ChangeSet, parse_multipart
from dealtalk.publisher.dataverse.batch import encode_batch, parse_batch_response
from dealtalk.publisher.dataverse.errors import error_for
from dealtalk.publisher.request import DataverseRequest, key_path, odata_string, record_key

ROOT = "https://contoso.crm4.dynamics.com/api/data/v9.2/"


def test_batch_encoding_is_what_dataverse_parses() -> None:
    first = DataverseRequest(
        "PATCH",
        "dt_callinsights(dt_recordingid='a')",
        {"subject": "é\nx"},
        {"Prefer": "return=representation"},
    )
    second = DataverseRequest("PATCH", "phonecalls(00000000-0000-0000-0000-000000000001)", {"subject": "b"})
    content_type, body = encode_batch([[first], [second]], ROOT)
    items = parse_multipart(content_type, body)  # the emulator's strict parser: CRLF only, change sets
    assert [type(i) for i in items] == [ChangeSet, ChangeSet]
    part = items[0].parts[0]  # type: ignore[union-attr]
    assert (part.method, part.url, part.body, part.content_id) == (
        "PATCH",
        ROOT + first.path,
        {"subject": "é\nx"},
        "1",
    )
    assert part.headers["prefer"] == "return=representation" and "if-none-match" not in part.headers


def test_batch_response_parts_are_grouped_per_change_set() -> None:
    part = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: {id}\r\n\r\n"
    json_type = "Content-Type: application/json\r\n\r\n"
    response = (
        "--batchresponse_1\r\nContent-Type: multipart/mixed; boundary=changesetresponse_a\r\n\r\n"
        f"--changesetresponse_a\r\n{part.format(id=1)}"
        f"HTTP/1.1 201 Created\r\n{json_type}" + '{"activityid": "x"}\r\n'
        "--changesetresponse_a--\r\n"
        "--batchresponse_1\r\nContent-Type: multipart/mixed; boundary=changesetresponse_b\r\n\r\n"
        f"--changesetresponse_b\r\n{part.format(id=2)}"
        f"HTTP/1.1 404 Not Found\r\n{json_type}" + '{"error": {"code": "0x80040217", "message": "gone"}}\r\n'
        "--changesetresponse_b--\r\n--batchresponse_1--\r\n"
    )
    groups = parse_batch_response("multipart/mixed; boundary=batchresponse_1", response.encode())
    assert [[p.status for p in g] for g in groups] == [[201], [404]]
    assert groups[0][0].body == {"activityid": "x"} and groups[1][0].content_id == "2"


@pytest.mark.parametrize(
    ("status", "code", "kind", "fragment"),
    [
        (404, "0x8006088a", ConfigurationError, "dealtalk dataverse provision"),
        (400, "0x80060891", RetryLater, "not active yet"),
        (400, "0x80044331", InvalidInput, "malformed"),
        (404, "0x80040217", InvalidInput, "dealtalk link"),
        (412, "", InvalidInput, "duplicate key"),
        (403, "0x80040220", ConfigurationError, "security role"),
        (429, "0x80072322", RetryLater, "service protection"),
        (503, "", TransientError, "HTTP 503"),
    ],
)
def test_dataverse_errors_map_to_clear_errors(status: int, code: str, kind: type, fragment: str) -> None:
    error = error_for(status, {"error": {"code": code, "message": "m"}}, "upsert the activity")
    assert type(error) is kind and fragment in str(error) and "upsert the activity" in str(error)


def test_a_missing_privilege_is_named() -> None:
    message = "Principal user (Id=x, type=8), is missing prvReadOpportunity privilege on OTC=3 for entity 'opportunity'"
    error = error_for(403, {"error": {"code": "0x80040220", "message": message}}, "read an opportunity")
    assert isinstance(error, ConfigurationError)
    assert str(error).endswith(
        "Give the application user a security role with the privilege prvReadOpportunity"
    )


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after_s("12") == 12
    soon = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= (retry_after_s(soon) or 0) <= 31
    assert retry_after_s(None) is None and retry_after_s("soon") is None


@given(st.text(alphabet=string.printable + "éß€", min_size=1, max_size=300))
def test_record_keys_are_always_addressable_and_stable(recording_id: str) -> None:
    key = record_key(recording_id)
    assert key == record_key(recording_id)
    assert len(key) <= 100 and not set(key) & set("/<>*%&:\\?+'")
    path = key_path("dt_callinsights", "dt_recordingid", key)
    assert path == f"dt_callinsights(dt_recordingid={odata_string(key)})"  # nothing needed escaping
