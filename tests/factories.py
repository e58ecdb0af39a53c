"""Plain factory functions for tests: agents with tokens, inboxes, signed webhook bodies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlencode

from conversation.agents import create_agent, issue_token
from conversation.inboxes import create_inbox, set_members
from conversation.models import Agent, Inbox
from conversation.secretbox import SecretBox
from conversation.uow import UnitOfWork
from hub.channel_specs import channel_specs
from hub.config import Settings
from hub.storage.engine import SessionFactory

PASSWORD = "correct horse battery"


async def make_agent(
    db: SessionFactory,
    *,
    role: str = "admin",
    email: str | None = None,
    name: str | None = None,
    inbox_ids: list[int] = (),  # type: ignore[assignment]
) -> tuple[Agent, str]:
    """An agent (member of `inbox_ids`) and an API token for them."""
    async with db() as session:
        count = len((await session.exec(Agent.__table__.select())).all())  # type: ignore[attr-defined]
        agent = await create_agent(
            session,
            email=email or f"{role}{count + 1}@example.com",
            name=name or f"{role.title()} {count + 1}",
            role=role,
            password=PASSWORD,
        )
        token = await issue_token(session, agent)
        await session.commit()
    if inbox_ids:
        async with UnitOfWork(db()) as uow:
            for inbox_id in inbox_ids:
                from conversation.models import InboxMember

                uow.session.add(InboxMember(inbox_id=inbox_id, agent_id=agent.id))  # type: ignore[arg-type]
            await uow.commit()
    return agent, token


async def make_inbox(
    db: SessionFactory, settings: Settings, kind: str, config: dict[str, Any], name: str = ""
) -> Inbox:
    """An inbox stored exactly as the API stores it (secrets sealed with the hub's key)."""
    async with UnitOfWork(db()) as uow:
        inbox = await create_inbox(
            uow, kind=kind, name=name or f"{kind} inbox", settings=config, spec=channel_specs()[kind],
            box=SecretBox(settings.resolved_secret_key),
        )  # fmt: skip
        await uow.commit()
    return inbox


async def add_members(db: SessionFactory, inbox_id: int, agent_ids: list[int]) -> None:
    async with UnitOfWork(db()) as uow:
        await set_members(uow, inbox_id, agent_ids)
        await uow.commit()


def api_signature(secret: str, body: bytes) -> str:
    """`X-Omnihub-Signature` as the CONTRACT describes it (written independently of the connector)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def api_message(identifier: str, text: str, external_id: str, **contact: Any) -> bytes:
    return json.dumps(
        {"contact": {"identifier": identifier, **contact}, "text": text, "external_id": external_id}
    ).encode()


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's X-Twilio-Signature: base64 HMAC-SHA1 over the URL plus sorted key+value pairs."""
    payload = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


def twilio_inbound(
    auth_token: str, url: str, *, sid: str, from_: str, to: str, body: str
) -> tuple[bytes, dict[str, str]]:
    """A signed Twilio inbound-SMS webhook (body, headers)."""
    params = {
        "ToCountry": "US", "SmsMessageSid": sid, "NumMedia": "0", "SmsSid": sid, "SmsStatus": "received",
        "Body": body, "To": to, "NumSegments": "1", "MessageSid": sid, "AccountSid": "AC" + "1" * 32,
        "From": from_, "ApiVersion": "2010-04-01",
    }  # fmt: skip
    headers = {
        "X-Twilio-Signature": twilio_signature(auth_token, url, params),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return urlencode(params).encode(), headers
