"""`/api/v1/integrations`: order sources such as a Shopify store."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import JSONBody
from sqlmodel import select

from agent_console.auth import require_admin
from agent_console.deps import ConsoleContext
from conversation.inboxes import InvalidSettings, split_settings
from conversation.models import Agent, Integration
from conversation.uow import UnitOfWork
from conversation.views import iso


class IntegrationCreate(msgspec.Struct):
    kind: str
    settings: dict[str, Any] = {}
    name: str = ""


def integration_view(row: Integration, console: ConsoleContext) -> dict[str, Any]:
    assert row.id is not None
    return {
        "id": row.id,
        "kind": row.kind,
        "name": row.name,
        "settings": row.settings,
        "webhook_url": console.integration_webhook_url(row.kind, row.id),
        "created_at": iso(row.created_at),
    }


class IntegrationController(Controller):
    path = "/api/v1/integrations"
    tags = ["integrations"]

    @post("/", status_code=201, summary="Connect an order source (Shopify)")
    async def create(
        self,
        request: Request[Agent, Any, Any],
        data: JSONBody[IntegrationCreate],
        uow: NamedDependency[UnitOfWork],
        console: NamedDependency[ConsoleContext],
    ) -> dict[str, Any]:
        require_admin(request.user)
        spec = console.integration_specs.get(data.kind)
        if spec is None:
            raise ValidationException(f"kind must be one of: {', '.join(sorted(console.integration_specs))}")
        try:
            public, secret = split_settings(spec, data.settings)
        except InvalidSettings as exc:
            raise ValidationException(str(exc), extra=exc.problems) from exc
        name = data.name or str(public.get("shop_domain") or data.kind)
        row = Integration(kind=data.kind, name=name, settings=public, secrets=console.box.seal(secret))
        uow.session.add(row)
        await uow.commit()
        return integration_view(row, console)

    @get("/", summary="Connected order sources")
    async def list(
        self,
        request: Request[Agent, Any, Any],
        uow: NamedDependency[UnitOfWork],
        console: NamedDependency[ConsoleContext],
    ) -> dict[str, Any]:
        require_admin(request.user)
        rows = (await uow.session.exec(select(Integration).order_by(Integration.id))).all()  # type: ignore[arg-type]
        return {"items": [integration_view(r, console) for r in rows]}
