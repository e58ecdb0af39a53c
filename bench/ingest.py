"""Ingest benchmark: signed webhooks (our `api` channel and Twilio SMS) through `omnihub serve`.

Run ``python -m bench.ingest --help``. For each backend (PostgreSQL + Redis with several worker
processes, and the embedded SQLite default) it seeds customers with open threads, pre-signs N webhook
requests (70 % from existing customers, 30 % from new ones), drives them with `wrk` in a separate
process at full speed, then at a fixed rate with an open-loop asyncio generator, and finally VERIFIES in
the database that every accepted message was stored exactly once, in the right thread.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.common import (
    PUBLIC_URL,
    SECRET_KEY,
    Database,
    Server,
    database,
    free_port,
    hub_env,
    machine,
    start_server,
    summary_ms,
    write_json,
)

API_SECRET = "bench-api-secret"
TWILIO_TOKEN = "bench-twilio-token"
WRK_SCRIPT = Path(__file__).with_name("wrk_requests.lua")


@dataclass
class Plan:
    """The pre-signed requests and what each one must produce."""

    requests: list[dict[str, str]] = field(default_factory=list)  # path, ctype, sig_name, sig, body, ext
    seeded_conversation: dict[str, int] = field(default_factory=dict)  # sender key -> its open conversation
    sender_of: dict[str, str] = field(default_factory=dict)  # external id -> sender key


def api_request(identifier: str, ext: str, text: str, inbox_id: int) -> dict[str, str]:
    body = json.dumps(
        {"contact": {"identifier": identifier, "name": f"Customer {identifier}"}, "text": text, "external_id": ext}
    )
    sig = "sha256=" + hmac.new(API_SECRET.encode(), body.encode(), hashlib.sha256).hexdigest()
    return {
        "path": f"/webhooks/api/{inbox_id}",
        "ctype": "application/json",
        "sig_name": "X-Omnihub-Signature",
        "sig": sig,
        "body": body,
        "ext": ext,
    }


def sms_request(phone: str, sid: str, text: str, inbox_id: int) -> dict[str, str]:
    params = {
        "ToCountry": "US", "SmsMessageSid": sid, "NumMedia": "0", "SmsSid": sid, "SmsStatus": "received", "Body": text,
        "To": "+15555550100", "NumSegments": "1", "MessageSid": sid, "AccountSid": "AC" + "b" * 32, "From": phone,
        "ApiVersion": "2010-04-01",
    }  # fmt: skip
    path = f"/webhooks/sms/{inbox_id}"
    signed = PUBLIC_URL + path + "".join(k + params[k] for k in sorted(params))
    sig = base64.b64encode(hmac.new(TWILIO_TOKEN.encode(), signed.encode(), hashlib.sha1).digest()).decode()
    return {
        "path": path,
        "ctype": "application/x-www-form-urlencoded",
        "sig_name": "X-Twilio-Signature",
        "sig": sig,
        "body": urlencode(params),
        "ext": sid,
    }


def phone_of(n: int) -> str:
    return f"+1555{n:07d}"


async def seed(db: Database, customers: int) -> tuple[int, int, dict[str, int]]:
    """Two inboxes and `customers` customers, each with an open conversation (half api, half SMS)."""
    import sqlalchemy as sa

    from conversation.inboxes import create_inbox
    from conversation.models import Conversation, Customer, Identity, Message
    from conversation.secretbox import SecretBox
    from conversation.uow import UnitOfWork
    from hub.channel_specs import channel_specs
    from hub.storage.engine import create_engine, create_session_factory

    engine = create_engine(db.url)
    sessions = create_session_factory(engine)
    box = SecretBox(SECRET_KEY)
    specs = channel_specs()
    async with UnitOfWork(sessions()) as uow:
        api = await create_inbox(
            uow, kind="api", name="bench api", settings={"hmac_secret": API_SECRET}, spec=specs["api"], box=box
        )
        sms_settings = {"account_sid": "AC" + "b" * 32, "auth_token": TWILIO_TOKEN, "phone_number": "+15555550100"}
        sms = await create_inbox(uow, kind="sms", name="bench sms", settings=sms_settings, spec=specs["sms"], box=box)
        await uow.commit()
    now = datetime.now(UTC)
    seeded: dict[str, int] = {}
    async with engine.begin() as connection:
        batch = 2000
        for start in range(0, customers, batch):
            ids = range(start + 1, min(customers, start + batch) + 1)
            await connection.execute(
                sa.insert(Customer.__table__),
                [  # type: ignore[attr-defined]
                    {"id": i, "name": f"Customer {i}", "attributes": {}, "created_at": now, "updated_at": now}
                    for i in ids
                ],
            )
            identities = []
            for i in ids:
                kind, address = ("api", f"cust-{i}") if i % 2 else ("sms", phone_of(i))
                identities.append(
                    {
                        "id": i,
                        "customer_id": i,
                        "channel_kind": kind,
                        "address": address,
                        "phone": address if kind == "sms" else None,
                        "verified": True,
                        "extra": {},
                        "created_at": now,
                    }
                )
                seeded[address] = i
            await connection.execute(sa.insert(Identity.__table__), identities)  # type: ignore[attr-defined]
            await connection.execute(
                sa.insert(Conversation.__table__),
                [  # type: ignore[attr-defined]
                    {
                        "id": i,
                        "inbox_id": api.id if i % 2 else sms.id,
                        "customer_id": i,
                        "status": "open",
                        "priority": "none",
                        "ref_token": f"seed{i:08d}",
                        "channels": ["api" if i % 2 else "sms"],
                        "tags": [],
                        "unread_count": 1,
                        "message_count": 1,
                        "bot_state": {},
                        "created_at": now,
                        "updated_at": now,
                        "last_activity_at": now,
                        "last_message_id": i,
                        "last_message_text": "hello",
                        "last_message_direction": "inbound",
                        "last_message_channel": "api" if i % 2 else "sms",
                        "last_message_author_type": "customer",
                    }
                    for i in ids
                ],
            )
            await connection.execute(
                sa.insert(Message.__table__),
                [  # type: ignore[attr-defined]
                    {
                        "id": i,
                        "conversation_id": i,
                        "inbox_id": api.id if i % 2 else sms.id,
                        "channel": "api" if i % 2 else "sms",
                        "direction": "inbound",
                        "author_type": "customer",
                        "author_id": i,
                        "identity_id": i,
                        "text": "hello",
                        "external_id": f"seed-{i}",
                        "status": "received",
                        "attempts": 0,
                        "raw": {},
                        "meta": {},
                        "created_at": now,
                    }
                    for i in ids
                ],
            )
        if db.is_postgres:  # explicit ids above: move the sequences past them
            for table in ("customer", "identity", "conversation", "message"):
                await connection.execute(
                    sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
                )
    await engine.dispose()
    return int(api.id or 0), int(sms.id or 0), seeded


def plan_requests(
    n: int, existing: int, api_inbox: int, sms_inbox: int, seeded: dict[str, int], rng: random.Random, tag: str
) -> Plan:
    """N requests: 70 % from existing customers, 30 % from new ones (some new ones write twice)."""
    plan = Plan(seeded_conversation=seeded)
    new_senders: list[tuple[str, str]] = []
    for k in range(n):
        ext_text = f"{tag} message {k}: where is my order {1000 + k % 9000}?"
        if rng.random() < 0.7:
            i = rng.randint(1, existing)
            kind, address = ("api", f"cust-{i}") if i % 2 else ("sms", phone_of(i))
        elif new_senders and rng.random() < 0.25:
            kind, address = rng.choice(new_senders)
        else:
            j = existing + 1 + len(new_senders) + (5_000_000 if tag == "rate" else 0)
            kind, address = ("api", f"new-{tag}-{j}") if j % 2 else ("sms", phone_of(j))
            new_senders.append((kind, address))
        ext = f"{tag}-{k}" if kind == "api" else "SM" + hashlib.md5(f"{tag}-{k}".encode()).hexdigest()
        request = (
            api_request(address, ext, ext_text, api_inbox)
            if kind == "api"
            else sms_request(address, ext, ext_text, sms_inbox)
        )
        plan.requests.append(request)
        plan.sender_of[ext] = address
    return plan


def write_requests_file(plan: Plan, path: Path) -> None:
    """The requests for wrk's script, one per line, tab separated (bodies never hold tabs or newlines)."""
    with path.open("w") as out:
        for r in plan.requests:
            fields = [r[k] for k in ("path", "ctype", "sig_name", "sig", "body")]
            assert not any("\t" in f or "\n" in f for f in fields)
            out.write("\t".join(fields) + "\n")


def run_wrk(url: str, requests_file: Path, connections: int, duration: float, threads: int) -> dict[str, Any]:
    """Drive the requests with wrk; returns wrk's figures plus how many requests each thread issued."""
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{duration:.0f}s", "--timeout", "10s", "-s", str(WRK_SCRIPT), url,
    ]  # fmt: skip
    env = {"REQUESTS_FILE": str(requests_file), "WRK_THREADS": str(threads), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=duration + 120)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed: {result.stdout[-2000:]} {result.stderr[-2000:]}")
    figures = json.loads(lines[-1])
    if figures["exhausted"]:
        raise RuntimeError("wrk ran out of pre-signed requests: raise --messages or lower --duration")
    return figures


async def open_loop(url: str, requests: list[dict[str, str]], rate: float) -> dict[str, Any]:
    """Send at a fixed rate regardless of answers (like real providers); latency of every request."""
    import aiohttp

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(base_url=url, connector=connector) as session:

        async def one(r: dict[str, str]) -> None:
            started = time.perf_counter()
            async with session.post(
                r["path"], data=r["body"].encode(), headers={"Content-Type": r["ctype"], r["sig_name"]: r["sig"]}
            ) as resp:
                await resp.read()
                statuses[resp.status] = statuses.get(resp.status, 0) + 1
            latencies.append(time.perf_counter() - started)

        tasks = []
        start = time.perf_counter()
        late = 0.0
        for k, request in enumerate(requests):
            due = start + k / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                late = max(late, -delay)
            tasks.append(asyncio.create_task(one(request)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    return {"rate_target": rate, "achieved_rate": round(len(requests) / elapsed, 1), "statuses": statuses,
            "latency": summary_ms(latencies), "generator_max_lag_ms": round(late * 1000, 1)}  # fmt: skip


def run_open_loop(url: str, plan: Plan, rate: float) -> dict[str, Any]:
    """The fixed-rate generator in its own process (so it never competes with our event loop)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(plan.requests, fh)
    code = (
        "import asyncio, json, sys; from bench.ingest import open_loop; "
        f"reqs = json.load(open({fh.name!r})); print(json.dumps(asyncio.run(open_loop({url!r}, reqs, {rate}))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=Path(__file__).resolve().parents[1]
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


async def verify(db: Database, plan: Plan, issued: set[str], accepted: int) -> dict[str, Any]:
    """Every accepted message stored once, nothing stored that was not sent, each in its sender's thread."""
    import sqlalchemy as sa

    from conversation.models import Identity, Message
    from hub.storage.engine import create_engine

    engine = create_engine(db.url)
    try:
        async with engine.connect() as connection:
            rows = (await connection.execute(
                sa.select(Message.external_id, Message.conversation_id, Identity.address)  # type: ignore[call-overload]
                .join(Identity, Identity.id == Message.identity_id)
                .where(~Message.external_id.startswith("seed-"), Message.direction == "inbound")  # type: ignore[union-attr]
            )).all()  # fmt: skip
    finally:
        await engine.dispose()
    rows = [r for r in rows if r[0] in plan.sender_of]  # this plan's messages (the fixed-rate run's are others)
    stored = [r[0] for r in rows]
    threads_by_sender: dict[str, set[int]] = {}
    wrong_thread = wrong_sender = 0
    for ext, conversation_id, address in rows:
        sender = plan.sender_of[ext]
        wrong_sender += address != sender
        threads_by_sender.setdefault(sender, set()).add(conversation_id)
        seeded = plan.seeded_conversation.get(sender)
        wrong_thread += seeded is not None and conversation_id != seeded
    split = sum(1 for threads in threads_by_sender.values() if len(threads) > 1)
    unexpected = len(set(stored) - issued)
    ok = (
        len(stored) == len(set(stored)) and unexpected == 0 and wrong_thread == 0 and split == 0 and wrong_sender == 0
        and accepted <= len(stored) <= len(issued)
    )  # fmt: skip
    return {
        "issued": len(issued), "accepted_2xx": accepted, "stored": len(stored), "duplicates": len(stored) - len(set(stored)),
        "stored_but_never_sent": unexpected, "in_wrong_thread": wrong_thread, "senders_split_over_threads": split,
        "wrong_identity": wrong_sender, "ok": ok,
    }  # fmt: skip


def sample_rss(server: Server, stop: threading.Event, peak: list[int]) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], max(server.per_process_rss() or [0]))
        peak[1] = max(peak[1], server.rss_bytes())
        time.sleep(0.25)


def bench_backend(args: argparse.Namespace, backend: str, workdir: Path) -> dict[str, Any]:
    redis = backend == "postgres"
    workers = args.workers if redis else 1
    rng = random.Random(args.seed)
    with database(backend, workdir) as db:
        api_inbox, sms_inbox, seeded = asyncio.run(seed(db, args.customers))
        full = plan_requests(args.messages, args.customers, api_inbox, sms_inbox, seeded, rng, "full")
        lua = workdir / f"requests-{backend}.tsv"
        write_requests_file(full, lua)
        env = hub_env(
            db,
            workdir,
            redis=redis,
            namespace=f"bench{random.randint(0, 10**6)}",
            extra={"OMNIHUB_INPROCESS_WORKER": "false"},
        )
        server = start_server(env, free_port(), workers, workdir / f"serve-{backend}.log")
        peak = [0, 0]
        stop = threading.Event()
        sampler = threading.Thread(target=sample_rss, args=(server, stop, peak), daemon=True)
        sampler.start()
        try:
            wrk = run_wrk(server.url, lua, args.connections, args.duration, args.wrk_threads)
            issued = {r["ext"] for r in _issued(full, wrk)}
            checks = asyncio.run(verify(db, full, issued, wrk["ok"]))
            rate_plan = plan_requests(
                int(args.rate * args.rate_seconds), args.customers, api_inbox, sms_inbox, seeded, rng, "rate"
            )
            fixed = run_open_loop(server.url, rate_plan, args.rate)
        finally:
            stop.set()
            sampler.join(2)
            server.stop()
    return {
        "backend": "PostgreSQL + Redis" if redis else "SQLite (embedded default)",
        "workers": workers,
        "connections": args.connections,
        "throughput_msg_s": round(wrk["ok"] / wrk["duration_s"], 1),
        "wrk": wrk,
        "verification": checks,
        "fixed_rate": fixed,
        "peak_rss_mb_per_process": round(peak[0] / 2**20, 1),
        "peak_rss_mb_all_processes": round(peak[1] / 2**20, 1),
    }


def _issued(plan: Plan, wrk: dict[str, Any]) -> list[dict[str, str]]:
    """The requests wrk actually sent: thread t sends indexes t, t+T, t+2T, ... (see wrk_requests.lua)."""
    threads = len(wrk["issued_per_thread"])
    sent = []
    for t, count in enumerate(wrk["issued_per_thread"]):
        sent += [plan.requests[t + k * threads] for k in range(count) if t + k * threads < len(plan.requests)]
    return sent


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["postgres", "sqlite", "both"], default="both")
    parser.add_argument("--workers", type=int, default=2, help="serve worker processes on PostgreSQL (SQLite: 1)")
    parser.add_argument("--customers", type=int, default=20000, help="existing customers with open threads")
    parser.add_argument("--messages", type=int, default=120000, help="pre-signed requests available to wrk")
    parser.add_argument("--duration", type=float, default=30, help="seconds of full-speed load")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--rate", type=float, default=500, help="fixed arrival rate for the latency run (msg/s)")
    parser.add_argument("--rate-seconds", type=float, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for CI")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    if args.smoke:
        args.customers, args.messages, args.duration, args.rate, args.rate_seconds = 200, 30000, 2, 100, 2
    backends = ["postgres", "sqlite"] if args.backend == "both" else [args.backend]
    results: dict[str, Any] = {"bench": "ingest", "machine": machine(), "runs": []}
    with tempfile.TemporaryDirectory(prefix="omnihub-bench-") as tmp:
        for backend in backends:
            run = bench_backend(args, backend, Path(tmp))
            results["runs"].append(run)
            print_run(run)
    write_json(args.json, results)
    return results


def print_run(run: dict[str, Any]) -> None:
    fixed = run["fixed_rate"]
    print(f"\n== ingest on {run['backend']} ({run['workers']} worker process(es), {run['connections']} connections) ==")
    print(
        f"  throughput      {run['throughput_msg_s']:>8} msg/s accepted  (wrk: {run['wrk']['ok']} ok, {run['wrk']['non_2xx']} non-2xx, "
        f"{run['wrk']['socket_errors']} socket errors in {run['wrk']['duration_s']} s)"
    )
    print(
        f"  latency at max  p50 {run['wrk']['p50_ms']} ms  p95 {run['wrk']['p95_ms']} ms  p99 {run['wrk']['p99_ms']} ms"
    )
    print(
        f"  at {fixed['rate_target']:.0f} msg/s    p50 {fixed['latency']['p50_ms']} ms  p95 {fixed['latency']['p95_ms']} ms  "
        f"p99 {fixed['latency']['p99_ms']} ms  (achieved {fixed['achieved_rate']} msg/s, statuses {fixed['statuses']})"
    )
    print(
        f"  memory          {run['peak_rss_mb_per_process']} MB peak per process, {run['peak_rss_mb_all_processes']} MB all"
    )
    v = run["verification"]
    print(
        f"  verified        {'OK' if v['ok'] else 'FAILED'}: {v['stored']} stored of {v['issued']} sent, {v['accepted_2xx']} accepted, "
        f"{v['duplicates']} duplicates, {v['in_wrong_thread']} in a wrong thread, {v['senders_split_over_threads']} split"
    )


if __name__ == "__main__":
    outcome = main()
    raise SystemExit(0 if all(r["verification"]["ok"] for r in outcome["runs"]) else 1)
