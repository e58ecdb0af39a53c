"""The built-in bot's turn for one inbound message: load the facts, decide (policy), reply and hand over.

Runs inside the `bot_reply` job, in one unit of work. The conversation row is locked first, so a human
taking the thread at the same moment either happens first (and the bot stays silent) or waits for the
bot's turn to commit (and then sets `handed_off` itself), and two messages of one thread are answered in
turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from conversation.bot.classify import classify
from conversation.bot.handoff import hand_off
from conversation.bot.policy import (
    Decision,
    OrderFacts,
    Turn,
    decide,
    merge_burst,
    needs_recent_orders,
    wanted_number,
)
from conversation.bot.settings import BotSettings, parse_bot_settings
from conversation.models import Conversation, Identity, Inbox, Message, Order, utcnow
from conversation.replies import Author, ReplyRejected, queue_reply
from conversation.types import AuthorType, ChannelKind, Direction
from conversation.uow import UnitOfWork

_conv = Conversation.__table__  # type: ignore[attr-defined]
_msg = Message.__table__  # type: ignore[attr-defined]
_identity = Identity.__table__  # type: ignore[attr-defined]
_inbox = Inbox.__table__  # type: ignore[attr-defined]
_order = Order.__table__  # type: ignore[attr-defined]

_ORDER_COLUMNS = (
    _order.c.number, _order.c.status, _order.c.customer_id, _order.c.placed_at, _order.c.created_at,
    _order.c.carrier, _order.c.tracking_url, _order.c.eta, _order.c.email, _order.c.shipping_address,
)  # fmt: skip


#: Earlier unanswered messages read together with the current one (see `_unanswered_text`).
BURST = timedelta(minutes=2)
MAX_BURST = 5
#: Why the built-in bot stays silent in an inbox with an external agent bot (the caller posts the webhook).
EXTERNAL = "an external bot answers in this inbox"


@dataclass(frozen=True, slots=True)
class BotOutcome:
    """What the bot did with a message (`skipped` says why it did nothing)."""

    skipped: str | None = None
    decision: Decision | None = None
    reply_id: int | None = None


async def _message(uow: UnitOfWork, message_id: int) -> Any | None:
    """The message with its inbox's settings and its sender identity's trust, in one query."""
    columns = (
        _msg.c.id, _msg.c.conversation_id, _msg.c.inbox_id, _msg.c.channel, _msg.c.direction, _msg.c.author_type,
        _msg.c.identity_id, _msg.c.text, _msg.c.meta, _msg.c.created_at, _inbox.c.settings.label("inbox_settings"),
        _identity.c.verified.label("identity_verified"), _identity.c.channel_kind.label("identity_channel"),
        _identity.c.extra.label("identity_extra"),
    )  # fmt: skip
    query = (
        sa.select(*columns)
        .join(_inbox, _inbox.c.id == _msg.c.inbox_id)
        .outerjoin(_identity, _identity.c.id == _msg.c.identity_id)
        .where(_msg.c.id == message_id)
    )
    return (await uow.session.exec(query)).first()


async def _conversation_for_update(uow: UnitOfWork, conversation_id: int) -> Any | None:
    """The conversation, locked for this turn: a no-op UPDATE takes PostgreSQL's row lock and SQLite's write
    lock (a SELECT ... FOR UPDATE would not lock on SQLite), so two turns in one thread run one after the
    other, each seeing the state the previous one left."""
    query = sa.update(_conv).where(_conv.c.id == conversation_id).values(id=_conv.c.id).returning(*_conv.c)
    return (await uow.session.exec(query)).first()


def _facts(row: Any, customer_id: int) -> OrderFacts:
    address = row.shipping_address or {}
    return OrderFacts(
        number=row.number,
        status=row.status,
        owned=row.customer_id is not None and row.customer_id == customer_id,
        placed_at=row.placed_at or row.created_at,
        carrier=row.carrier,
        tracking_url=row.tracking_url,
        eta=row.eta,
        email=row.email,
        postcode=address.get("zip") or address.get("postcode") if isinstance(address, dict) else None,
    )


async def find_order(uow: UnitOfWork, number: str, customer_id: int) -> OrderFacts | None:
    """The order a customer names, as stored ("1001", "#1001", "a-2231" all match what classify found)."""
    variants = {number, f"#{number}", number.lower(), f"#{number.lower()}"}
    query = sa.select(*_ORDER_COLUMNS).where(_order.c.number.in_(sorted(variants))).limit(1)
    row = (await uow.session.exec(query)).first()
    return _facts(row, customer_id) if row is not None else None


async def recent_orders(uow: UnitOfWork, customer_id: int, days: int, now: datetime) -> list[OrderFacts]:
    """The customer's orders placed within `days`, newest first (at most a handful)."""
    since = now - timedelta(days=days)
    placed = sa.func.coalesce(_order.c.placed_at, _order.c.created_at)
    query = (
        sa.select(*_ORDER_COLUMNS)
        .where(_order.c.customer_id == customer_id, placed >= since)
        .order_by(placed.desc(), _order.c.id.desc())
        .limit(6)
    )
    return [_facts(row, customer_id) for row in (await uow.session.exec(query)).all()]


def _settings(inbox_settings: dict[str, Any] | None) -> tuple[bool, BotSettings]:
    settings = inbox_settings or {}
    enabled = bool(settings.get("bot_enabled"))
    return enabled, parse_bot_settings(settings.get("bot"))


def _verified(message: Any) -> bool:
    """Whether the sender proved who they are: a verified identity, or a web chat visitor the shop signed in.

    A web chat visitor's own identity stays unverified; once the shop's `identifier_hash` checked out it is
    bound to that signed-in user (`extra.user`, conversation.webchat.link_verified_visitor).
    """
    if message.identity_id is None or message.identity_verified is None:
        return False
    bound = message.identity_channel == ChannelKind.WEBCHAT.value and bool((message.identity_extra or {}).get("user"))
    return bool(message.identity_verified) or bound


async def _unanswered_texts(uow: UnitOfWork, message: Any, last_answered: int) -> list[str]:
    """The customer's messages since the bot's last turn, up to this one, oldest first.

    Usually just this message. When a customer sends two messages in a row ("where is my order?", "1003")
    their jobs may run in either order; the turn that runs first reads both (and the other then finds
    them answered), so the bot answers the conversation as it stands, once.
    """
    query = (
        sa.select(_msg.c.text)
        .where(
            _msg.c.conversation_id == message.conversation_id,
            _msg.c.direction == Direction.INBOUND.value,
            _msg.c.id > last_answered,
            _msg.c.id <= message.id,
            _msg.c.created_at >= message.created_at - BURST,
        )
        .order_by(_msg.c.id.desc())
        .limit(MAX_BURST)
    )
    texts = [row[0] or "" for row in (await uow.session.exec(query)).all()]
    return list(reversed(texts)) or [message.text or ""]


def _skip_reason(message: Any, conversation: Any) -> str | None:
    if message is None or conversation is None:
        return "gone"
    if message.direction != Direction.INBOUND.value or message.author_type != AuthorType.CUSTOMER.value:
        return "not a customer message"
    if (message.meta or {}).get("auto_reply"):
        return "auto-reply"
    state = conversation.bot_state or {}
    if conversation.assignee_id is not None or state.get("handed_off"):
        return "a human has the conversation"
    if int(state.get("last_message_id") or 0) >= message.id:
        return "already answered"
    return None


async def respond(uow: UnitOfWork, message_id: int, now: datetime | None = None) -> BotOutcome:
    """Take the bot's turn for inbound message `message_id` (the caller commits)."""
    now = now or utcnow()
    message = await _message(uow, message_id)
    conversation = await _conversation_for_update(uow, message.conversation_id) if message else None
    skipped = _skip_reason(message, conversation)
    if skipped is not None or message is None or conversation is None:
        return BotOutcome(skipped=skipped or "gone")
    if (message.inbox_settings or {}).get("agent_bot_url"):
        return BotOutcome(skipped=EXTERNAL)
    enabled, settings = _settings(message.inbox_settings)
    if not enabled:
        return BotOutcome(skipped="the bot is off in this inbox")
    state = dict(conversation.bot_state or {})
    texts = await _unanswered_texts(uow, message, int(state.get("last_message_id") or 0))
    classification = merge_burst([(t, classify(t, settings.languages, settings.default_language)) for t in texts])
    text = "\n".join(texts)
    number = wanted_number(classification, state)
    customer_id = conversation.customer_id
    recent = []
    if needs_recent_orders(classification, state):
        recent = await recent_orders(uow, customer_id, settings.recent_days, now)
    turn = Turn(
        text=text,
        classification=classification,
        verified=_verified(message),
        recent_orders=recent,
        named_order=await find_order(uow, number, customer_id) if number else None,
        state=state,
        now=now,
    )
    decision = decide(turn, settings)
    decision.state["last_message_id"] = message.id
    return await _apply(uow, message, conversation, settings, decision, now)


async def _apply(
    uow: UnitOfWork, message: Any, conversation: Any, settings: BotSettings, decision: Decision, now: datetime
) -> BotOutcome:
    reply_id = None
    if decision.reply:
        meta = {"bot_name": settings.name, "bot": {"reason": decision.reason, "language": decision.language}}
        try:
            reply = await queue_reply(
                uow, conversation.id, Author(AuthorType.BOT, None, settings.name), decision.reply,
                channel=message.channel, meta=meta, now=now,
            )  # fmt: skip
            reply_id = reply.id
        except ReplyRejected:
            # The customer's channel cannot be answered (no identity to reply to): the team takes it.
            decision = Decision(None, decision.state, True, "unanswerable", decision.language)
    if decision.handoff:
        await hand_off(
            uow, conversation.id, decision.reason, bot_name=settings.name, waiting_since=message.created_at,
            state=decision.state, now=now,
        )  # fmt: skip
    else:
        await uow.session.exec(sa.update(_conv).where(_conv.c.id == conversation.id).values(bot_state=decision.state))
    return BotOutcome(decision=decision, reply_id=reply_id)
