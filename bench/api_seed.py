"""Seeding for ``bench/api.py``: a synthetic CRM (users in teams, accounts, opportunities) and 100,000 analysed
calls with 1,000,000 risk signals, written by PostgreSQL itself (``INSERT … SELECT generate_series``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import get_args

from sqlalchemy import text

from dealtalk.contracts.documents import RiskLabel
from dealtalk.pipeline.store import Database

__all__ = ["LABELS", "owner_of", "seed", "write_crm"]

LABELS: tuple[str, ...] = get_args(RiskLabel)  # the closed taxonomy of the contracts
USERS, MANAGERS, ACCOUNTS, OPPORTUNITIES = 100, 10, 1000, 5000


def user_id(i: int) -> str:
    return f"user-{i:03d}"


def owner_of(opportunity: int) -> int:
    return opportunity % USERS


def write_crm(path: Path) -> None:
    """Users 0-9 manage; user j reports to manager j % 10. Opportunity k: owner k % 100, account k % 1000."""
    users = [
        {
            "systemuserid": user_id(i),
            "fullname": f"Seller {i}",
            "internalemailaddress": f"seller{i}@example.com",
            **({"_parentsystemuserid_value": user_id(i % MANAGERS)} if i >= MANAGERS else {}),
        }
        for i in range(USERS)
    ]
    opportunities = [
        {
            "opportunityid": f"opp-{k:05d}",
            "name": f"Opportunity {k}",
            "_parentaccountid_value": f"acc-{k % ACCOUNTS:04d}",
            "_ownerid_value": user_id(owner_of(k)),
            "statecode": 0,
        }
        for k in range(OPPORTUNITIES)
    ]
    accounts = [{"accountid": f"acc-{a:04d}", "name": f"Account {a}"} for a in range(ACCOUNTS)]
    path.write_text(json.dumps({"systemusers": users, "accounts": accounts, "opportunities": opportunities}))


def seed(database: Database, *, calls: int, risks_per_call: int) -> None:
    """Calls discovered every 5 minutes back from now (about a year for 100,000), 90 % linked, half Dutch."""
    labels = "ARRAY[" + ",".join(f"'{label}'" for label in LABELS) + "]"
    statements = [
        f"""INSERT INTO recordings (recording_id, source, source_ref, meeting, trace_id, audio_sha256,
                audio_size_bytes, status, discovered_at, updated_at)
            SELECT 'bench-' || lpad(i::text, 6, '0'), 'local', '/inbox/' || i || '.flac',
                   json_build_object('subject', 'Call ' || i), md5(i::text), NULL, 1000000, 'published',
                   now() - i * interval '5 minutes', now()
            FROM generate_series(1, {calls}) AS i""",
        f"""INSERT INTO calls (recording_id, language, duration_s, transcript_sha256, version, models, warnings,
                created_at)
            SELECT 'bench-' || lpad(i::text, 6, '0'), CASE WHEN i % 2 = 0 THEN 'nl' ELSE 'en' END, 600,
                   md5(i::text), 'bench', '{{}}'::json, '[]'::json, now()
            FROM generate_series(1, {calls}) AS i""",
        f"""INSERT INTO insights (recording_id, insights_sha256, version, kpis, summary, health_score, health,
                entities, models, created_at)
            SELECT 'bench-' || lpad(i::text, 6, '0'), md5(i::text), 'bench', '{{}}'::json, 'summary',
                   (i * 37) % 101, '{{}}'::json, '[]'::json, '{{}}'::json, now()
            FROM generate_series(1, {calls}) AS i""",
        f"""INSERT INTO links (recording_id, opportunity_id, method, detail, opportunity_name, account_name,
                linked_at)
            SELECT 'bench-' || lpad(i::text, 6, '0'), 'opp-' || lpad(((i * 7) % {OPPORTUNITIES})::text, 5, '0'),
                   'appointment', '', 'Opportunity', 'Account ' || (((i * 7) % {OPPORTUNITIES}) % {ACCOUNTS}),
                   now()
            FROM generate_series(1, {calls}) AS i WHERE i % 10 <> 0""",
        # Unlinked calls have a link row without an opportunity, as the publish stage writes it.
        f"""INSERT INTO links (recording_id, opportunity_id, method, detail, linked_at)
            SELECT 'bench-' || lpad(i::text, 6, '0'), NULL, 'none', '', now()
            FROM generate_series(1, {calls}) AS i WHERE i % 10 = 0""",
        f"""INSERT INTO risks (recording_id, type, severity, confidence, speaker_id, start_s, end_s, quote,
                segment_index, source, explanation)
            SELECT 'bench-' || lpad(c::text, 6, '0'), ({labels})[1 + (c * 7 + r * 5) % 12],
                   (ARRAY['low','medium','high'])[1 + (c + r) % 3], ((c * 13 + r * 29) % 100) / 100.0,
                   'S2', r * 30.0, r * 30.0 + 5, 'quote ' || c || '-' || r, r, 'union', 'bench'
            FROM generate_series(1, {calls}) AS c, generate_series(1, {risks_per_call}) AS r""",
        "ANALYZE",
    ]
    with database.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        for statement in statements:
            connection.execute(text(statement))
