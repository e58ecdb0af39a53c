"""Console read-path benchmark: shop-scale data, then the real HTTP API of `omnihub serve`, timed.

Run ``python -m bench.console --help``. On PostgreSQL it seeds 100,000 conversations / 1,000,000 messages /
50,000 customers / 100,000 orders (bench/console_seed.py; COPY with asyncpg into the schema `omnihub
migrate` creates, secondary indexes dropped during the load and rebuilt from their own definitions),
ANALYZEs, starts `omnihub serve` (one worker process) and times, from a client in a separate process
(aiohttp, one keep-alive connection, sequential requests, round-robin over the endpoints after a warm-up):
the conversation list for the common views, the next page by cursor, opening a thread and its customer
with orders, full-text search for common words and for an order number. It prints p50/p95 per endpoint and
the SQL statements each request ran (the `X-SQL-Statements` header of `OMNIHUB_DEBUG_SQL_COUNT=true`).
The same on SQLite at a tenth of the size (100,000 messages).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import (
    REPO,
    Database,
    database,
    free_port,
    hub_env,
    machine,
    start_server,
    summary_ms,
    write_json,
)
from bench.console_seed import (
    COLUMNS,
    COMMON_SHARE,
    COMMON_WORDS,
    INBOXES,
    JSON_COLUMNS,
    ORDER_BASE,
    TABLE_ORDER,
    VERY_COMMON_WORD,
    Generator,
    Sizes,
    Tables,
    json_text,
)

#: Goals of issue 8 (milliseconds, p95).
GOALS = {"list": 20.0, "thread_open": 20.0, "search_order": 20.0, "search_common": 100.0, "statements": 5}
MY_INBOXES = [i + 1 for i in range(4)]  # the bench agent ("me", agent 2) works the first four inboxes
ME = 2


# --- seeding --------------------------------------------------------------------------------------


def _tokens() -> tuple[dict[str, str], dict[int, str]]:
    """API tokens for "me" (an agent) and the admin: (role -> token, agent id -> stored hash)."""
    from conversation.agents import TOKEN_PREFIX, hash_token

    tokens = {"agent": TOKEN_PREFIX + secrets.token_urlsafe(24), "admin": TOKEN_PREFIX + secrets.token_urlsafe(24)}
    return tokens, {ME: hash_token(tokens["agent"]), 1: hash_token(tokens["admin"])}


def _pg_records(table: str, rows: Any) -> Any:
    """Rows with their JSON columns as text (asyncpg's jsonb codec takes str)."""
    indexes = [i for i, name in enumerate(COLUMNS[table]) if name in JSON_COLUMNS]
    for row in rows:
        values = list(row)
        for i in indexes:
            values[i] = json_text(values[i])
        yield tuple(values)


_SECONDARY_INDEXES = """
SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
WHERE t.relname = ANY($1::text[]) AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
"""


async def seed_postgres(db: Database, tables: Tables) -> dict[str, float]:
    """COPY every table; secondary indexes are dropped first and rebuilt (two at a time) afterwards."""
    import asyncpg

    url = db.url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(url)
    timings: dict[str, float] = {}
    try:
        # Foreign keys are consistent by construction: skip their per-row triggers (superuser only).
        await connection.execute(
            "SET session_replication_role = replica; SET synchronous_commit = off; SET maintenance_work_mem = '256MB'"
        )
        indexes = await connection.fetch(_SECONDARY_INDEXES, list(TABLE_ORDER))
        for index in indexes:
            await connection.execute(f'DROP INDEX "{index["name"]}"')
        started = time.perf_counter()
        for table in TABLE_ORDER:
            if table in ("message", "conversation", "identity", "attachment"):
                continue
            await connection.copy_records_to_table(
                table, records=_pg_records(table, tables.rows[table]), columns=list(COLUMNS[table])
            )
        assert tables.messages is not None and tables.conversations is not None
        await connection.copy_records_to_table(
            "message", records=_pg_records("message", tables.messages), columns=list(COLUMNS["message"])
        )
        for table, rows in (("conversation", tables.conversations()), ("identity", tables.rows["identity"]),
                            ("attachment", tables.rows["attachment"])):  # fmt: skip
            await connection.copy_records_to_table(table, records=_pg_records(table, rows), columns=list(COLUMNS[table]))
        timings["copy_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        await _rebuild(url, [r["definition"] for r in indexes])
        timings["indexes_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        for table in TABLE_ORDER:
            if "id" in COLUMNS[table]:
                await connection.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
        await connection.execute("ANALYZE")
        timings["analyze_s"] = round(time.perf_counter() - started, 1)
    finally:
        await connection.close()
    return timings


async def _rebuild(url: str, definitions: list[str]) -> None:
    """CREATE INDEX from the saved definitions on two connections (one per core), biggest first."""
    import asyncpg

    queue = sorted(definitions, key=lambda d: ("message" not in d, "gin" not in d.lower()))

    async def worker() -> None:
        connection = await asyncpg.connect(url)
        try:
            await connection.execute("SET maintenance_work_mem = '256MB'")
            while queue:
                await connection.execute(queue.pop(0))
        finally:
            await connection.close()

    await asyncio.gather(worker(), worker())


def seed_sqlite(db: Database, tables: Tables) -> dict[str, float]:
    """Plain INSERTs through SQLAlchemy (so dates and JSON are stored as the app stores them)."""
    import sqlalchemy as sa
    from sqlmodel import SQLModel

    import conversation.models  # noqa: F401 - registers the tables

    engine = sa.create_engine(db.url.replace("sqlite+aiosqlite", "sqlite"))
    started = time.perf_counter()
    assert tables.messages is not None and tables.conversations is not None
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")

            def insert(table: str, rows: Any) -> None:
                target = SQLModel.metadata.tables[table]
                chunk: list[dict[str, Any]] = []
                for row in rows:
                    chunk.append(dict(zip(COLUMNS[table], row, strict=True)))
                    if len(chunk) == 5000:
                        connection.execute(target.insert(), chunk)
                        chunk = []
                if chunk:
                    connection.execute(target.insert(), chunk)

            for table in TABLE_ORDER:
                if table not in ("message", "conversation", "identity", "attachment"):
                    insert(table, tables.rows[table])
            insert("message", tables.messages)
            insert("conversation", tables.conversations())
            insert("identity", tables.rows["identity"])
            insert("attachment", tables.rows["attachment"])
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()
    return {"insert_s": round(time.perf_counter() - started, 1)}


def seed(db: Database, sizes: Sizes, token_hashes: dict[int, str], seed_value: int) -> dict[str, Any]:
    started = time.perf_counter()
    generator = Generator(sizes, seed=seed_value)
    tables = generator.tables(token_hashes)
    timings = asyncio.run(seed_postgres(db, tables)) if db.is_postgres else seed_sqlite(db, tables)
    total = round(time.perf_counter() - started, 1)
    words = {w: round(n / sizes.messages, 4) for w, n in generator.word_counts.items()}
    return {"seconds": total, **timings, "word_share": words, "attachments": len(tables.rows["attachment"]),
            "identities": len(tables.rows["identity"])}  # fmt: skip


# --- what to request ------------------------------------------------------------------------------


async def _sample_ids(db: Database, n: int, seed_value: int) -> list[tuple[int, int]]:
    """(conversation id, customer id) of `n` random conversations "me" may open."""
    import sqlalchemy as sa

    from hub.storage.engine import create_engine

    engine = create_engine(db.url)
    try:
        async with engine.connect() as connection:
            rows = (await connection.execute(sa.text(
                "SELECT id, customer_id FROM conversation WHERE inbox_id IN (1, 2, 3, 4) ORDER BY id"
            ))).all()  # fmt: skip
    finally:
        await engine.dispose()
    rng = random.Random(seed_value)
    return [(int(r[0]), int(r[1])) for r in rng.sample(rows, min(n, len(rows)))]


def plan(db: Database, sizes: Sizes, samples: int, seed_value: int) -> dict[str, Any]:
    """The request paths of every timed endpoint (`samples` each, cycled when fewer distinct ones)."""
    picks = asyncio.run(_sample_ids(db, samples, seed_value))
    rng = random.Random(seed_value)
    lists = {
        "list: mine (open)": "/api/v1/conversations?assignee=me",
        "list: unassigned (open)": "/api/v1/conversations?assignee=none",
        "list: per inbox (open)": [f"/api/v1/conversations?inbox={i}" for i in MY_INBOXES],
        "list: all open": "/api/v1/conversations?status=open",
        "list: pending": "/api/v1/conversations?status=pending",
        "list: resolved": "/api/v1/conversations?status=resolved",
    }
    numbers = [f"%23{ORDER_BASE + rng.randrange(sizes.orders)}" for _ in range(samples)]
    return {
        "lists": lists,
        "next_page": ["/api/v1/conversations?status=resolved", "/api/v1/conversations?assignee=none",
                      "/api/v1/conversations?status=open"],
        "threads": [p[0] for p in picks],
        "customers": [p[1] for p in picks],
        "search_common": [f"/api/v1/search?q={w}" for w in COMMON_WORDS],
        "search_very_common": [f"/api/v1/search?q={VERY_COMMON_WORD}"],
        "search_order": [f"/api/v1/search?q={n}" for n in numbers],
    }  # fmt: skip


# --- the client (own process) -----------------------------------------------------------------------


async def run_client(url: str, token: str, requests: dict[str, Any], warmup: int, samples: int) -> dict[str, Any]:
    """Sequential requests on one keep-alive connection; latency and SQL statements per endpoint."""
    import aiohttp

    timings: dict[str, list[float]] = {}
    statements: dict[str, dict[int, int]] = {}
    sizes: dict[str, int] = {}
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(url, connector=connector, headers={"Authorization": f"Bearer {token}"}) as http:

        async def get(path: str, name: str | None) -> tuple[float, Any]:
            started = time.perf_counter()
            async with http.get(path) as response:
                body = await response.read()
                elapsed = time.perf_counter() - started
                if response.status != 200:
                    raise RuntimeError(f"{path}: {response.status} {body[:300]!r}")
                if name is not None and counted:
                    count = int(response.headers.get("x-sql-statements", "-1"))
                    tally = statements.setdefault(name, {})
                    tally[count] = tally.get(count, 0) + 1
                    sizes[name] = len(body)
            return elapsed, body

        steps = _steps(requests)
        counted = False
        for k in range(warmup + samples):
            counted = k >= warmup
            for name, step in steps:
                elapsed = await step(get, k)
                if k >= warmup:
                    timings.setdefault(name, []).append(elapsed)
    return {
        name: {**summary_ms(values), "sql_statements": _statement_summary(statements.get(name, {})),
               "response_bytes": sizes.get(name)}
        for name, values in timings.items()
    }  # fmt: skip


def _statement_summary(tally: dict[int, int]) -> dict[str, Any]:
    """The usual count per request, the most seen, and how often each count occurred.

    Every 5 s per process the bearer token is looked up again (agent cache expiry): that request runs
    two more statements (the token lookup and its `last_used_at` touch).
    """
    if not tally:
        return {}
    usual = max(tally, key=lambda n: tally[n])
    return {"usual": usual, "max": max(tally), "counts": {str(k): v for k, v in sorted(tally.items())}}


def _steps(requests: dict[str, Any]) -> list[tuple[str, Any]]:
    """(endpoint name, async step(get, k) -> seconds) for every timed endpoint."""
    steps: list[tuple[str, Any]] = []

    def simple(name: str, paths: list[str]) -> None:
        async def step(get: Any, k: int) -> float:
            return float((await get(paths[k % len(paths)], name))[0])

        steps.append((name, step))

    steps.append(("baseline: GET /healthz", lambda get, k: _first(get("/healthz", None))))
    for name, paths in requests["lists"].items():
        simple(name, paths if isinstance(paths, list) else [paths])

    async def next_page(get: Any, k: int) -> float:
        first = requests["next_page"][k % len(requests["next_page"])]
        _, body = await get(first, None)
        cursor = json.loads(body)["next_cursor"]
        if cursor is None:  # a small (smoke) database: page by one row instead
            first += "&limit=1"
            cursor = json.loads((await get(first, None))[1])["next_cursor"]
        return float((await get(f"{first}&cursor={cursor}", "list: next page (cursor)"))[0])

    steps.append(("list: next page (cursor)", next_page))
    threads, customers = requests["threads"], requests["customers"]
    simple("thread: GET conversation", [f"/api/v1/conversations/{t}" for t in threads])
    simple("thread: GET customer + orders", [f"/api/v1/customers/{c}" for c in customers])

    async def open_thread(get: Any, k: int) -> float:
        # What the console does when an agent clicks a row: the thread, then the profile beside it.
        index = (k * 7 + 3) % len(threads)
        a, _ = await get(f"/api/v1/conversations/{threads[index]}", None)
        b, _ = await get(f"/api/v1/customers/{customers[index]}", None)
        return float(a + b)

    steps.append(("thread open (conversation + customer)", open_thread))
    simple("search: common word (~3 %)", requests["search_common"])
    simple(f"search: '{VERY_COMMON_WORD}' (very common)", requests["search_very_common"])
    simple("search: order number", requests["search_order"])
    return steps


async def _first(awaitable: Any) -> float:
    return float((await awaitable)[0])


def client_process(url: str, token: str, requests: dict[str, Any], warmup: int, samples: int) -> dict[str, Any]:
    """Run the client in its own Python process (it never shares a core's event loop with the hub)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump({"url": url, "token": token, "requests": requests, "warmup": warmup, "samples": samples}, fh)
    code = (
        "import asyncio, json; from bench.console import run_client; "
        f"a = json.load(open({fh.name!r})); "
        "print(json.dumps(asyncio.run(run_client(a['url'], a['token'], a['requests'], a['warmup'], a['samples']))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=1800, cwd=REPO)
    Path(fh.name).unlink(missing_ok=True)
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


# --- one backend ------------------------------------------------------------------------------------


def bench_backend(args: argparse.Namespace, backend: str, workdir: Path) -> dict[str, Any]:
    sizes = Sizes.scaled(args.conversations if backend == "postgres" else args.sqlite_conversations)
    tokens, hashes = _tokens()
    with database(backend, workdir) as db:
        seeded = seed(db, sizes, hashes, args.seed)
        print(f"  seeded {sizes.conversations:,} conversations / {sizes.messages:,} messages / "
              f"{sizes.customers:,} customers / {sizes.orders:,} orders on {backend} in {seeded['seconds']} s "
              f"({', '.join(f'{k} {v}' for k, v in seeded.items() if k.endswith('_s'))})", flush=True)  # fmt: skip
        requests = plan(db, sizes, args.samples, args.seed)
        env = hub_env(
            db, workdir, redis=backend == "postgres", namespace=f"benchconsole{random.randint(0, 10**6)}",
            extra={"OMNIHUB_INPROCESS_WORKER": "false", "OMNIHUB_DEBUG_SQL_COUNT": "true"},
        )  # fmt: skip
        server = start_server(env, free_port(), 1, workdir / f"serve-console-{backend}.log")
        try:
            figures = client_process(server.url, tokens["agent"], requests, args.warmup, args.samples)
        finally:
            server.stop()
    return {
        "backend": "PostgreSQL" if backend == "postgres" else "SQLite (embedded default)",
        "sizes": sizes.__dict__,
        "seed": seeded,
        "client": "aiohttp in a separate process, one keep-alive connection, sequential requests",
        "server": "omnihub serve, 1 worker process (uvicorn), OMNIHUB_DEBUG_SQL_COUNT=true",
        "samples": args.samples,
        "warmup": args.warmup,
        "endpoints": figures,
        "goals": goals(figures),
    }


def goals(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """Each goal of the issue: the figure, the target, met or not."""
    lists = [v for k, v in figures.items() if k.startswith("list:")]
    worst_list = max(lists, key=lambda v: v["p95_ms"])
    statements = max(v["sql_statements"]["usual"] for v in figures.values() if v["sql_statements"])
    rows = [
        ("conversation list p95 (worst view)", worst_list["p95_ms"], GOALS["list"], "ms"),
        ("thread open p95 (conversation + customer)", figures["thread open (conversation + customer)"]["p95_ms"],
         GOALS["thread_open"], "ms"),
        ("search order number p95", figures["search: order number"]["p95_ms"], GOALS["search_order"], "ms"),
        ("search common word p95", figures["search: common word (~3 %)"]["p95_ms"], GOALS["search_common"], "ms"),
        ("SQL statements per request (usual, worst endpoint)", statements, GOALS["statements"], ""),
    ]  # fmt: skip
    return [{"goal": g, "value": v, "target": t, "unit": u, "met": v <= t} for g, v, t, u in rows]


def print_run(run: dict[str, Any]) -> None:
    print(f"\n== console read paths on {run['backend']}: {run['sizes']['conversations']:,} conversations, "
          f"{run['sizes']['messages']:,} messages (seeded in {run['seed']['seconds']} s) ==")  # fmt: skip
    print(f"  {'endpoint':44} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  SQL   bytes")
    for name, f in run["endpoints"].items():
        counts = f["sql_statements"]
        sql = (f"{counts['usual']}" + (f"-{counts['max']}" if counts["max"] != counts["usual"] else "")) if counts else "-"
        print(f"  {name:44} {f['p50_ms']:>8} {f['p95_ms']:>8} {f['p99_ms']:>8}  {sql:5} {f['response_bytes'] or ''}")
    for g in run["goals"]:
        print(f"  goal: {g['goal']:44} {g['value']}{g['unit']} (target ≤ {g['target']}{g['unit']}): "
              f"{'met' if g['met'] else 'MISSED'}")  # fmt: skip


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.console", description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["postgres", "sqlite", "both"], default="both")
    parser.add_argument("--conversations", type=int, default=100_000,
                        help="PostgreSQL size: conversations (messages x10, customers /2, orders x1)")
    parser.add_argument("--sqlite-conversations", type=int, default=10_000, help="SQLite size (100,000 messages)")
    parser.add_argument("--samples", type=int, default=200, help="timed requests per endpoint")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per endpoint first")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for CI")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    if args.smoke:
        args.conversations, args.sqlite_conversations, args.samples, args.warmup = 300, 300, 5, 1
    backends = ["postgres", "sqlite"] if args.backend == "both" else [args.backend]
    results: dict[str, Any] = {"bench": "console", "machine": machine(), "runs": [],
                               "common_share_target": COMMON_SHARE, "inboxes": [k for k, _ in INBOXES]}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="omnihub-bench-") as tmp:
        for backend in backends:
            run = bench_backend(args, backend, Path(tmp))
            results["runs"].append(run)
            print_run(run)
    write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
