"""Shared pieces of the benchmarks: throw-away databases, `omnihub serve` processes, figures and JSON."""

from __future__ import annotations

import asyncio
import json
import math
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("OMNIHUB_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("OMNIHUB_BENCH_REDIS", "redis://127.0.0.1:6379/0")
SECRET_KEY = "bench-secret-key-" + "k" * 32
PUBLIC_URL = "https://hub.bench.example"


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (nearest rank) of `values`; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return float(ordered[rank - 1])


def summary_ms(values_s: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/max in milliseconds of durations given in seconds."""
    return {
        "p50_ms": round(percentile(values_s, 50) * 1000, 2),
        "p95_ms": round(percentile(values_s, 95) * 1000, 2),
        "p99_ms": round(percentile(values_s, 99) * 1000, 2),
        "max_ms": round(max(values_s) * 1000, 2) if values_s else math.nan,
        "n": len(values_s),
    }


def write_json(path: str | None, data: dict[str, Any]) -> None:
    """Write the figures as JSON when `--json PATH` was given."""
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(data, indent=2, default=str))


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import platform

    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        # The machine is shared: the 1-minute load average says how busy it was while measuring.
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


@dataclass
class Database:
    """A migrated, empty database for one benchmark run (PostgreSQL or a SQLite file)."""

    url: str
    name: str | None = None

    @property
    def is_postgres(self) -> bool:
        return self.url.startswith("postgresql")


async def _pg(statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(PG_ADMIN)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def database(backend: str, workdir: Path) -> Iterator[Database]:
    """A fresh migrated database, dropped afterwards."""
    from hub.storage.migrate import upgrade

    if backend == "postgres":
        name = f"omnihub_bench_{secrets.token_hex(4)}"
        asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
        base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        db = Database(url=f"{base}/{name}", name=name)
        try:
            upgrade(db.url)
            yield db
        finally:
            asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        path = workdir / "bench.db"
        db = Database(url=f"sqlite+aiosqlite:///{path}")
        upgrade(db.url)
        yield db


def hub_env(
    db: Database, workdir: Path, *, redis: bool, namespace: str, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """Environment for an `omnihub` process of this benchmark."""
    env = {
        **os.environ,
        "OMNIHUB_DATABASE_URL": db.url,
        "OMNIHUB_SECRET_KEY": SECRET_KEY,
        "OMNIHUB_PUBLIC_URL": PUBLIC_URL,
        "OMNIHUB_VAR_DIR": str(workdir / "var"),
        "OMNIHUB_REDIS_NAMESPACE": namespace,
        "OMNIHUB_LOG_LEVEL": "WARNING",
        "OMNIHUB_AUTO_MIGRATE": "false",
    }
    env.pop("OMNIHUB_REDIS_URL", None)
    if redis:
        env["OMNIHUB_REDIS_URL"] = REDIS
    env.update(extra or {})
    return env


@dataclass
class Server:
    """An `omnihub serve` process group."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path
    samples: list[int] = field(default_factory=list)

    def rss_bytes(self) -> int:
        """Resident memory of the server and its worker processes, now."""
        total = 0
        for pid in [self.process.pid, *_children(self.process.pid)]:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            except OSError:
                continue
        return total

    def per_process_rss(self) -> list[int]:
        """Resident memory of each process (the supervisor and each worker)."""
        sizes = []
        for pid in [self.process.pid, *_children(self.process.pid)]:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        sizes.append(int(line.split()[1]) * 1024)
            except OSError:
                continue
        return sizes

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    found = [int(c) for c in text.split()]
    for child in list(found):
        found += _children(child)
    return found


def start_server(env: dict[str, str], port: int, workers: int, log: Path) -> Server:
    """Start `omnihub serve` and wait until `/readyz` answers."""
    import urllib.request

    command = [
        sys.executable,
        "-m",
        "hub.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"omnihub serve exited: {log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=1) as response:
                if response.status == 200:
                    time.sleep(0.5 if workers > 1 else 0.1)  # let every worker process finish its start-up
                    return Server(process=process, url=url, log=log)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("omnihub serve did not become ready in 60 s")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pids: Sequence[int]) -> float:
    """CPU time (user + system) used so far by these processes and their children, in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in {p for root in pids for p in (root, *_children(root))}:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
    return total / tick


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    tick = os.sysconf("SC_CLK_TCK")
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / tick, sum(values) / tick


def service_pids(database_name: str | None) -> list[int]:
    """PostgreSQL backends serving `database_name` and the Redis server: their CPU is the hub's too."""
    import asyncpg
    import redis

    pids: list[int] = []
    if database_name:

        async def backends() -> list[int]:
            connection = await asyncpg.connect(PG_ADMIN)
            try:
                rows = await connection.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database_name)
            finally:
                await connection.close()
            return [int(r["pid"]) for r in rows]

        pids += asyncio.run(backends())
    client = redis.Redis.from_url(REDIS)
    try:
        pids.append(int(client.info("server")["process_id"]))
    finally:
        client.close()
    return pids
