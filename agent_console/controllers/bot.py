"""`POST /api/v1/bot/classify`: what the order-status bot makes of a message (admins try their bot)."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from litestar import Request, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import JSONBody

from conversation.access import may_see_inbox
from conversation.bot import classify
from conversation.bot.settings import BotSettings, parse_bot_settings
from conversation.models import Agent, Inbox
from conversation.uow import UnitOfWork

MAX_TEXT = 10_000


class ClassifyRequest(msgspec.Struct):
    """A message to classify; `inbox_id` (optional) uses that inbox's bot languages."""

    text: str
    inbox_id: int | None = None


async def _settings(uow: UnitOfWork, agent: Agent, inbox_id: int | None) -> BotSettings:
    if inbox_id is None:
        return BotSettings()
    inbox = await uow.session.get(Inbox, inbox_id)
    if inbox is None or not await may_see_inbox(uow.session, agent, inbox_id):
        raise NotFoundException("inbox not found")
    return parse_bot_settings(inbox.settings.get("bot"))


@post("/api/v1/bot/classify", status_code=200, tags=["bot"], summary="Classify a message as the bot would")
async def classify_message(
    request: Request[Agent, Any, Any], data: JSONBody[ClassifyRequest], uow: NamedDependency[UnitOfWork]
) -> dict[str, Any]:
    """`{intent: order_status|handoff|other, order_number, language, confidence}` (CONTRACT.md)."""
    text = data.text.strip()
    if not text:
        raise ValidationException("text must not be empty")
    if len(text) > MAX_TEXT:
        raise ValidationException(f"text is longer than {MAX_TEXT} characters")
    settings = await _settings(uow, request.user, data.inbox_id)
    # The first call of a language set loads its models (about a second): keep the event loop free.
    result = await asyncio.to_thread(classify, text, settings.languages, settings.default_language)
    return {
        "intent": result.intent,
        "order_number": result.order_number,
        "language": result.language,
        "confidence": result.confidence,
    }
