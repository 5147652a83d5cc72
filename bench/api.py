"""API benchmark: p50/p95 latency of the main analyst queries on 100,000 calls / 1,000,000 risk signals in
PostgreSQL, under concurrent load on loopback.

What it runs (one run; timings are noisy on a shared 2-core machine, and the load generator shares the cores
with the server and PostgreSQL):

1. A fresh PostgreSQL database, migrated (so the indexes of migration 0005 exist), seeded by PostgreSQL itself
   (``generate_series``): calls discovered every 5 minutes back from now, 90 % linked to 5,000 opportunities of
   100 sellers in 10 teams (a synthetic CRM fixture written beside it), 10 risk signals per call; the risk
   rollups (migration 0007) rebuilt from those rows, since the seed bypasses the projections that keep them
   current; then the database time of the main queries (``bench/api_explain.py``: EXPLAIN ANALYZE).
2. ``dealtalk serve`` in its own process (uvicorn, authentication on), with an admin API key and a manager
   key (one team of 10 sellers).
3. For each query, ``--requests`` requests from ``--concurrency`` concurrent clients (httpx, keep-alive),
   parameters varied per request (owner, type, account, opportunity, week window); every answer must be 200.
   p50 and p95 per query, beside the target (p95 < 200 ms). Printed and written to ``bench/results/api.md``.

Usage: ``python bench/api.py [--calls 100000] [--risks-per-call 10] [--requests 200] [--concurrency 8]``
(PostgreSQL at ``TEST_POSTGRES_ADMIN``, default ``postgresql://postgres@127.0.0.1:5432/postgres``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the bench.* helper modules

from bench.api_explain import database_times  # noqa: E402
from bench.api_seed import ACCOUNTS, LABELS, OPPORTUNITIES, USERS, seed, user_id, write_crm  # noqa: E402
from dealtalk.api.auth.apikeys import create_key  # noqa: E402
from dealtalk.pipeline.store import open_database  # noqa: E402
from dealtalk.pipeline.store.rollups import rebuild_rollups  # noqa: E402

ADMIN_URL = os.environ.get("TEST_POSTGRES_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
TARGET_P95_MS = 200.0
Params = Callable[[random.Random], dict[str, str]]


def _iso(days_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()


def _week(rng: random.Random) -> dict[str, str]:
    start = rng.randrange(300)
    return {"since": _iso(start + 7), "until": _iso(start)}


def queries() -> list[tuple[str, str, str, Params]]:
    """(name, key, path, parameters per request): the main queries of the analyst API."""
    return [
        ("calls: newest page", "admin", "/calls", lambda r: {"page_size": "50"}),
        ("calls: by owner", "admin", "/calls", lambda r: {"owner_id": user_id(r.randrange(USERS))}),
        (
            "calls: language + 30-day window",
            "admin",
            "/calls",
            lambda r: {"language": "nl", "since": _iso(30)},
        ),
        ("calls: unlinked", "admin", "/calls", lambda r: {"linked": "false"}),
        ("calls: manager's team", "manager", "/calls", lambda r: {}),
        ("risks: newest page", "admin", "/risks", lambda r: {"page_size": "50"}),
        (
            "risks: type + min confidence",
            "admin",
            "/risks",
            lambda r: {"type": r.choice(LABELS), "min_confidence": "0.8"},
        ),
        (
            "risks: by account",
            "admin",
            "/risks",
            lambda r: {"account_id": f"acc-{r.randrange(ACCOUNTS):04d}"},
        ),
        (
            "risks: by opportunity",
            "admin",
            "/risks",
            lambda r: {"opportunity_id": f"opp-{r.randrange(OPPORTUNITIES):05d}"},
        ),
        ("risks: manager's team, high", "manager", "/risks", lambda r: {"severity": "high"}),
        (
            "risks: one week, by severity",
            "admin",
            "/risks",
            lambda r: _week(r) | {"severity": "medium"},
        ),
        ("aggregates: by type, 30 days", "admin", "/risks/aggregates", lambda r: {"since": _iso(30)}),
        (
            "aggregates: by owner, 30 days",
            "admin",
            "/risks/aggregates",
            lambda r: {"group_by": "owner", "since": _iso(30)},
        ),
        (
            "aggregates: by week, 90 days",
            "admin",
            "/risks/aggregates",
            lambda r: {"group_by": "week", "since": _iso(90)},
        ),
        ("aggregates: by type, all time", "admin", "/risks/aggregates", lambda r: {}),
        (
            "trend: one opportunity",
            "admin",
            "/opportunities/{opp}/trend",
            lambda r: {"opp": f"opp-{(r.randrange(1, 1000) * 70 + 7) % OPPORTUNITIES:05d}"},
        ),
        ("export: 2,000 rows CSV", "admin", "/risks/export", lambda r: {"limit": "2000"}),
    ]


async def _run_query(
    client: httpx.AsyncClient,
    key: str,
    path: str,
    params: Params,
    *,
    requests: int,
    concurrency: int,
    seed: int,
) -> tuple[list[float], int]:
    rng = random.Random(seed)
    plans = []
    for _ in range(requests):
        values = params(rng)
        url = path.format(**values) if "{" in path else path
        plans.append((url, {k: v for k, v in values.items() if "{" + k + "}" not in path}))
    latencies: list[float] = []
    failures = 0
    gate = asyncio.Semaphore(concurrency)

    async def one(url: str, query: dict[str, str]) -> None:
        nonlocal failures
        async with gate:
            started = time.perf_counter()
            response = await client.get(url, params=query, headers={"X-API-Key": key})
            await response.aread()
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                failures += 1
                print(f"  {response.status_code} {url} {query}: {response.text[:160]}", flush=True)

    await asyncio.gather(*(one(url, query) for url, query in plans))
    return latencies, failures


def _percentile(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--risks-per-call", type=int, default=10)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--port", type=int, default=18080)
    parser.add_argument(
        "--reuse-database",
        default="",
        help="an already seeded database name (skips seeding; kept afterwards)",
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "api.md")
    args = parser.parse_args()

    name = args.reuse_database or f"dealtalk_bench_{uuid.uuid4().hex[:8]}"
    if not args.reuse_database:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    workdir = Path(tempfile.mkdtemp(prefix="dealtalk-bench-api-"))
    server: subprocess.Popen[bytes] | None = None
    try:
        database = open_database(url)
        crm = workdir / "crm.json"
        write_crm(crm)
        started = time.perf_counter()
        if not args.reuse_database:
            seed(database, calls=args.calls, risks_per_call=args.risks_per_call)
        seed_s = time.perf_counter() - started
        started = time.perf_counter()
        if not args.reuse_database:
            # The seed writes the tables directly, past the projections that keep the rollups current.
            with database.engine.begin() as connection:
                rebuild_rollups(connection)
        rollup_s = time.perf_counter() - started
        db_rows = database_times(database, crm, manager=user_id(3))
        _, admin_key = create_key(database, role="admin", name="bench-admin", pepper=None)
        _, manager_key = create_key(
            database, role="manager", name="bench-manager", pepper=None, systemuser_id=user_id(3)
        )
        database.dispose()
        print(f"seeded {args.calls:,} calls / {args.calls * args.risks_per_call:,} risks in {seed_s:.1f} s")

        env = {
            **os.environ,
            "DEALTALK_DATABASE__URL": url,
            "DEALTALK_DATABASE__POOL_SIZE": str(args.concurrency + 2),
            "DEALTALK_DATA_DIR": str(workdir / "data"),
            "DEALTALK_CRM__FIXTURE_PATH": str(crm),
            "DEALTALK_LOG_LEVEL": "WARNING",
        }
        dealtalk = Path(sys.executable).with_name("dealtalk")
        server = subprocess.Popen(
            [str(dealtalk), "serve", "--host", "127.0.0.1", "--port", str(args.port)], env=env
        )
        base = f"http://127.0.0.1:{args.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        keys = {"admin": admin_key, "manager": manager_key}
        load_before = os.getloadavg()[0]
        rows = asyncio.run(_measure(base, keys, args))
        load_after = os.getloadavg()[0]
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if not args.reuse_database:
            with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    header = "| query | requests | failures | p50 ms | p95 ms | target p95 | met |\n"
    header += "|---|---:|---:|---:|---:|---:|---|\n"
    table = header + "".join(
        f"| {q} | {n} | {f} | {p50:.1f} | {p95:.1f} | < {TARGET_P95_MS:.0f} ms | "
        f"{'yes' if p95 < TARGET_P95_MS and not f else 'NO'} |\n"
        for q, n, f, p50, p95 in rows
    )
    db_table = "| query | statements | database ms | target | met |\n|---|---:|---:|---:|---|\n" + "".join(
        f"| {q} | {n} | {ms:.1f} | < {TARGET_P95_MS:.0f} ms | {'yes' if ms < TARGET_P95_MS else 'NO'} |\n"
        for q, n, ms in db_rows
    )
    print(table)
    print(db_table)
    args.out.write_text(
        "# API latency (bench/api.py)\n\n"
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} ({os.cpu_count()} CPUs, shared), "
        f"PostgreSQL, {args.calls:,} calls / {args.calls * args.risks_per_call:,} risk signals, "
        f"{args.concurrency} concurrent clients on loopback against `dealtalk serve` (one uvicorn process, "
        f"authentication on, API keys), {args.requests} requests per query; seeding took {seed_s:.0f} s, "
        f"rebuilding the risk rollups {rollup_s:.0f} s. "
        f"Host load average (1 min) {load_before:.1f} before the load and {load_after:.1f} after it: other "
        "work on the shared host competes for the same 2 cores.\n\n"
        "Language does not apply: the queries are the same for Dutch and English calls (half of each).\n\n"
        + table
        + "\n## Database time\n\nThe same queries in process, one run each, every statement they send re-run "
        "under `EXPLAIN (ANALYZE)` and its execution time added up (before the HTTP load; no HTTP, no Python "
        "serialisation). Aggregates read the daily rollups, except the manager's aggregate by type, which the "
        "rollups cannot answer per opportunity and type (raw rows).\n\n" + db_table
    )
    return 0 if all(failures == 0 for _, _, failures, _, _ in rows) else 1


async def _measure(
    base: str, keys: dict[str, str], args: argparse.Namespace
) -> list[tuple[str, int, int, float, float]]:
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    rows = []
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        for index, (query, role, path, params) in enumerate(queries()):
            await _run_query(
                client,
                keys[role],
                path,
                params,
                requests=args.concurrency,
                concurrency=args.concurrency,
                seed=-index,
            )
            latencies, failures = await _run_query(
                client,
                keys[role],
                path,
                params,
                requests=args.requests,
                concurrency=args.concurrency,
                seed=index,
            )
            p50, p95 = _percentile(latencies, 50), _percentile(latencies, 95)
            print(f"{query:38s} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  failures {failures}", flush=True)
            rows.append((query, len(latencies), failures, p50, p95))
    return rows


if __name__ == "__main__":
    sys.exit(main())
