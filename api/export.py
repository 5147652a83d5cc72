"""Streamed exports: CSV lines and Parquet row groups produced as the database cursor advances."""

from __future__ import annotations

import csv
import io
import operator
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

__all__ = ["EXPORT_COLUMNS", "csv_chunks", "parquet_chunks"]

EXPORT_COLUMNS = (
    "id",
    "call_id",
    "discovered_at",
    "type",
    "severity",
    "confidence",
    "speaker",
    "start",
    "end",
    "segment_index",
    "source",
    "opportunity_id",
    "account_name",
    "owner_id",
    "quote",
    "explanation",
    "evidence_quality",
)
_ROWS_PER_CHUNK = 2000


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        # A quote that starts with = + - @ would run as a formula in a spreadsheet: prefix it.
        return f"'{value}" if value[:1] in _FORMULA else value
    return value.isoformat() if isinstance(value, datetime) else value


_FORMULA = frozenset("=+-@")
_FIELDS = operator.itemgetter(*EXPORT_COLUMNS)


def csv_chunks(rows: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """CSV with a header line, in chunks of a few thousand rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    for count, row in enumerate(rows, start=1):
        writer.writerow(map(_cell, _FIELDS(row)))
        if count % _ROWS_PER_CHUNK == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def parquet_chunks(rows: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """A Parquet file written one row group per few thousand rows; each group's bytes are sent as written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [
            ("id", pa.int64()),
            ("call_id", pa.string()),
            ("discovered_at", pa.timestamp("us", tz="UTC")),
            ("type", pa.string()),
            ("severity", pa.string()),
            ("confidence", pa.float64()),
            ("speaker", pa.string()),
            ("start", pa.float64()),
            ("end", pa.float64()),
            ("segment_index", pa.int64()),
            ("source", pa.string()),
            ("opportunity_id", pa.string()),
            ("account_name", pa.string()),
            ("owner_id", pa.string()),
            ("quote", pa.string()),
            ("explanation", pa.string()),
            ("evidence_quality", pa.float64()),
        ]
    )
    sink = io.BytesIO()
    writer = pq.ParquetWriter(sink, schema, compression="zstd")

    def drain() -> bytes:
        data = sink.getvalue()
        sink.seek(0)
        sink.truncate()
        return data

    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == _ROWS_PER_CHUNK:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            batch.clear()
            yield drain()
    if batch:
        writer.write_table(pa.Table.from_pylist(batch, schema=schema))
    writer.close()
    yield drain()
