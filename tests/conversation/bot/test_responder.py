"""The bot's turn on a real database: ingest defers the job, the responder replies, hands over, stops."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from conversation.bot.handoff import HANDOFF_TAG
from conversation.bot.responder import respond
from conversation.conversations import ConversationChange, update_conversation
from conversation.events import CONVERSATION_UPDATED, JOB_BOT, JOB_DELIVER
from conversation.ingest import InboxPolicy, receive_inbound
from conversation.models import Conversation, ConversationTag, Message
from conversation.orders import order_input_from_payload, upsert_order
from conversation.replies import Author, queue_reply
from conversation.types import AuthorType, ChannelKind, ExternalIdentity, InboundMessage
from conversation.uow import UnitOfWork
from hub.config import Settings
from hub.storage.engine import SessionFactory
from tests.factories import make_agent, make_inbox

NOW = datetime.now(UTC)


class Shop:
    """An `api` inbox with the bot on, a customer with orders, and helpers to talk and look."""

    def __init__(self, db: SessionFactory, inbox_id: int) -> None:
        self.db = db
        self.inbox_id = inbox_id
        self.count = 0

    async def order(self, number: str, status: str, email: str, days_ago: int = 1, **fulfillment: Any) -> None:
        payload = {
            "number": number,
            "status": status,
            "customer": {"email": email},
            "placed_at": (NOW - timedelta(days=days_ago)).isoformat(),
            "fulfillment": fulfillment or None,
        }
        async with UnitOfWork(self.db()) as uow:
            await upsert_order(uow, order_input_from_payload(payload))
            await uow.commit()

    async def write(self, text: str, email: str = "ada@example.com") -> tuple[int, list[str]]:
        """An inbound message from the customer with `email`; returns (message id, jobs deferred)."""
        self.count += 1
        msg = InboundMessage(
            channel_kind=ChannelKind.API,
            inbox_id=self.inbox_id,
            external_message_id=f"m-{self.count}",
            sender=ExternalIdentity(address=email, email=email, verified=True),
            text=text,
            sent_at=NOW,
        )
        async with UnitOfWork(self.db()) as uow:
            result = await receive_inbound(uow, msg, InboxPolicy(self.inbox_id, "api", bot_enabled=True))
            jobs = [job.name for job in uow.jobs]
            await uow.commit()
        assert result.message_id is not None
        return result.message_id, jobs

    async def bot_turn(self, message_id: int) -> tuple[Any, list[str]]:
        async with UnitOfWork(self.db()) as uow:
            outcome = await respond(uow, message_id)
            events = [e.type for e in uow.events]
            jobs = [j.name for j in uow.jobs]
            await uow.commit()
        return outcome, [*events, *jobs]

    async def conversation(self) -> Conversation:
        async with self.db() as session:
            return (await session.exec(sa.select(Conversation))).scalars().one()  # type: ignore[call-overload, no-any-return]

    async def messages(self) -> list[Message]:
        async with self.db() as session:
            rows = await session.exec(sa.select(Message).order_by(Message.id))  # type: ignore[call-overload]
            return list(rows.scalars().all())


@pytest.fixture
async def shop(db: SessionFactory, settings: Settings) -> Shop:
    inbox = await make_inbox(
        db,
        settings,
        "api",
        {"hmac_secret": "k", "bot_enabled": True, "bot": {"name": "Shopbot", "languages": ["en", "nl"]}},
    )
    return Shop(db, int(inbox.id or 0))


async def test_the_bot_answers_the_customers_own_order(shop: Shop) -> None:
    await shop.order("1002", "shipped", "ada@example.com", carrier="PostNL", tracking_url="https://t.example/1")
    message_id, jobs = await shop.write("waar is mijn bestelling?")
    assert jobs == [JOB_BOT]
    outcome, effects = await shop.bot_turn(message_id)
    assert outcome.decision.reason == "answered" and JOB_DELIVER in effects
    reply = (await shop.messages())[-1]
    assert reply.id == outcome.reply_id
    assert (reply.direction, reply.author_type, reply.status, reply.channel) == ("outbound", "bot", "queued", "api")
    assert reply.meta["bot_name"] == "Shopbot" and reply.meta["bot"] == {"reason": "answered", "language": "nl"}
    assert reply.text.startswith("Je bestelling #1002 is onderweg. Je pakket is verzonden met PostNL.")
    conversation = await shop.conversation()
    assert conversation.bot_state["last_message_id"] == message_id and not conversation.bot_state.get("handed_off")
    assert conversation.waiting_since is None and conversation.last_message_author_type == "bot"

    # The same job again (a retry, the sweeper) does nothing.
    again, _ = await shop.bot_turn(message_id)
    assert again.skipped == "already answered"
    assert len(await shop.messages()) == 2


async def test_handoff_marks_the_conversation_and_stops_the_bot(shop: Shop) -> None:
    message_id, _ = await shop.write("can I talk to a human please")
    outcome, effects = await shop.bot_turn(message_id)
    assert outcome.decision.handoff and CONVERSATION_UPDATED in effects
    messages = await shop.messages()
    assert [(m.author_type, m.direction) for m in messages] == [
        ("customer", "inbound"),
        ("bot", "outbound"),
        ("system", "system"),
    ]
    assert messages[1].text == "Thanks for your message! A human colleague will reply shortly."
    assert messages[2].text == "Shopbot handed the conversation to the team: the customer asked for a person"
    conversation = await shop.conversation()
    assert conversation.bot_state["handed_off"] and conversation.bot_state["handoff_reason"] == "requested"
    assert conversation.tags == [HANDOFF_TAG]
    assert conversation.waiting_since is not None  # the team still owes the customer an answer
    async with shop.db() as session:
        tags = (await session.exec(sa.select(ConversationTag.tag))).all()  # type: ignore[call-overload]
    assert [t[0] for t in tags] == [HANDOFF_TAG]

    await shop.order("1002", "shipped", "ada@example.com")
    later, jobs = await shop.write("where is my order 1002?")
    assert jobs == []  # ingest no longer asks the bot
    skipped, _ = await shop.bot_turn(later)
    assert skipped.skipped == "a human has the conversation"


async def test_a_human_reply_or_assignment_stops_the_bot(shop: Shop, db: SessionFactory) -> None:
    await shop.order("1002", "paid", "ada@example.com")
    first, _ = await shop.write("hello, where is my order?")
    agent, _ = await make_agent(db, role="agent")
    conversation = await shop.conversation()
    async with UnitOfWork(db()) as uow:
        await update_conversation(uow, int(conversation.id or 0), ConversationChange(assignee_id=agent.id), agent)
        await uow.commit()
    outcome, _ = await shop.bot_turn(first)  # the job ran after the agent took the thread
    assert outcome.skipped == "a human has the conversation"

    async with UnitOfWork(db()) as uow:
        await update_conversation(uow, int(conversation.id or 0), ConversationChange(unassign=True), agent)
        await uow.commit()
    _, jobs = await shop.write("still there?")
    assert jobs == []  # taken over once: the bot stays out even when unassigned again


async def test_a_human_reply_stops_the_bot(shop: Shop, db: SessionFactory) -> None:
    await shop.write("hi")
    conversation = await shop.conversation()
    agent, _ = await make_agent(db, role="agent")
    async with UnitOfWork(db()) as uow:
        await queue_reply(uow, int(conversation.id or 0), Author(AuthorType.AGENT, agent.id, agent.name), "Hi Ada!")
        await uow.commit()
    message_id, jobs = await shop.write("where is my order?")
    assert jobs == []
    assert (await shop.bot_turn(message_id))[0].skipped == "a human has the conversation"


async def test_a_bot_reply_does_not_take_the_conversation_over(shop: Shop) -> None:
    await shop.order("1002", "paid", "ada@example.com")
    await shop.order("1003", "paid", "ada@example.com", days_ago=2)
    message_id, _ = await shop.write("where is my order?")
    outcome, _ = await shop.bot_turn(message_id)
    assert outcome.decision.reason == "listed_orders"
    second, jobs = await shop.write("1003")
    assert jobs == [JOB_BOT]
    outcome, _ = await shop.bot_turn(second)
    assert outcome.decision.reason == "answered" and outcome.decision.order_number == "1003"


async def test_old_orders_are_not_recent(shop: Shop) -> None:
    await shop.order("900", "delivered", "ada@example.com", days_ago=400)
    message_id, _ = await shop.write("where is my order?")
    outcome, _ = await shop.bot_turn(message_id)
    assert outcome.decision.reason == "no_orders_found"
    named, _ = await shop.write("ok but where is my order 900?")
    outcome, _ = await shop.bot_turn(named)  # named, it is still theirs
    assert outcome.decision.reason == "answered"


async def test_the_bot_is_off_when_the_inbox_turns_it_off(shop: Shop, db: SessionFactory) -> None:
    message_id, _ = await shop.write("where is my order?")
    async with db() as session:
        await session.exec(sa.text("UPDATE inbox SET settings = :s"), params={"s": '{"hmac_secret_set": true}'})  # type: ignore[call-overload]
        await session.commit()
    outcome, _ = await shop.bot_turn(message_id)
    assert outcome.skipped == "the bot is off in this inbox"


async def test_a_signed_in_web_chat_visitor_counts_as_verified(
    shop: Shop, db: SessionFactory, settings: Settings
) -> None:
    """A visitor the shop signed in (`identifier_hash`) is bound to that user; an anonymous one is not."""
    from conversation.models import Identity

    chat = await make_inbox(
        db, settings, "webchat", {"website_url": "https://shop.example.com", "hmac_secret": "s", "bot_enabled": True}
    )
    await shop.order("1002", "shipped", "ada@example.com", carrier="PostNL")
    async with db() as session:
        owner = (
            await session.exec(sa.select(Identity.customer_id).where(Identity.address == "ada@example.com"))
        ).scalar_one()  # type: ignore[call-overload]
        for visitor, extra in (("v_signed_in", {"user": "ada-account", "inbox_id": chat.id}), ("v_anonymous", {})):
            session.add(
                Identity(customer_id=owner, channel_kind="webchat", address=visitor, verified=False, extra=extra)
            )
        await session.commit()
    outcomes = {}
    for visitor in ("v_signed_in", "v_anonymous"):
        msg = InboundMessage(
            channel_kind=ChannelKind.WEBCHAT,
            inbox_id=int(chat.id or 0),
            external_message_id=f"{visitor}:1",
            sender=ExternalIdentity(address=visitor, verified=False),
            text="where is my order 1002?",
            sent_at=NOW,
        )
        async with UnitOfWork(db()) as uow:
            result = await receive_inbound(uow, msg, InboxPolicy(int(chat.id or 0), "webchat", bot_enabled=True))
            await uow.commit()
        outcome, _ = await shop.bot_turn(int(result.message_id or 0))
        outcomes[visitor] = outcome.decision.reason
        # Both write into the same customer's thread: start the second one from a clean bot state.
        async with db() as session:
            await session.exec(sa.update(Conversation).values(bot_state={}))  # type: ignore[call-overload]
            await session.commit()
    assert outcomes == {"v_signed_in": "answered", "v_anonymous": "asked_verification"}


async def test_two_quick_messages_are_answered_once_whichever_job_runs_first(shop: Shop) -> None:
    """"where is my order?" then "1003" a moment later: the jobs may run in either order."""
    await shop.order("1002", "paid", "ada@example.com")
    await shop.order("1003", "shipped", "ada@example.com", days_ago=2)
    first, _ = await shop.write("where is my order?")
    second, _ = await shop.write("1003")
    late, _ = await shop.bot_turn(second)  # the second message's job wins the race
    assert late.decision.reason == "answered" and late.decision.order_number == "1003"
    early, _ = await shop.bot_turn(first)
    assert early.skipped == "already answered"
    assert [m.author_type for m in await shop.messages()] == ["customer", "customer", "bot"]


async def test_concurrent_turns_of_one_thread_run_one_after_the_other(shop: Shop) -> None:
    await shop.order("1002", "paid", "ada@example.com")
    await shop.order("1003", "shipped", "ada@example.com", days_ago=2)
    first, _ = await shop.write("where is my order?")
    second, _ = await shop.write("1003")
    outcomes = await asyncio.gather(shop.bot_turn(first), shop.bot_turn(second))
    decisions = [outcome.decision for outcome, _ in outcomes if outcome.decision is not None]
    # Whichever ran first: the 1003 question is answered exactly once, and nothing was handed over.
    assert [d.order_number for d in decisions if d.reason == "answered"] == ["1003"]
    assert not any(d.handoff for d in decisions)
    conversation = await shop.conversation()
    assert conversation.bot_state["last_message_id"] == second and not conversation.bot_state.get("handed_off")
