"""Offline continuity: web chat replies a visitor has not read within the inbox's delay go out by email.

A background loop (every process's worker runs one; a row lock makes them take turns) walks each
webchat inbox's replies in id order from a cursor kept in `InboxState`, and queues one email per
conversation through the linked email inbox (`email_inbox_id`) with the normal outbox. The customer's
answer threads back into the same conversation by its reply token and Message-ID.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from connectors.webchat.connector import DEFAULT_OFFLINE_EMAIL_DELAY
from conversation import webchat as domain
from conversation.models import Inbox, InboxState, utcnow
from conversation.sql import insert_or_ignore
from hub.services import Services

log = logging.getLogger(__name__)

CURSOR_KEY = "webchat:offline_email"
INTERVAL_SECONDS = 1.0
_state = InboxState.__table__  # type: ignore[attr-defined]

_TEXTS = {
    "en": ("Reply to your chat with {site}", "You can answer this email or continue the chat on {url}."),
    "nl": ("Antwoord op je chat met {site}", "Je kunt deze e-mail beantwoorden of de chat voortzetten op {url}."),
    "da": ("Svar på din chat med {site}", "Du kan svare på denne e-mail eller fortsætte chatten på {url}."),
    "de": ("Antwort auf Ihren Chat mit {site}",
           "Sie können auf diese E-Mail antworten oder den Chat auf {url} fortsetzen."),
    "ru": ("Ответ на ваш чат с {site}", "Вы можете ответить на это письмо или продолжить чат на {url}."),  # noqa: RUF001
    "es": ("Respuesta a tu chat con {site}", "Puedes responder a este correo o continuar el chat en {url}."),
    "fr": ("Réponse à votre discussion avec {site}",
           "Vous pouvez répondre à cet e-mail ou poursuivre la discussion sur {url}."),
    "pt": ("Resposta ao seu chat com {site}", "Você pode responder a este e-mail ou continuar o chat em {url}."),
}  # fmt: skip


def email_texts(settings: dict[str, Any], inbox_name: str, locale: str | None) -> tuple[str, str]:
    """(subject, footer) of a continuity email in the visitor's language."""
    url = str(settings.get("website_url") or "")
    site = urlsplit(url).hostname or inbox_name
    fixed = settings.get("locale")
    subject, footer = _TEXTS.get(locale or "", _TEXTS.get(fixed or "", _TEXTS["en"]))
    return subject.format(site=site), footer.format(url=url or site)


class OfflineEmails:
    """The background loop (see module docstring)."""

    def __init__(self, services: Services, interval: float = INTERVAL_SECONDS) -> None:
        self.services = services
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="omnihub-webchat-offline-emails")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        widget = self.services.extras.get("webchat")
        if widget is not None:
            await widget.close()

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("offline email pass failed")
            await asyncio.sleep(self.interval)

    async def run_once(self, now: datetime | None = None) -> int:
        """One pass over every webchat inbox with a linked email inbox; returns how many emails were queued."""
        now = now or utcnow()
        async with self.services.sessions() as db:
            inboxes = (
                (
                    await db.exec(sa.select(Inbox).where(Inbox.kind == "webchat", Inbox.is_active.is_(True)))  # type: ignore[call-overload,attr-defined]
                )
                .scalars()
                .all()
            )
            email_ids = {
                int(i.id)
                for i in (await db.exec(sa.select(Inbox).where(Inbox.kind == "email"))).scalars().all()  # type: ignore[call-overload]
                if i.is_active
            }
        queued = 0
        for inbox in inboxes:
            email_inbox_id = inbox.settings.get("email_inbox_id")
            if email_inbox_id in email_ids:
                queued += await self._inbox_pass(inbox, int(email_inbox_id), now)
        return queued

    async def _inbox_pass(self, inbox: Inbox, email_inbox_id: int, now: datetime) -> int:
        assert inbox.id is not None
        delay = timedelta(seconds=float(inbox.settings.get("offline_email_delay_seconds", DEFAULT_OFFLINE_EMAIL_DELAY)))
        async with self.services.uow() as uow:
            session = uow.session
            await session.exec(
                insert_or_ignore(session, _state, ["inbox_id", "key"]).values(
                    inbox_id=inbox.id, key=CURSOR_KEY, value={"cursor": 0}, updated_at=now
                )
            )
            # The row lock makes concurrent workers take turns: each reply is emailed at most once.
            value = (
                await session.exec(
                    sa.select(_state.c.value)
                    .where(_state.c.inbox_id == inbox.id, _state.c.key == CURSOR_KEY)
                    .with_for_update()
                )
            ).scalar_one()
            cursor = int((value or {}).get("cursor", 0))
            plan = domain.plan_offline_emails(await domain.replies_after(session, inbox.id, cursor), cursor, now, delay)
            for conversation_id, replies in plan.emails.items():
                locale = await domain.visitor_locale(session, conversation_id)
                subject, footer = email_texts(inbox.settings, inbox.name, locale)
                await domain.queue_offline_email(
                    uow, conversation_id, replies, email_inbox_id=email_inbox_id, subject=subject, footer=footer,
                    now=now,
                )  # fmt: skip
            if plan.cursor != cursor:
                await session.exec(
                    sa.update(_state)
                    .where(_state.c.inbox_id == inbox.id, _state.c.key == CURSOR_KEY)
                    .values(value={"cursor": plan.cursor}, updated_at=now)
                )
            await uow.commit()
        return len(plan.emails)
