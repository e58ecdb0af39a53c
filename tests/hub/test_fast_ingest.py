"""The ingest hot path (known sender, open thread, one round trip) behaves exactly like the general path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from conversation import fast_ingest
from conversation.models import Agent, Conversation, Inbox, Message
from conversation.types import ChannelKind, ExternalIdentity, InboundMessage
from hub.config import Settings
from hub.services import Services, create_services
from hub.storage.engine import SessionFactory
from hub.webhooks import store_inbound

T0 = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)


@pytest.fixture
async def services(db: SessionFactory, settings: Settings) -> AsyncIterator[Services]:
    """The hub's services in the test's own loop (no server: store_inbound is called directly)."""
    hub_services = create_services(settings)
    hub_services.publish = _collect(hub_services)  # type: ignore[method-assign]
    yield hub_services
    await hub_services.raw.close()
    await hub_services.engine.dispose()


def _collect(services: Services) -> Any:
    services.extras["published"] = []

    async def publish(events: Any) -> None:
        services.extras["published"].extend(events)

    return publish


async def _inbox(db: SessionFactory, kind: str = "sms") -> Inbox:
    async with db() as session:
        inbox = Inbox(kind=kind, name=kind, settings={"bot_enabled": True})
        session.add(inbox)
        await session.commit()
        return inbox


def sms(inbox: Inbox, ext: str, phone: str, text: str, **kw: Any) -> InboundMessage:
    return InboundMessage(
        channel_kind=ChannelKind.SMS, inbox_id=inbox.id or 0, external_message_id=ext,
        sender=ExternalIdentity(address=phone), text=text, sent_at=T0, raw={"Body": text}, **kw,
    )  # fmt: skip


async def test_a_known_sender_in_an_open_thread_takes_the_fast_path(
    services: Services, db: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = await _inbox(db)
    first_stored, first = await store_inbound(services, inbox, sms(inbox, "SM1", "+15555550150", "hello"))
    assert first_stored and first.created_conversation
    # The thread is pending on the customer and assigned: their new message reopens it, nobody loses it.
    async with db() as session:
        session.add(Agent(email="sam@example.com", name="Sam", password_hash="x"))
        await session.commit()
        await session.exec(
            sa.update(Conversation).values(status="pending", assignee_id=1, unread_count=0, waiting_since=None)  # type: ignore[call-overload]
        )
        await session.commit()
    calls: list[str] = []
    original = fast_ingest.store_sqlite if services.settings.is_sqlite else fast_ingest.store_postgres

    async def spy(*args: Any) -> Any:
        outcome = await original(*args)
        calls.append(type(outcome).__name__)
        return outcome

    monkeypatch.setattr(fast_ingest, "store_sqlite" if services.settings.is_sqlite else "store_postgres", spy)
    services.extras["published"].clear()
    stored, result = await store_inbound(
        services,
        inbox,
        sms(inbox, "SM2", "+1 555 555 0150", "where is <b>order</b> 1001", html="<b>x</b><script>1</script>"),
    )
    assert stored and calls == ["Stored"]
    assert result.conversation_id == first.conversation_id and result.customer_id == first.customer_id
    async with db() as session:
        message = (await session.exec(select(Message).where(Message.external_id == "SM2"))).one()
        conversation = await session.get(Conversation, first.conversation_id)
    assert conversation is not None
    assert (message.direction, message.author_type, message.author_id, message.channel) == (
        "inbound",
        "customer",
        first.customer_id,
        "sms",
    )
    assert (
        message.html == "<b>x</b>"
        and message.raw == {"Body": "where is <b>order</b> 1001"}
        and message.meta["sent_at"] == T0.isoformat()
    )
    assert (conversation.status, conversation.unread_count, conversation.message_count) == ("open", 1, 2)
    assert conversation.last_message_id == message.id and conversation.last_message_text == "where is <b>order</b> 1001"
    assert conversation.waiting_since is not None and conversation.channels == ["sms"]
    (event,) = services.extras["published"]
    payload = event.payload()
    assert payload["type"] == "message.created" and payload["message"]["id"] == message.id
    assert payload["conversation"]["assignee"]["name"] == "Sam" and payload["conversation"]["status"] == "open"
    assert payload["message"]["author"] == {"type": "customer", "id": first.customer_id, "name": None}

    again, duplicate = await store_inbound(services, inbox, sms(inbox, "SM2", "+15555550150", "where is order 1001"))
    assert not again and duplicate.duplicate and calls == ["Stored", "bool"]
    async with db() as session:
        assert len((await session.exec(select(Message))).all()) == 2


async def test_cases_with_rules_of_their_own_take_the_general_path(services: Services, db: SessionFactory) -> None:
    inbox = await _inbox(db)
    _, first = await store_inbound(services, inbox, sms(inbox, "SM1", "+15555550160", "hi"))
    async with db() as session:
        await session.exec(sa.update(Conversation).values(status="resolved", resolved_at=datetime.now(UTC)))  # type: ignore[call-overload]
        await session.commit()
    _, reopened = await store_inbound(services, inbox, sms(inbox, "SM2", "+15555550160", "me again"))
    assert reopened.conversation_id == first.conversation_id  # the general path reopened it
    async with db() as session:
        conversation = await session.get(Conversation, first.conversation_id)
        assert conversation is not None and conversation.status == "open" and conversation.resolved_at is None
    assert not fast_ingest.applicable(sms(inbox, "x", "+1", "t", is_auto_reply=True))
    assert not fast_ingest.applicable(sms(inbox, "x", "+1", "t", references=("<a@b>",)))
    assert not fast_ingest.applicable(sms(inbox, "x", "+1", "t", is_edit=True))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(range(12)), repeats=st.lists(st.integers(0, 11), max_size=5))
async def test_mixed_paths_keep_one_thread_per_customer_and_no_duplicates(
    services: Services, database_url: str, order: list[int], repeats: list[int]
) -> None:
    from tests.conftest import _reset

    await _reset(database_url)
    async with services.sessions() as session:
        inbox = Inbox(kind="sms", name="sms")
        session.add(inbox)
        await session.commit()
    deliveries = [sms(inbox, f"SM{n}", f"+1555555{n % 3:04d}", f"message {n}") for n in range(12)]
    for index in [*order, *repeats]:
        await store_inbound(services, inbox, deliveries[index])
    async with services.sessions() as session:
        rows = (await session.exec(select(Message.external_id, Message.conversation_id))).all()  # type: ignore[call-overload]
        conversations = (await session.exec(select(Conversation))).all()
    assert len(rows) == 12 and len(conversations) == 3
    by_conversation: dict[int, set[str]] = {}
    for external_id, conversation_id in rows:
        by_conversation.setdefault(conversation_id, set()).add(external_id)
    assert sorted(sorted(ids) for ids in by_conversation.values()) == sorted(
        sorted(f"SM{n}" for n in range(12) if n % 3 == k) for k in range(3)
    )
    assert sorted(c.message_count for c in conversations) == [4, 4, 4]
    assert all(c.unread_count == 4 for c in conversations)


async def test_first_messages_of_a_new_sender_arriving_together_make_one_customer(
    services: Services, db: SessionFactory
) -> None:
    import asyncio

    from conversation.models import Customer, Identity

    inbox = await _inbox(db)
    results = await asyncio.gather(
        *(store_inbound(services, inbox, sms(inbox, f"SM{n}", "+15555550170", f"hi {n}")) for n in range(6))
    )
    assert all(stored for stored, _ in results)
    assert len({result.conversation_id for _, result in results}) == 1
    async with db() as session:
        assert len((await session.exec(select(Customer))).all()) == 1
        assert len((await session.exec(select(Identity))).all()) == 1
        conversation = (await session.exec(select(Conversation))).one()
    assert conversation.message_count == 6 and conversation.unread_count == 6


async def test_a_new_sender_with_a_known_full_name_is_suggested_on_the_fast_path(
    services: Services, db: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conversation.models import Customer, MergeSuggestion

    inbox = await _inbox(db)
    calls: list[str] = []
    name = "store_sqlite" if services.settings.is_sqlite else "store_postgres"
    original = getattr(fast_ingest, name)

    async def spy(*args: Any) -> Any:
        outcome = await original(*args)
        calls.append(type(outcome).__name__)
        return outcome

    monkeypatch.setattr(fast_ingest, name, spy)

    def named(ext: str, phone: str, name: str) -> InboundMessage:
        return replace(sms(inbox, ext, phone, "hello"), sender=ExternalIdentity(address=phone, name=name))

    _, first = await store_inbound(services, inbox, named("SM1", "+15555550191", "Grace Hopper"))
    _, second = await store_inbound(services, inbox, named("SM2", "+15555550192", "grace hopper"))
    await store_inbound(services, inbox, named("SM3", "+15555550193", "Grace"))
    assert calls == ["Stored"] * 3  # all three new senders took the fast path
    async with db() as session:
        assert len((await session.exec(select(Customer))).all()) == 3
        suggestions = (await session.exec(select(MergeSuggestion))).all()
    assert [(s.customer_id, s.other_customer_id, s.reason) for s in suggestions] == [
        (second.customer_id, first.customer_id, "same full name")
    ]


async def test_a_new_sender_whose_phone_is_known_links_through_the_general_path(
    services: Services, db: SessionFactory
) -> None:
    from conversation.models import Identity

    sms_inbox = await _inbox(db)
    whatsapp = await _inbox(db, "whatsapp")
    _, first = await store_inbound(services, sms_inbox, sms(sms_inbox, "SM1", "+15555550180", "by sms"))
    on_whatsapp = InboundMessage(
        channel_kind=ChannelKind.WHATSAPP, inbox_id=whatsapp.id or 0, external_message_id="wamid.1",
        sender=ExternalIdentity(address="15555550180", name="Kai"), text="by whatsapp", sent_at=T0,
    )  # fmt: skip
    _, second = await store_inbound(services, whatsapp, on_whatsapp)
    assert second.customer_id == first.customer_id and second.conversation_id == first.conversation_id
    async with db() as session:
        kinds = sorted(i.channel_kind for i in (await session.exec(select(Identity))).all())
    assert kinds == ["sms", "whatsapp"]


async def test_an_id_reused_by_another_new_sender_is_not_lost_or_doubled(
    services: Services, db: SessionFactory
) -> None:
    inbox = await _inbox(db)
    await store_inbound(services, inbox, sms(inbox, "SMsame", "+15555550191", "first"))
    stored, result = await store_inbound(services, inbox, sms(inbox, "SMsame", "+15555550192", "same id, other phone"))
    assert not stored and result.duplicate
    async with db() as session:
        assert [m.text for m in (await session.exec(select(Message))).all()] == ["first"]
        assert len((await session.exec(select(Conversation))).all()) == 1
