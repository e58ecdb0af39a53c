"""Outbound benchmark: agent replies through the queue to a local fake provider, with transient failures.

Run ``python -m bench.outbound --help``. The provider is the `api` channel's `callback_url`, served by a
small aiohttp server in its own process that answers 503 to the first attempt of 10 % of the messages
(a transient failure: retried with backoff) and 200 otherwise, and records every request by message id.

Two set-ups:
- **saq**: PostgreSQL + Redis, `omnihub worker` as its own process (SAQ). First *pickup*: replies queued
  through the domain (`queue_reply` + commit, as the API does) at a modest fixed rate while the worker
  idles; then *throughput*: N replies queued while the worker is stopped, then the worker starts and
  drains them;
- **inprocess**: the embedded default (SQLite, `omnihub serve` running the in-process queue), replies
  queued through the API (`POST /api/v1/conversations/{id}/messages`), at a fixed rate, then a burst.

Pickup latency = the provider's clock at a message's first attempt minus the message row's `created_at`
(set by `queue_reply` just before its INSERT; the commit follows within a millisecond or two). Replies/s =
first attempts per second at the provider while draining (the worker's capacity), and all-sent/s = N over
the time until every row is `sent` (includes the retry delay of the 10 %). Every run checks that all N are
`sent` and that the provider accepted each message exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import (
    REPO,
    SECRET_KEY,
    Database,
    cpu_seconds,
    database,
    free_port,
    hub_env,
    machine,
    machine_busy,
    service_pids,
    start_server,
    summary_ms,
    write_json,
)

HMAC_SECRET = "bench-outbound-secret"
GOAL_RATE = 500.0
GOAL_PICKUP_MS = 50.0


# --- the fake provider (own process) ----------------------------------------------------------------


def run_provider(port: int, fail_share: float, seed: int) -> None:
    """The `callback_url`: 503 on the first attempt of `fail_share` of the messages, else 200; `/stats`."""
    from aiohttp import web

    attempts: dict[int, list[float]] = {}
    accepted: dict[int, int] = {}
    rejected = [0]

    def transient(message_id: int) -> bool:
        digest = hashlib.sha256(f"{seed}:{message_id}".encode()).digest()
        return digest[0] < 256 * fail_share

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        expected = "sha256=" + hmac.new(HMAC_SECRET.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("X-Omnihub-Signature", "")):
            rejected[0] += 1
            return web.Response(status=401)
        message_id = int(json.loads(body)["id"])
        seen = attempts.setdefault(message_id, [])
        seen.append(time.time())
        if len(seen) == 1 and transient(message_id):
            return web.Response(status=503, text="try again")
        accepted[message_id] = accepted.get(message_id, 0) + 1
        return web.json_response({"external_id": f"fake-{message_id}"})

    async def stats(_: web.Request) -> web.Response:
        return web.json_response({"attempts": {str(k): v for k, v in attempts.items()},
                                  "accepted": {str(k): v for k, v in accepted.items()}, "bad_signature": rejected[0]})  # fmt: skip

    async def reset(_: web.Request) -> web.Response:
        attempts.clear()
        accepted.clear()
        return web.json_response({"ok": True})

    app = web.Application()
    app.add_routes([web.post("/callback", receive), web.get("/stats", stats), web.post("/reset", reset)])
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


def _get_json(url: str, method: str = "GET") -> Any:
    import urllib.request

    with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=30) as response:
        return json.loads(response.read())


def _wait_http(url: str, timeout: float = 30) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


# --- seeding ----------------------------------------------------------------------------------------


async def seed(db: Database, callback_url: str, conversations: int) -> dict[str, Any]:
    """An api inbox whose callback is the fake provider, an agent (+ token), customers with open threads."""
    import sqlalchemy as sa

    from conversation.agents import TOKEN_PREFIX, hash_token
    from conversation.inboxes import create_inbox
    from conversation.models import Agent, ApiToken, Conversation, Customer, Identity, InboxMember, Message, utcnow
    from conversation.secretbox import SecretBox
    from conversation.uow import UnitOfWork
    from hub.channel_specs import channel_specs
    from hub.storage.engine import create_engine, create_session_factory

    engine = create_engine(db.url)
    now = utcnow()
    token = TOKEN_PREFIX + secrets.token_urlsafe(24)
    try:
        async with UnitOfWork(create_session_factory(engine)()) as uow:
            inbox = await create_inbox(
                uow, kind="api", name="outbound bench", settings={"hmac_secret": HMAC_SECRET, "callback_url": callback_url},
                spec=channel_specs()["api"], box=SecretBox(SECRET_KEY),
            )  # fmt: skip
            await uow.commit()
        inbox_id = int(inbox.id or 0)
        async with engine.begin() as c:
            agent_id = (await c.execute(sa.insert(Agent.__table__).values(  # type: ignore[attr-defined]
                email="sam@outbound.example", name="Sam", role="agent", password_hash="!", is_active=True,
                created_at=now).returning(Agent.__table__.c.id))).scalar_one()  # type: ignore[attr-defined]  # fmt: skip
            await c.execute(sa.insert(ApiToken.__table__).values(agent_id=agent_id, name="bench",  # type: ignore[attr-defined]
                                                                 token_hash=hash_token(token), created_at=now))  # fmt: skip
            await c.execute(sa.insert(InboxMember.__table__).values(inbox_id=inbox_id, agent_id=agent_id))  # type: ignore[attr-defined]
            ids = range(1, conversations + 1)
            await c.execute(sa.insert(Customer.__table__), [  # type: ignore[attr-defined]
                {"id": i, "name": f"Customer {i}", "attributes": {}, "created_at": now, "updated_at": now} for i in ids])
            await c.execute(sa.insert(Identity.__table__), [  # type: ignore[attr-defined]
                {"id": i, "customer_id": i, "channel_kind": "api", "address": f"out-{i}", "verified": True, "extra": {},
                 "created_at": now} for i in ids])
            await c.execute(sa.insert(Conversation.__table__), [  # type: ignore[attr-defined]
                {"id": i, "inbox_id": inbox_id, "customer_id": i, "status": "open", "priority": "none",
                 "ref_token": f"out{i:08d}", "channels": ["api"], "tags": [], "unread_count": 1, "message_count": 1,
                 "bot_state": {}, "created_at": now, "updated_at": now, "last_activity_at": now, "last_message_id": i,
                 "last_message_text": "hello?", "last_message_direction": "inbound", "last_message_channel": "api",
                 "last_message_author_type": "customer", "waiting_since": now, "last_inbound_at": now} for i in ids])
            await c.execute(sa.insert(Message.__table__), [  # type: ignore[attr-defined]
                {"id": i, "conversation_id": i, "inbox_id": inbox_id, "channel": "api", "direction": "inbound",
                 "author_type": "customer", "author_id": i, "identity_id": i, "text": "hello?", "external_id": f"in-{i}",
                 "status": "received", "attempts": 0, "raw": {}, "meta": {}, "created_at": now} for i in ids])  # fmt: skip
            if db.is_postgres:
                for table in ("customer", "identity", "conversation", "message"):
                    await c.execute(sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
    finally:
        await engine.dispose()
    return {"inbox_id": inbox_id, "agent_id": agent_id, "token": token, "conversations": conversations}


# --- queueing replies ----------------------------------------------------------------------------------


async def queue_through_domain(
    db: Database, env: dict[str, str], world: dict[str, Any], count: int, rate: float | None, concurrency: int = 16
) -> dict[str, Any]:
    """`queue_reply` + commit per reply (what the API does), from this process; `rate` None = flat out."""
    from conversation.replies import Author, queue_reply
    from conversation.types import AuthorType
    from hub.config import load_settings
    from hub.services import create_services

    settings = load_settings(database_url=db.url, redis_url=env.get("OMNIHUB_REDIS_URL"),
                             redis_namespace=env["OMNIHUB_REDIS_NAMESPACE"], secret_key=SECRET_KEY,
                             var_dir=Path(env["OMNIHUB_VAR_DIR"]), auto_migrate=False)  # fmt: skip
    services = create_services(settings)
    author = Author(AuthorType.AGENT, world["agent_id"], "Sam")
    started = time.perf_counter()
    semaphore = asyncio.Semaphore(concurrency)

    async def one(k: int) -> None:
        async with semaphore, services.uow() as uow:
            conversation = 1 + k % world["conversations"]
            await queue_reply(uow, conversation, author, f"reply {k}: your parcel left the warehouse today")
            await uow.commit()

    try:
        async with services.channels:  # events reach consoles, as from the API
            tasks = []
            for k in range(count):
                if rate:
                    delay = started + k / rate - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(k)))
            await asyncio.gather(*tasks)
    finally:
        await services.close()
    elapsed = time.perf_counter() - started
    return {"queued": count, "seconds": round(elapsed, 2), "queue_rate": round(count / elapsed, 1)}


async def queue_through_api(url: str, world: dict[str, Any], count: int, rate: float | None) -> dict[str, Any]:
    """`POST /api/v1/conversations/{id}/messages` per reply (8 connections); `rate` None = flat out."""
    import aiohttp

    headers = {"Authorization": f"Bearer {world['token']}"}
    started = time.perf_counter()
    statuses: dict[int, int] = {}
    semaphore = asyncio.Semaphore(8)
    async with aiohttp.ClientSession(url, headers=headers, connector=aiohttp.TCPConnector(limit=8)) as http:

        async def one(k: int) -> None:
            async with semaphore:
                path = f"/api/v1/conversations/{1 + k % world['conversations']}/messages"
                async with http.post(path, json={"text": f"reply {k}: your parcel left today"}) as response:
                    await response.read()
                    statuses[response.status] = statuses.get(response.status, 0) + 1

        tasks = []
        for k in range(count):
            if rate:
                delay = started + k / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(k)))
        await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    return {"queued": count, "seconds": round(elapsed, 2), "queue_rate": round(count / elapsed, 1),
            "statuses": statuses}  # fmt: skip


async def _outbound_rows(db: Database, after_id: int) -> list[tuple[int, str, datetime]]:
    import sqlalchemy as sa

    from hub.storage.engine import create_engine

    engine = create_engine(db.url)
    try:
        async with engine.connect() as c:
            rows = (await c.execute(sa.text(
                "SELECT id, status, created_at FROM message WHERE direction = 'outbound' AND id > :after ORDER BY id"
            ).bindparams(after=after_id))).all()  # fmt: skip
    finally:
        await engine.dispose()
    return [(int(r[0]), str(r[1]), _aware(r[2])) for r in rows]


def _aware(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def wait_all_sent(db: Database, after_id: int, count: int, timeout: float) -> tuple[float, list[Any]]:
    """Poll until `count` outbound rows after `after_id` are `sent`; (time.time() then, the rows)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = asyncio.run(_outbound_rows(db, after_id))
        if len(rows) >= count and all(r[1] == "sent" for r in rows):
            return time.time(), rows
        if time.monotonic() > deadline:
            pending: dict[str, int] = {}
            for r in rows:
                pending[r[1]] = pending.get(r[1], 0) + 1
            raise RuntimeError(f"not all sent after {timeout} s: {len(rows)} rows, statuses {pending}")
        time.sleep(0.2)


def check(rows: list[Any], stats: dict[str, Any], count: int) -> dict[str, Any]:
    """Every reply sent exactly once (the provider accepted each id once), and the pickup latencies."""
    ids = [r[0] for r in rows]
    accepted = stats["accepted"]
    twice = sum(1 for i in ids if accepted.get(str(i), 0) > 1)
    never = sum(1 for i in ids if accepted.get(str(i), 0) == 0)
    attempts = stats["attempts"]
    pickups = [attempts[str(i)][0] - r[2].timestamp() for i, r in zip(ids, rows, strict=True) if str(i) in attempts]
    retried = sum(1 for i in ids if len(attempts.get(str(i), [])) > 1)
    firsts = sorted(attempts[str(i)][0] for i in ids if str(i) in attempts)
    return {
        "replies": len(ids),
        "all_sent": len(ids) == count and never == 0,
        "delivered_twice": twice,
        "never_accepted": never,
        "retried_after_503": retried,
        "pickup": summary_ms(pickups),
        "first_attempts": firsts,
        "bad_signature": stats["bad_signature"],
    }


def _drain_rate(firsts: list[float]) -> float:
    """First attempts per second at the provider, between the 2nd and 98th percentile (no start-up/tail)."""
    if len(firsts) < 10:
        return float("nan")
    lo, hi = firsts[int(len(firsts) * 0.02)], firsts[int(len(firsts) * 0.98) - 1]
    return round((int(len(firsts) * 0.98) - 1 - int(len(firsts) * 0.02)) / max(hi - lo, 1e-6), 1)


# --- the two set-ups --------------------------------------------------------------------------------------


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "worker"], cwd=REPO, env=env, stdout=log.open("ab"),
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    time.sleep(2.0)  # import + connect; the first jobs wait in Redis meanwhile
    if process.poll() is not None:
        raise RuntimeError(f"omnihub worker exited: {log.read_text()[-2000:]}")
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _provider(workdir: Path, args: argparse.Namespace) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", f"from bench.outbound import run_provider; run_provider({port}, {args.fail_share}, {args.seed})"],
        cwd=REPO, text=True, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    _wait_http(f"{url}/stats")
    return process, url


def bench_saq(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    provider, provider_url = _provider(workdir, args)
    try:
        with database("postgres", workdir) as db:
            world = asyncio.run(seed(db, f"{provider_url}/callback", args.conversations))
            env = hub_env(db, workdir, redis=True, namespace=f"benchout{random.randint(0, 10**6)}",
                          extra={"OMNIHUB_SEND_RETRY_BASE_SECONDS": str(args.retry_base)})
            log = workdir / "worker-saq.log"
            # Pickup: the worker idles, replies arrive at a modest rate.
            worker = _start_worker(env, log)
            try:
                queued = asyncio.run(queue_through_domain(db, env, world, args.pickup_count, args.pickup_rate))
                _, rows = wait_all_sent(db, world["conversations"], args.pickup_count, args.timeout)
            finally:
                _stop(worker)
            pickup = check(rows, _get_json(f"{provider_url}/stats"), args.pickup_count)
            last_id = rows[-1][0]
            _get_json(f"{provider_url}/reset", "POST")
            # Throughput: a backlog of N, then one worker process drains it.
            backlog = asyncio.run(queue_through_domain(db, env, world, args.replies, None))
            started = time.time()
            worker = _start_worker(env, log)
            try:
                before = _cpu(db, last_id, worker.pid, provider.pid)
                done, rows = wait_all_sent(db, last_id, args.replies, args.timeout)
                cpu = _cpu_used(before, _cpu(db, last_id, worker.pid, provider.pid))
            finally:
                _stop(worker)
            drained = check(rows, _get_json(f"{provider_url}/stats"), args.replies)
            drained["cpu"] = cpu
    finally:
        provider.terminate()
        provider.wait(10)
    return _report("saq", "PostgreSQL + Redis, `omnihub worker` (SAQ), 1 process, concurrency 20",
                   queued, pickup, backlog, drained, done - (drained["first_attempts"] or [started])[0], args)  # fmt: skip


def _cpu(db: Database, after_id: int, worker: int, provider: int) -> dict[str, Any]:
    rows = asyncio.run(_outbound_rows(db, after_id))
    return {
        "at": time.monotonic(), "sent": sum(1 for r in rows if r[1] == "sent"), "worker": cpu_seconds([worker]),
        "provider": cpu_seconds([provider]), "services": cpu_seconds(service_pids(db.name)),
        "machine": machine_busy()[0],
    }  # fmt: skip


def _cpu_used(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
    """While draining: the worker's CPU per reply, and the cores each part kept busy."""
    wall, sent = after["at"] - before["at"], max(1, after["sent"] - before["sent"])
    return {
        "worker_ms_per_reply": round((after["worker"] - before["worker"]) / sent * 1000, 2),
        "worker_cores": round((after["worker"] - before["worker"]) / wall, 2),
        "postgres_redis_cores": round((after["services"] - before["services"]) / wall, 2),
        "provider_cores": round((after["provider"] - before["provider"]) / wall, 2),
        "machine_cores": round((after["machine"] - before["machine"]) / wall, 2),
    }


def bench_inprocess(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    provider, provider_url = _provider(workdir, args)
    try:
        with database("sqlite", workdir) as db:
            world = asyncio.run(seed(db, f"{provider_url}/callback", args.conversations))
            env = hub_env(db, workdir, redis=False, namespace="benchout",
                          extra={"OMNIHUB_SEND_RETRY_BASE_SECONDS": str(args.retry_base)})
            server = start_server(env, free_port(), 1, workdir / "serve-outbound.log")
            try:
                queued = asyncio.run(queue_through_api(server.url, world, args.pickup_count, args.inprocess_pickup_rate))
                _, rows = wait_all_sent(db, world["conversations"], args.pickup_count, args.timeout)
                pickup = check(rows, _get_json(f"{provider_url}/stats"), args.pickup_count)
                last_id = rows[-1][0]
                _get_json(f"{provider_url}/reset", "POST")
                started = time.time()
                before = _cpu(db, last_id, server.process.pid, provider.pid)
                backlog = asyncio.run(queue_through_api(server.url, world, args.replies, None))
                done, rows = wait_all_sent(db, last_id, args.replies, args.timeout)
                cpu = _cpu_used(before, _cpu(db, last_id, server.process.pid, provider.pid))
                drained = check(rows, _get_json(f"{provider_url}/stats"), args.replies)
                drained["cpu"] = cpu  # the serve process takes the API calls and sends: CPU for both
            finally:
                server.stop()
    finally:
        provider.terminate()
        provider.wait(10)
    return _report("inprocess", "SQLite, `omnihub serve` with the in-process queue (embedded default), via the API",
                   queued, pickup, backlog, drained, done - started, args)  # fmt: skip


def _report(
    mode: str, setup: str, queued: dict[str, Any], pickup: dict[str, Any], backlog: dict[str, Any],
    drained: dict[str, Any], all_sent_s: float, args: argparse.Namespace,
) -> dict[str, Any]:  # fmt: skip
    rate = _drain_rate(drained.pop("first_attempts"))
    pickup.pop("first_attempts")
    ok = pickup["all_sent"] and drained["all_sent"] and not pickup["delivered_twice"] and not drained["delivered_twice"]
    return {
        "mode": mode,
        "setup": setup,
        "fail_share": args.fail_share,
        "pickup_phase": {
            "rate": args.inprocess_pickup_rate if mode == "inprocess" else args.pickup_rate, "queueing": queued, **pickup
        },
        "throughput_phase": {
            "queueing": backlog,
            **drained,
            "replies_per_s": rate,
            "all_sent_per_s": round(args.replies / max(all_sent_s, 1e-6), 1),
            "all_sent_s": round(all_sent_s, 2),
        },
        "ok": ok,
        "goals": [
            {"goal": "replies/s per worker process", "value": rate, "target": GOAL_RATE, "met": rate >= GOAL_RATE},
            {
                "goal": "pickup latency p95 (ms)",
                "value": pickup["pickup"]["p95_ms"],
                "target": GOAL_PICKUP_MS,
                "met": pickup["pickup"]["p95_ms"] <= GOAL_PICKUP_MS,
            },
        ],
    }


def print_run(r: dict[str, Any]) -> None:
    p, t = r["pickup_phase"], r["throughput_phase"]
    print(f"\n== outbound, {r['setup']} ==")
    print(f"  pickup      {p['replies']} replies at {p['rate']}/s: p50 {p['pickup']['p50_ms']} ms  p95 "
          f"{p['pickup']['p95_ms']} ms  p99 {p['pickup']['p99_ms']} ms")  # fmt: skip
    print(f"  throughput  {t['replies']} replies: {t['replies_per_s']} first attempts/s while draining, all sent in "
          f"{t['all_sent_s']} s ({t['all_sent_per_s']}/s incl. the retry delay); queued at "
          f"{t['queueing']['queue_rate']}/s")  # fmt: skip
    c = t.get("cpu")
    if c:
        print(f"  CPU         hub process {c['worker_ms_per_reply']} ms per reply ({c['worker_cores']} cores), PostgreSQL + "
              f"Redis {c['postgres_redis_cores']}, fake provider {c['provider_cores']}; whole machine "
              f"{c['machine_cores']} of {os.cpu_count()} cores")  # fmt: skip
    print(f"  checks      {'OK' if r['ok'] else 'FAILED'}: all sent {p['all_sent'] and t['all_sent']}, delivered twice "
          f"{p['delivered_twice'] + t['delivered_twice']}, retried after 503: {p['retried_after_503'] + t['retried_after_503']}")  # fmt: skip
    for g in r["goals"]:
        print(f"  goal        {g['goal']}: {g['value']} (target {g['target']}): {'met' if g['met'] else 'MISSED'}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.outbound", description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["saq", "inprocess", "both"], default="both")
    parser.add_argument("--replies", type=int, default=10000, help="backlog size of the throughput phase")
    parser.add_argument("--pickup-count", type=int, default=1000, help="replies of the pickup phase")
    parser.add_argument("--pickup-rate", type=float, default=100, help="replies/s of the pickup phase")
    parser.add_argument("--inprocess-pickup-rate", type=float, default=50,
                        help="replies/s of the in-process pickup phase: that one process answers the API and sends "
                             "(~100 replies/s in all here), and a pickup latency measured at saturation is a backlog")
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--fail-share", type=float, default=0.1, help="share of first attempts answered 503")
    parser.add_argument("--retry-base", type=float, default=2.0,
                        help="OMNIHUB_SEND_RETRY_BASE_SECONDS: first retry delay after a 503 (the default's 2 s)")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for CI")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    if args.smoke:
        args.replies, args.pickup_count, args.pickup_rate, args.conversations, args.timeout = 60, 20, 40, 20, 60
        args.inprocess_pickup_rate = 40
        args.retry_base = 0.2
    modes = ["saq", "inprocess"] if args.mode == "both" else [args.mode]
    results: dict[str, Any] = {"bench": "outbound", "machine": machine(), "runs": []}
    with tempfile.TemporaryDirectory(prefix="omnihub-bench-") as tmp:
        for mode in modes:
            run = (bench_saq if mode == "saq" else bench_inprocess)(args, Path(tmp))
            results["runs"].append(run)
            print_run(run)
    write_json(args.json, results)
    return results


if __name__ == "__main__":
    outcome = main()
    raise SystemExit(0 if all(r["ok"] for r in outcome["runs"]) else 1)
