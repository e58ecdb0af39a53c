"""`/healthz` (alive), `/readyz` (database and Redis reachable), `/metrics` (Prometheus)."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from litestar import Response, get

from hub import metrics
from hub.services import Services


def health_handlers(services: Services) -> list[Any]:
    @get("/healthz", exclude_from_auth=True, tags=["health"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @get("/readyz", exclude_from_auth=True, tags=["health"], summary="Database and Redis are reachable")
    async def readyz() -> Response[dict[str, Any]]:
        checks: dict[str, str] = {}
        try:
            async with services.engine.connect() as connection:
                await asyncio.wait_for(connection.execute(sa.text("SELECT 1")), 3)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unreachable: {exc.__class__.__name__}"
        if services.settings.redis_url:
            try:
                from redis.asyncio import Redis

                client = Redis.from_url(services.settings.redis_url)
                try:
                    await asyncio.wait_for(client.ping(), 3)
                finally:
                    await client.aclose()
                checks["redis"] = "ok"
            except Exception as exc:
                checks["redis"] = f"unreachable: {exc.__class__.__name__}"
        ok = all(v == "ok" for v in checks.values())
        return Response({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)

    @get(
        "/metrics",
        exclude_from_auth=True,
        tags=["health"],
        summary="Prometheus metrics",
        media_type="text/plain; version=0.0.4",
    )
    async def metrics_endpoint() -> bytes:
        return metrics.render()

    return [healthz, readyz, metrics_endpoint]
