"""The bot jobs: the built-in order-status bot, or a signed webhook to an inbox's external agent bot.

Ingest defers `bot_reply` after committing an inbound customer message (never inside the webhook's
request). The job answers with the built-in bot (conversation.bot.responder), or, when the inbox has an
`agent_bot_url`, posts the message to that bot, retrying with backoff; a bot that stays unreachable hands
the conversation to the team. A lost job loses no message: the conversation waits for the team as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

import httpx
import sqlalchemy as sa

from connectors.api.client import sign
from conversation.bot.external import EVENT, agent_bot_payload
from conversation.bot.handoff import hand_off
from conversation.bot.language import detector_for, normalise_languages
from conversation.bot.responder import EXTERNAL, respond
from conversation.bot.settings import parse_bot_settings
from conversation.events import JOB_BOT, Job
from conversation.inboxes import full_settings
from conversation.models import Inbox, Message
from hub.services import Services

log = logging.getLogger(__name__)

JOB_AGENT_BOT = "agent_bot_webhook"
AGENT_BOT_TIMEOUT = 10.0


class AgentBotFailed(Exception):
    """The external bot did not take the message (`retryable` for timeouts, 5xx, 429)."""

    def __init__(self, reason: str, retryable: bool) -> None:
        super().__init__(reason)
        self.retryable = retryable


async def _inbox_of(services: Services, message_id: int) -> Inbox | None:
    async with services.sessions() as session:
        inbox_id = (
            await session.exec(sa.select(Message.inbox_id).where(Message.id == message_id))  # type: ignore[call-overload]
        ).scalar()
        return await session.get(Inbox, inbox_id) if inbox_id is not None else None


async def bot_reply(services: Services, message_id: int) -> None:
    """The `bot_reply` job: the built-in bot, or the inbox's external bot when it has one."""
    async with services.uow() as uow:
        outcome = await respond(uow, message_id)
        await uow.commit()
    if outcome.skipped == EXTERNAL:
        await agent_bot_webhook(services, message_id, attempt=1)
    elif outcome.decision is not None:
        log.info(
            "bot turn",
            extra={"message_id": message_id, "reason": outcome.decision.reason, "handoff": outcome.decision.handoff},
        )


async def _post(url: str, secret: str, body: bytes, delivery: str) -> None:
    headers = {
        "Content-Type": "application/json",
        "X-Omnihub-Signature": sign(secret, body),
        "X-Omnihub-Event": EVENT,
        "X-Omnihub-Delivery": delivery,
    }
    try:
        async with httpx.AsyncClient(timeout=AGENT_BOT_TIMEOUT) as client:
            response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise AgentBotFailed(f"unreachable: {exc.__class__.__name__}", retryable=True) from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise AgentBotFailed(f"answered {response.status_code}", retryable=True)
    if response.status_code >= 400:
        raise AgentBotFailed(f"refused the message ({response.status_code})", retryable=False)


async def agent_bot_webhook(services: Services, message_id: int, attempt: int = 1) -> None:
    """Hand one inbound message to the inbox's external bot (the `agent_bot_webhook` job, with retries)."""
    inbox = await _inbox_of(services, message_id)
    settings = full_settings(inbox, services.box) if inbox is not None else {}
    url, secret = settings.get("agent_bot_url"), settings.get("agent_bot_secret")
    if not url or not secret:
        return
    async with services.uow() as uow:
        payload = await agent_bot_payload(uow, message_id, api_base=services.settings.public_base)
    if payload is None:
        return  # a human has the conversation now
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    try:
        await _post(str(url), str(secret), body, f"{payload['id']}:{attempt}")
    except AgentBotFailed as exc:
        await _agent_bot_failed(services, message_id, payload["conversation"]["id"], attempt, exc)


async def _agent_bot_failed(
    services: Services, message_id: int, conversation_id: int, attempt: int, exc: AgentBotFailed
) -> None:
    settings = services.settings
    if exc.retryable and attempt < settings.send_max_attempts:
        delay = settings.send_retry_base_seconds * 2 ** (attempt - 1)
        log.info("agent bot failed, retrying", extra={"message_id": message_id, "attempt": attempt, "reason": str(exc)})
        job = Job(JOB_AGENT_BOT, {"message_id": message_id, "attempt": attempt + 1},
                  key=f"agent-bot:{message_id}:{attempt + 1}", delay_seconds=delay)  # fmt: skip
        await services.enqueue([job])
        return
    log.warning("agent bot gave up", extra={"message_id": message_id, "attempt": attempt, "reason": str(exc)})
    async with services.uow() as uow:
        await hand_off(uow, conversation_id, "external_failed", bot_name="The external bot")
        await uow.commit()


class BotWarmup:
    """Loads the language models of every bot-enabled inbox at start, so the first answer is not slow.

    Loading a detector takes about a second and a few hundred MB, so only the language sets of inboxes
    whose built-in bot is on are loaded, each in a worker thread.
    """

    def __init__(self, services: Services) -> None:
        self.services = services
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._warm(), name="omnihub-bot-warmup")

    async def _language_sets(self) -> set[frozenset[str]]:
        async with self.services.sessions() as session:
            rows = (await session.exec(sa.select(Inbox.settings).where(Inbox.is_active.is_(True)))).all()  # type: ignore[call-overload, attr-defined]
        sets = set()
        for (settings,) in rows:
            if settings.get("bot_enabled") and not settings.get("agent_bot_url"):
                languages = normalise_languages(parse_bot_settings(settings.get("bot")).languages)
                if len(languages) > 1:
                    sets.add(languages)
        return sets

    async def _warm(self) -> None:
        try:
            for languages in await self._language_sets():
                await asyncio.to_thread(detector_for, languages)
        except Exception:  # a slower first answer is the only cost
            log.warning("bot warm-up failed", exc_info=True)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def bot_job_handlers(services: Services) -> dict[str, Any]:
    """Job name -> handler for the bot jobs."""
    return {
        JOB_BOT: lambda message_id: bot_reply(services, message_id),
        JOB_AGENT_BOT: lambda message_id, attempt=1: agent_bot_webhook(services, message_id, attempt),
    }
