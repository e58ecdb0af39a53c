"""Fan-out benchmark: inbound webhooks -> `message.created` on every console socket, across two processes.

Run ``python -m bench.fanout --help``. Two `omnihub serve` processes share one PostgreSQL database and
one Redis. A subscriber process (the `websockets` library) opens the console stream
(`/api/v1/stream?token=...`) for every agent, alternating between the two processes; each agent works
`--inboxes-per-agent` of the `--inboxes` api inboxes. A generator process then sends signed `api`
webhooks open-loop at `--rate` msg/s for `--seconds` (round-robin over inboxes and over the two
processes; 70 % from customers who wrote before), like a provider that does not wait for answers.

Latency is measured per (message, subscriber that should see it):
- **send -> event**: from the generator's clock just before it writes the webhook request, to the
  subscriber's clock when the `message.created` frame is read (`time.time()` in both processes, one
  machine). This includes the whole ingest; it is the figure the goal is checked against;
- **2xx -> event**: from the generator reading the webhook's 2xx, to the frame (negative when the event
  beats the HTTP answer, which is normal: events are published right after commit).
Missed = (accepted messages of a subscriber's inboxes) - (those it received); it must be 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import subprocess
import sys
import tempfile
import time
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
    percentile,
    service_pids,
    start_server,
    summary_ms,
    write_json,
)
from bench.ingest import API_SECRET, api_request

GOAL_P99_MS = 50.0
PREFIX = "fan-"


# --- seeding ----------------------------------------------------------------------------------------


async def seed(db: Database, agents: int, inboxes: int, per_agent: int) -> tuple[list[int], list[dict[str, Any]]]:
    """`inboxes` api inboxes and `agents` agents with API tokens; returns inbox ids and the agents."""
    import sqlalchemy as sa

    from conversation.agents import TOKEN_PREFIX, hash_token
    from conversation.inboxes import create_inbox
    from conversation.models import Agent, ApiToken, InboxMember, utcnow
    from conversation.secretbox import SecretBox
    from conversation.uow import UnitOfWork
    from hub.channel_specs import channel_specs
    from hub.storage.engine import create_engine, create_session_factory

    engine = create_engine(db.url)
    sessions = create_session_factory(engine)
    try:
        async with UnitOfWork(sessions()) as uow:
            ids = []
            for n in range(inboxes):
                inbox = await create_inbox(
                    uow, kind="api", name=f"fanout {n}", settings={"hmac_secret": API_SECRET},
                    spec=channel_specs()["api"], box=SecretBox(SECRET_KEY),
                )  # fmt: skip
                ids.append(int(inbox.id or 0))
            await uow.commit()
        people = []
        now = utcnow()
        async with engine.begin() as connection:
            for n in range(agents):
                token = TOKEN_PREFIX + secrets.token_urlsafe(24)
                agent_id = (await connection.execute(
                    sa.insert(Agent.__table__).values(  # type: ignore[attr-defined]
                        email=f"agent{n}@fanout.example", name=f"Agent {n}", role="agent", password_hash="!",
                        is_active=True, created_at=now,
                    ).returning(Agent.__table__.c.id)  # type: ignore[attr-defined]
                )).scalar_one()  # fmt: skip
                await connection.execute(sa.insert(ApiToken.__table__).values(  # type: ignore[attr-defined]
                    agent_id=agent_id, name="bench", token_hash=hash_token(token), created_at=now))  # fmt: skip
                works = [ids[(n + k) % inboxes] for k in range(per_agent)]
                for inbox_id in works:
                    await connection.execute(sa.insert(InboxMember.__table__).values(inbox_id=inbox_id, agent_id=agent_id))  # type: ignore[attr-defined]
                people.append({"token": token, "inboxes": works})
    finally:
        await engine.dispose()
    return ids, people


# --- subscribers (own process) ----------------------------------------------------------------------


_TYPE = re.compile(r'"type":\s*"([^"]+)"')
_EXTERNAL = re.compile(r'"external_id":\s*"' + PREFIX + r'(\d+)"')


async def run_subscribers(config: dict[str, Any]) -> None:
    """Open this process's sockets, say so in `ready_file`, record (message index, time) until `stop_file`.

    Frames are matched with two regular expressions rather than decoded: the subscribers must not be the
    bottleneck (a full JSON decode of every frame cost this process most of a core at 10,000 frames/s).
    """
    import websockets

    received: list[list[list[float]]] = [[] for _ in config["agents"]]
    other: list[int] = [0] * len(config["agents"])
    thin: list[int] = [0]

    async def listen(index: int, socket: Any) -> None:
        sink, now = received[index], time.time
        async for frame in socket:
            at = now()
            kind = _TYPE.search(frame)
            if kind is None or kind.group(1) != "message.created":
                continue
            external = _EXTERNAL.search(frame)
            if external is None:
                other[index] += 1
                continue
            if '"conversation":{' not in frame and '"conversation": {' not in frame:
                thin[0] += 1  # the console would have to refetch the list row
            sink.append([int(external.group(1)), at])

    sockets = []
    for agent in config["agents"]:
        socket = await websockets.connect(
            f"{agent['url'].replace('http://', 'ws://')}/api/v1/stream?token={agent['token']}", max_queue=4096,
            ping_interval=None, open_timeout=30,  # offers permessage-deflate, as browsers do
        )  # fmt: skip
        ready = json.loads(await socket.recv())
        assert ready.get("type") == "ready", ready
        sockets.append(socket)
    tasks = [asyncio.create_task(listen(i, s)) for i, s in enumerate(sockets)]
    Path(config["ready_file"]).write_text("ready")
    while not Path(config["stop_file"]).exists():
        await asyncio.sleep(0.1)
    for socket in sockets:
        await socket.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    Path(config["out_file"]).write_text(json.dumps({"received": received, "other": other, "thin": thin[0]}))


def start_subscribers(
    workdir: Path, urls: list[str], agents: list[dict[str, Any]], processes: int
) -> list[tuple[subprocess.Popen[str], dict[str, Any]]]:
    """Subscriber processes, each with every `processes`-th agent; agent n uses server n % len(urls)."""
    started = []
    for p in range(processes):
        mine = [{**agents[n], "url": urls[n % len(urls)], "index": n} for n in range(p, len(agents), processes)]
        config = {"agents": mine, "ready_file": str(workdir / f"fanout-ready-{p}"),
                  "stop_file": str(workdir / "fanout-stop"), "out_file": str(workdir / f"fanout-out-{p}")}  # fmt: skip
        path = workdir / f"fanout-subscribers-{p}.json"
        path.write_text(json.dumps(config))
        process = _python(
            "import asyncio, json; from bench.fanout import run_subscribers; "
            f"asyncio.run(run_subscribers(json.load(open({str(path)!r}))))"
        )
        started.append((process, config))
    deadline = time.monotonic() + 120
    for process, config in started:
        while not Path(config["ready_file"]).exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the subscribers did not connect")
            time.sleep(0.1)
    return started


def collect(subscribers: list[tuple[subprocess.Popen[str], dict[str, Any]]], count: int) -> dict[str, Any]:
    """Stop the subscribers and merge what they received, in agent order."""
    Path(subscribers[0][1]["stop_file"]).write_text("stop")
    received: list[Any] = [[] for _ in range(count)]
    other, thin = 0, 0
    for process, config in subscribers:
        process.wait(120)
        got = json.loads(Path(config["out_file"]).read_text())
        for agent, events in zip(config["agents"], got["received"], strict=True):
            received[agent["index"]] = events
        other += sum(got["other"])
        thin += got["thin"]
    return {"received": received, "other": other, "thin": thin}


# --- generator (own process) ------------------------------------------------------------------------


async def run_generator(config: dict[str, Any]) -> dict[str, Any]:
    """Open-loop signed webhooks; per message: index, inbox, send time, 2xx time (or None), status."""
    import aiohttp

    urls, inboxes, rate, count = config["urls"], config["inboxes"], config["rate"], config["count"]
    rng = random.Random(config["seed"])
    # Customers keep to one inbox: a customer's message joins their open thread whatever inbox it came
    # through (unified threads), and the event goes to that thread's inbox.
    senders: dict[int, list[str]] = {inbox: [] for inbox in inboxes}
    requests = []
    for k in range(count):
        inbox = inboxes[k % len(inboxes)]
        known = senders[inbox]
        if known and rng.random() < 0.7:
            who = rng.choice(known)
        else:
            who = f"fan-customer-{config['run']}-{inbox}-{len(known)}"
            known.append(who)
        requests.append((inbox, api_request(who, f"{PREFIX}{k}", f"fanout probe {k}: where is my order?", inbox)))
    log: list[list[Any]] = [[k, inbox, 0.0, None, 0] for k, (inbox, _) in enumerate(requests)]
    connector = aiohttp.TCPConnector(limit=512)
    late = 0.0
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(k: int, request: dict[str, str]) -> None:
            url = urls[k % len(urls)] + request["path"]
            headers = {"Content-Type": request["ctype"], request["sig_name"]: request["sig"]}
            body = request["body"].encode()
            log[k][2] = time.time()
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    log[k][4] = response.status
                    if 200 <= response.status < 300:
                        log[k][3] = time.time()
            except aiohttp.ClientError:
                log[k][4] = -1

        tasks = []
        start = time.perf_counter()
        for k, (_, request) in enumerate(requests):
            delay = start + k / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                late = max(late, -delay)
            tasks.append(asyncio.create_task(one(k, request)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    return {"log": log, "achieved_rate": round(count / elapsed, 1), "generator_max_lag_ms": round(late * 1000, 1)}


def _python(code: str, **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", code], cwd=REPO, text=True, **kwargs)


# --- the run ----------------------------------------------------------------------------------------


def bench(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    with database("postgres", workdir) as db:
        inbox_ids, agents = asyncio.run(seed(db, args.subscribers, args.inboxes, args.inboxes_per_agent))
        env = hub_env(
            db, workdir, redis=True, namespace=f"benchfanout{random.randint(0, 10**6)}",
            extra={"OMNIHUB_INPROCESS_WORKER": "false"},
        )  # fmt: skip
        servers = [start_server(env, free_port(), 1, workdir / f"serve-fanout-{n}.log") for n in range(2)]
        urls = [s.url for s in servers]
        subscribers = start_subscribers(workdir, urls, agents, args.subscriber_processes)
        try:
            count = int(args.rate * (args.warmup + args.seconds))
            gen_config = {"urls": urls, "inboxes": inbox_ids, "rate": args.rate, "count": count, "seed": args.seed,
                          "run": secrets.token_hex(3)}  # fmt: skip
            gen_path = workdir / "fanout-generator.json"
            gen_path.write_text(json.dumps(gen_config))
            started = time.time()
            cpu = _cpu_snapshot(servers, subscribers, db.name)
            generator = subprocess.run(
                [sys.executable, "-c", "import asyncio, json; from bench.fanout import run_generator; "
                 f"print(json.dumps(asyncio.run(run_generator(json.load(open({str(gen_path)!r}))))))"],
                cwd=REPO, capture_output=True, text=True, timeout=args.seconds + 300,
            )  # fmt: skip
            if generator.returncode != 0:
                raise RuntimeError(generator.stderr[-3000:])
            sent = json.loads(generator.stdout.strip().splitlines()[-1])
            time.sleep(args.grace)
            rss = [s.rss_bytes() for s in servers]
            used = _cpu_used(cpu, _cpu_snapshot(servers, subscribers, db.name))
            got = collect(subscribers, len(agents))
            got["cpu_cores"] = used
            got["server_errors"] = _errors([s.log for s in servers])
        finally:
            for process, _ in subscribers:
                if process.poll() is None:
                    process.kill()
            for server in servers:
                server.stop()
    return figures(args, agents, sent, got, time.time() - started, rss)


def _cpu_snapshot(
    servers: list[Any], subscribers: list[tuple[subprocess.Popen[str], Any]], database_name: str | None
) -> dict[str, Any]:
    import resource

    return {
        "at": time.monotonic(),
        "servers": cpu_seconds([s.process.pid for s in servers]),
        "subscribers": cpu_seconds([p.pid for p, _ in subscribers]),
        "services": cpu_seconds(service_pids(database_name)),
        "generator": resource.getrusage(resource.RUSAGE_CHILDREN),  # the generator is the only child reaped
        "machine": machine_busy(),
    }


def _cpu_used(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
    """Cores each part kept busy on average while the load ran (the machine has os.cpu_count())."""
    wall = after["at"] - before["at"]
    ru0, ru1 = before["generator"], after["generator"]
    busy = after["machine"][0] - before["machine"][0]
    return {
        "hub_servers": round((after["servers"] - before["servers"]) / wall, 2),
        "subscribers": round((after["subscribers"] - before["subscribers"]) / wall, 2),
        "postgres_redis": round((after["services"] - before["services"]) / wall, 2),
        "generator": round((ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime) / wall, 2),
        "machine_total": round(busy / wall, 2),
    }


def _per_second(timeline: list[tuple[float, float]]) -> dict[str, Any]:
    """p99 of send -> event per second of sending: is a tail spread out (too slow) or a few stalls?"""
    if not timeline:
        return {}
    start = min(t for t, _ in timeline)
    by_second: dict[int, list[float]] = {}
    for sent, latency in timeline:
        by_second.setdefault(int(sent - start), []).append(latency)
    per = {second: percentile(v, 99) * 1000 for second, v in by_second.items()}
    p99 = sorted(per.values())
    return {
        "seconds": len(p99),
        "seconds_with_p99_over_goal": sum(1 for v in p99 if v > GOAL_P99_MS),
        "slow_seconds": sorted(second for second, v in per.items() if v > GOAL_P99_MS),  # from the first send
        "median_second_p99_ms": round(p99[len(p99) // 2], 1),
        "worst_second_p99_ms": round(p99[-1], 1),
    }


def _errors(logs: list[Path]) -> list[str]:
    """The distinct error lines the servers logged (why a webhook got a 5xx), at most ten."""
    seen: list[str] = []
    for log in logs:
        for line in log.read_text(errors="replace").splitlines():
            if ("Error" in line or "ERROR" in line) and line not in seen:
                seen.append(line[:300])
    return seen[:10]


def figures(
    args: argparse.Namespace, agents: list[dict[str, Any]], sent: dict[str, Any], got: dict[str, Any],
    wall: float, rss: list[int],
) -> dict[str, Any]:  # fmt: skip
    """Latencies and the missed-event count (see the module docstring for the definitions)."""
    log = sent["log"]
    accepted = {k: (inbox, t_send, t_ack) for k, inbox, t_send, t_ack, status in log if t_ack is not None}
    statuses: dict[str, int] = {}
    for entry in log:
        statuses[str(entry[4])] = statuses.get(str(entry[4]), 0) + 1
    # The first `--warmup` seconds open pools and prepare statements: delivered and checked, not timed.
    first_timed = int(args.rate * args.warmup)
    timed = {k for k in accepted if k >= first_timed}
    from_send, from_ack = [], []
    webhook = [t_ack - t_send for k, (_, t_send, t_ack) in accepted.items() if k in timed]
    timeline: list[tuple[float, float]] = []
    missed = duplicates = foreign = 0
    for agent, events in zip(agents, got["received"], strict=True):
        mine = set(agent["inboxes"])
        expected = {k for k, (inbox, _, _) in accepted.items() if inbox in mine}
        seen: set[int] = set()
        for k, at in events:
            k = int(k)
            if k in seen:
                duplicates += 1
                continue
            seen.add(k)
            if k not in accepted:
                continue  # sent, stored, but its 2xx never reached the generator
            inbox, t_send, t_ack = accepted[k]
            if inbox not in mine:
                foreign += 1
                continue
            if k in timed:
                from_send.append(at - t_send)
                from_ack.append(at - t_ack)
                timeline.append((t_send, at - t_send))
        missed += len(expected - seen)
    send = summary_ms(from_send)
    return {
        "bench": "fanout",
        "subscribers": len(agents),
        "processes": 2,
        "inboxes": args.inboxes,
        "inboxes_per_agent": args.inboxes_per_agent,
        "rate_target": args.rate,
        "achieved_rate": sent["achieved_rate"],
        "generator_max_lag_ms": sent["generator_max_lag_ms"],
        "messages_sent": len(log),
        "accepted_2xx": len(accepted),
        "statuses": statuses,
        "deliveries_expected": sum(len(e) for e in got["received"]) - duplicates + missed,
        "deliveries_measured": len(from_send),
        "deliveries_received": sum(len(e) for e in got["received"]) - duplicates,
        "warmup_s": args.warmup,
        "events_per_second": round(len(from_send) / args.seconds, 1),
        "missed": missed,
        "duplicates": duplicates,
        "events_for_foreign_inboxes": foreign,
        "events_without_conversation_row": got["thin"],
        "server_errors": got.get("server_errors", []),
        "cpu_cores": got.get("cpu_cores", {}),
        "send_to_event": send,
        "ack_to_event": summary_ms(from_ack),
        "per_second": _per_second(timeline),
        "webhook_latency": summary_ms(webhook),
        "server_rss_mb": [round(r / 2**20, 1) for r in rss],
        "goal": {"p99_ms": GOAL_P99_MS, "value": send["p99_ms"], "met": send["p99_ms"] <= GOAL_P99_MS and missed == 0},
        "wall_s": round(wall, 1),
    }


def print_run(r: dict[str, Any]) -> None:
    s, a, w = r["send_to_event"], r["ack_to_event"], r["webhook_latency"]
    print(f"\n== fan-out: {r['subscribers']} sockets on 2 processes, {r['inboxes']} inboxes "
          f"({r['inboxes_per_agent']} per agent), {r['rate_target']:.0f} msg/s ==")  # fmt: skip
    print(f"  sent            {r['messages_sent']} at {r['achieved_rate']} msg/s (generator lag max "
          f"{r['generator_max_lag_ms']} ms), statuses {r['statuses']}")  # fmt: skip
    print(f"  webhook 2xx     p50 {w['p50_ms']} ms  p99 {w['p99_ms']} ms")
    print(f"  send -> event   p50 {s['p50_ms']} ms  p95 {s['p95_ms']} ms  p99 {s['p99_ms']} ms  max {s['max_ms']} ms "
          f"over {s['n']} deliveries ({r['events_per_second']}/s)")  # fmt: skip
    print(f"  2xx -> event    p50 {a['p50_ms']} ms  p99 {a['p99_ms']} ms")
    print(f"  missed          {r['missed']}   duplicates {r['duplicates']}   foreign-inbox events "
          f"{r['events_for_foreign_inboxes']}   events without the list row {r['events_without_conversation_row']}")  # fmt: skip
    ps = r["per_second"]
    if ps:
        print(f"  per second      p99 over {GOAL_P99_MS:.0f} ms in {ps['seconds_with_p99_over_goal']} of {ps['seconds']} s "
              f"(seconds {ps['slow_seconds']}); "
              f"median second's p99 {ps['median_second_p99_ms']} ms, worst {ps['worst_second_p99_ms']} ms")  # fmt: skip
    c = r["cpu_cores"]
    if c:
        print(f"  CPU (cores)     hub servers {c['hub_servers']}, PostgreSQL + Redis {c['postgres_redis']}, "
              f"subscribers {c['subscribers']}, generator {c['generator']}; whole machine {c['machine_total']} "
              f"of {os.cpu_count()}")  # fmt: skip
    for line in r["server_errors"]:
        print(f"  server error    {line}")
    print(f"  goal            p99 ≤ {GOAL_P99_MS} ms and 0 missed: {'met' if r['goal']['met'] else 'MISSED'}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout", description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=200, help="console sockets (one agent each)")
    parser.add_argument("--inboxes", type=int, default=10)
    parser.add_argument("--inboxes-per-agent", type=int, default=1)
    parser.add_argument("--rate", default="500",
                        help="inbound webhooks per second; several (e.g. 100,250,500) give one run each")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=2,
                        help="seconds sent at the rate first, delivered and checked but not timed")
    parser.add_argument("--grace", type=float, default=3, help="seconds to wait for late events")
    parser.add_argument("--subscriber-processes", type=int, default=2, help="processes holding the sockets")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for CI")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    if args.smoke:
        args.subscribers, args.inboxes, args.rate, args.seconds, args.grace, args.warmup = 10, 2, "40", 2, 1, 0.5
    results: dict[str, Any] = {"bench": "fanout", "machine": machine(), "runs": []}
    for rate in (float(r) for r in str(args.rate).split(",")):
        args.rate = rate
        with tempfile.TemporaryDirectory(prefix="omnihub-bench-") as tmp:
            run = bench(args, Path(tmp))
        results["runs"].append(run)
        print_run(run)
    write_json(args.json, results)
    return results


if __name__ == "__main__":
    outcome = main()
    # A missed event is a failure; a slow one is a figure.
    raise SystemExit(0 if all(r["missed"] == 0 for r in outcome["runs"]) else 1)
