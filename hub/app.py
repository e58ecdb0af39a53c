"""create_app(): the only place that assembles routes, middleware, plugins and dependencies."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from datetime import timedelta
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.middleware import DefineMiddleware
from litestar.openapi.config import OpenAPIConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.stores.base import Store
from litestar.template.config import TemplateConfig
from litestar.types import Scope

import agent_console
from agent_console.auth import AgentCache, AuthMiddleware
from agent_console.deps import ConsoleContext
from agent_console.routes import console_routes
from conversation.uow import UnitOfWork
from hub import features
from hub.channel_specs import INTEGRATION_SPECS, channel_specs
from hub.config import Settings, load_settings
from hub.errors import http_exception_handler, internal_error_handler
from hub.health import health_handlers
from hub.inbox_cache import inbox_cache
from hub.outbox import Worker
from hub.services import Services, create_services
from hub.sessions import LazySessionConfig
from hub.storage.engine import create_autocommit_session_factory
from hub.storage.migrate import pending_migrations
from hub.storage.sqlcount import install as install_sql_count
from hub.storage.sqlcount import sql_count_middleware
from hub.webhooks import webhook_handlers

log = logging.getLogger(__name__)

CONSOLE_DIR = Path(agent_console.__file__).resolve().parent
PUBLIC_PATHS = ["/login", "/webhooks", "/healthz", "/readyz", "/metrics", "/schema", "/static", "/widget"]


class UnmigratedDatabase(RuntimeError):
    """The database is not at the code's schema: run `omnihub migrate`."""


def _session_store(settings: Settings) -> Store:
    if settings.redis_url:
        from litestar.stores.redis import RedisStore

        return RedisStore.with_client(url=settings.redis_url, namespace=f"{settings.redis_namespace}:sessions")
    from litestar.stores.file import FileStore

    # Survives restarts of the single embedded process (agents stay logged in).
    return FileStore(settings.var_dir / "sessions")


def _console_store(settings: Settings) -> Store:
    """Short-lived console state shared by every process: login throttling, who views which thread."""
    if settings.redis_url:
        from litestar.stores.redis import RedisStore

        return RedisStore.with_client(url=settings.redis_url, namespace=f"{settings.redis_namespace}:console")
    from litestar.stores.memory import MemoryStore

    return MemoryStore()


def _console_context(services: Services) -> ConsoleContext:
    cache = inbox_cache(services)
    agent_cache: AgentCache = services.extras["agent_cache"]
    return ConsoleContext(
        public_base=services.settings.public_base,
        channel_specs=channel_specs(),
        integration_specs=INTEGRATION_SPECS,
        box=services.box,
        webhook_url=services.webhook_url,
        integration_webhook_url=lambda kind, id_: f"{services.settings.public_base}/webhooks/{kind}/{id_}",
        read_attachment=services.store.get,
        channels=services.channels,
        on_inbox_changed=cache.forget if cache is not None else (lambda _id: None),
        on_agent_changed=agent_cache.clear,
        write_attachment=services.store.put,
        max_attachment_bytes=services.settings.max_attachment_bytes,
        extras=services.extras,
    )


def create_app(settings: Settings | None = None, services: Services | None = None) -> Litestar:
    """The Omnihub ASGI application for `settings` (read from the environment when omitted)."""
    settings = settings or load_settings()
    services = services or create_services(settings)
    services.extras.setdefault("agent_cache", AgentCache())
    if settings.debug_sql_count:
        install_sql_count(services.engine)
    routes: list[Any] = [*webhook_handlers(services), *health_handlers(services), *features.route_handlers(services)]
    console = _console_context(services)
    worker = Worker(services)

    # GET requests only read: on PostgreSQL they skip BEGIN/ROLLBACK (two round trips, ~20 % of a list
    # request's CPU in bench/console.py); each statement sees committed data.
    read_sessions = create_autocommit_session_factory(services.engine)

    async def provide_uow(scope: Scope) -> AsyncGenerator[UnitOfWork, None]:
        if read_sessions is not None and scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            uow = UnitOfWork(read_sessions(), services.publish, services.enqueue)
        else:
            uow = services.uow()
        async with uow:
            try:
                yield uow
            finally:
                await uow.session.close()

    async def startup(app: Litestar) -> None:
        if await pending_migrations(settings.database_url):
            raise UnmigratedDatabase("the database schema is not up to date: run `omnihub migrate` first")
        if settings.inprocess_worker:
            await worker.start()

    async def shutdown(app: Litestar) -> None:
        await worker.stop()
        await services.raw.close()
        await services.engine.dispose()

    secure = settings.public_base.startswith("https://")
    session_config = LazySessionConfig(
        store="sessions", max_age=int(timedelta(days=14).total_seconds()), httponly=True, samesite="lax", secure=secure
    )
    app = Litestar(
        route_handlers=[
            *routes,
            *console_routes(),
            create_static_files_router(path="/static", directories=[CONSOLE_DIR / "static"], include_in_schema=False),
        ],
        dependencies={
            "uow": Provide(provide_uow),
            "console": Provide(lambda: console, use_cache=True, sync_to_thread=False),
        },
        middleware=[
            *([sql_count_middleware] if settings.debug_sql_count else []),
            session_config.middleware,
            DefineMiddleware(AuthMiddleware, exclude=[f"^{p}" for p in PUBLIC_PATHS] + ["^/$"]),
        ],
        csrf_config=CSRFConfig(
            secret=settings.resolved_secret_key,
            cookie_secure=secure,
            exclude=["/webhooks", "/api/", "/widget", "/healthz", "/readyz", "/metrics", "/schema"],
        ),
        stores={"sessions": _session_store(settings), "console": _console_store(settings)},
        plugins=[services.channels],
        template_config=TemplateConfig(directory=CONSOLE_DIR / "templates", engine=JinjaTemplateEngine),
        openapi_config=OpenAPIConfig(
            title="Omnihub",
            version="1",
            description="Omnichannel support hub: inboxes, conversations, customers, orders.",
        ),
        exception_handlers={HTTPException: http_exception_handler, Exception: internal_error_handler},
        on_startup=[startup],
        on_shutdown=[shutdown],
        state={"sessions": services.sessions, "agent_cache": services.extras["agent_cache"], "services": services},
        debug=False,
    )
    return app


def app_factory() -> Litestar:
    """Entry point for ASGI servers (`uvicorn --factory hub.app:app_factory`)."""
    return create_app()
