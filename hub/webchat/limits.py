"""Per-visitor rate limits: fixed windows in Redis when configured (shared by every process), else memory."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Limit:
    """At most `count` events per `seconds` window."""

    count: int
    seconds: int


#: Visitor messages (text or file), per visitor.
MESSAGES = Limit(20, 60)
#: File uploads, per visitor.
UPLOADS = Limit(10, 600)
#: Identify / profile claims, per visitor (each may touch several rows).
IDENTIFY = Limit(10, 60)
#: Receipts and history/sync requests, per visitor.
READS = Limit(120, 60)


class RateLimiter:
    """`hit(key, limit)` counts one event and returns 0 when allowed, else the seconds until the window ends."""

    def __init__(self, redis_url: str | None, namespace: str) -> None:
        self._redis_url = redis_url
        self._namespace = namespace
        self._redis: Any = None
        self._memory: dict[str, tuple[int, int]] = {}

    async def hit(self, key: str, limit: Limit) -> int:
        now = time.time()
        window = int(now // limit.seconds)
        retry_after = max(1, int((window + 1) * limit.seconds - now))
        if self._redis_url:
            count = await self._hit_redis(f"{key}:{limit.seconds}:{window}", limit.seconds)
        else:
            count = self._hit_memory(f"{key}:{limit.seconds}", window)
        return 0 if count <= limit.count else retry_after

    def _hit_memory(self, key: str, window: int) -> int:
        if len(self._memory) > 50_000:
            self._memory = {k: v for k, v in self._memory.items() if v[0] >= window}
        current_window, count = self._memory.get(key, (window, 0))
        count = count + 1 if current_window == window else 1
        self._memory[key] = (window, count)
        return count

    async def _hit_redis(self, key: str, ttl: int) -> int:
        if self._redis is None:
            from redis.asyncio import Redis

            self._redis = Redis.from_url(self._redis_url)  # type: ignore[arg-type]
        full = f"{self._namespace}:webchat:rl:{key}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(full)
            pipe.expire(full, ttl + 1)
            count, _ = await pipe.execute()
        return int(count)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
