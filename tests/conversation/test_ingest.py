"""Identity resolution and threading rules of receive_inbound(), on a real database."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from conversation.events import CONVERSATION_CREATED, JOB_BOT, MESSAGE_CREATED, DomainEvent, Job
from conversation.identities import InvalidAddress, full_name
from conversation.ingest import InboxPolicy, IngestResult, receive_inbound
from conversation.models import Conversation, Customer, Identity, Inbox, MergeSuggestion, Message
from conversation.types import ChannelKind, ExternalIdentity, InboundMessage
from conversation.uow import UnitOfWork
from hub.storage.engine import SessionFactory

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def inboxes(db: SessionFactory) -> dict[str, int]:
    async with db() as session:
        rows = {
            kind: Inbox(kind=kind, name=kind) for kind in ("email", "sms", "whatsapp", "api", "telegram", "webchat")
        }
        session.add_all(rows.values())
        await session.commit()
        return {kind: int(row.id or 0) for kind, row in rows.items()}


def inbound(
    inboxes: dict[str, int], kind: str, ext: str, address: str, text: str = "hi", **kw: object
) -> InboundMessage:
    sender = kw.pop("sender", None) or ExternalIdentity(address=address)
    return InboundMessage(
        channel_kind=ChannelKind(kind),
        inbox_id=inboxes[kind],
        external_message_id=ext,
        sender=sender,  # type: ignore[arg-type]
        text=text,
        sent_at=T0,
        **kw,  # type: ignore[arg-type]
    )


@dataclass
class Outcome:
    """What one ingest did, with the events and jobs it left for after the commit."""

    result: IngestResult
    events: list[DomainEvent]
    jobs: list[Job]

    def __getattr__(self, name: str) -> object:
        return getattr(self.result, name)


async def ingest(db: SessionFactory, msg: InboundMessage, now: datetime = T0, bot: bool = False) -> Outcome:
    async with UnitOfWork(db()) as uow:
        result = await receive_inbound(
            uow, msg, InboxPolicy(id=msg.inbox_id, kind=msg.channel_kind, bot_enabled=bot), now=now
        )
        outcome = Outcome(result, list(uow.events), list(uow.jobs))
        if result.duplicate:
            await uow.rollback()
        else:
            await uow.commit()
        return outcome


async def rows(db: SessionFactory, model: type) -> list:  # type: ignore[type-arg]
    async with db() as session:
        return list((await session.exec(select(model))).all())


# --- identity ----------------------------------------------------------------------------------


async def test_email_addresses_are_lowercased_and_validated(db: SessionFactory, inboxes: dict[str, int]) -> None:
    first = await ingest(db, inbound(inboxes, "email", "<a@x>", "Ada.Lovelace@Example.COM"))
    second = await ingest(db, inbound(inboxes, "email", "<b@x>", "ada.lovelace@example.com"))
    assert first.customer_id == second.customer_id
    identities = await rows(db, Identity)
    assert [(i.channel_kind, i.address, i.email) for i in identities] == [
        ("email", "ada.lovelace@example.com", "ada.lovelace@example.com")
    ]
    with pytest.raises(InvalidAddress):
        await ingest(db, inbound(inboxes, "email", "<c@x>", "not-an-email"))


async def test_phones_normalise_to_e164_and_join_across_sms_and_whatsapp(
    db: SessionFactory, inboxes: dict[str, int]
) -> None:
    sms = await ingest(db, inbound(inboxes, "sms", "SM1", "+1 (555) 555-0142"))
    wa = await ingest(db, inbound(inboxes, "whatsapp", "wamid.1", "15555550142"))
    assert sms.customer_id == wa.customer_id
    assert sms.conversation_id == wa.conversation_id
    assert sorted((i.channel_kind, i.address) for i in await rows(db, Identity)) == [
        ("sms", "+15555550142"),
        ("whatsapp", "+15555550142"),
    ]
    with pytest.raises(InvalidAddress):
        await ingest(db, inbound(inboxes, "sms", "SM2", "hello"))


async def test_api_contact_with_email_and_phone_links_to_existing_customers(
    db: SessionFactory, inboxes: dict[str, int]
) -> None:
    by_mail = await ingest(db, inbound(inboxes, "email", "<m@x>", "grace@example.com"))
    api = await ingest(
        db,
        inbound(
            inboxes,
            "api",
            "a-1",
            "",
            sender=ExternalIdentity(
                address="cust-7", name="Grace", email="GRACE@example.com", phone="+44 20 7946 0018"
            ),
        ),
    )
    assert api.customer_id == by_mail.customer_id
    sms = await ingest(db, inbound(inboxes, "sms", "SM9", "+442079460018"))
    assert sms.customer_id == by_mail.customer_id
    customers = await rows(db, Customer)
    assert len(customers) == 1 and customers[0].name == "Grace" and customers[0].phone == "+442079460018"


async def test_unverified_email_claim_creates_a_suggestion_not_a_link(
    db: SessionFactory, inboxes: dict[str, int]
) -> None:
    known = await ingest(db, inbound(inboxes, "email", "<k@x>", "lin@example.com"))
    claim = ExternalIdentity(address="visitor-1", email="lin@example.com", verified=False)
    visitor = await ingest(db, inbound(inboxes, "webchat", "w-1", "", sender=claim))
    assert visitor.customer_id != known.customer_id
    suggestions = await rows(db, MergeSuggestion)
    assert [(s.customer_id, s.other_customer_id, s.status) for s in suggestions] == [
        (visitor.customer_id, known.customer_id, "open")
    ]


async def test_a_new_customer_with_a_known_full_name_is_suggested_not_merged(
    db: SessionFactory, inboxes: dict[str, int]
) -> None:
    first = await ingest(db, inbound(inboxes, "email", "<a@x>", "ada@example.com", sender=ExternalIdentity(
        address="ada@example.com", email="ada@example.com", name="Ada Lovelace")))  # fmt: skip
    alias = ExternalIdentity(address="@ada_l", name="ada  LOVELACE")  # other case and spacing: same name
    second = await ingest(db, inbound(inboxes, "telegram", "t-1", "", sender=alias))
    alone = await ingest(
        db, inbound(inboxes, "telegram", "t-2", "", sender=ExternalIdentity(address="@ada", name="Ada"))
    )
    assert len({first.customer_id, second.customer_id, alone.customer_id}) == 3  # nothing merged
    suggestions = await rows(db, MergeSuggestion)
    assert [(s.customer_id, s.other_customer_id, s.reason) for s in suggestions] == [
        (second.customer_id, first.customer_id, "same full name")
    ]  # a first name alone ("Ada") suggests nothing


def test_only_full_names_can_suggest_a_merge() -> None:
    assert full_name("  Ada   Lovelace ") == "Ada Lovelace"
    assert full_name("Анна Петрова") == "Анна Петрова"
    for weak in (None, "", "Ada", "A B", "Visitor 12", "@ada_l", "J. 42"):
        assert full_name(weak) is None, weak


# --- dedupe and edits --------------------------------------------------------------------------


async def test_repeated_delivery_is_absorbed(db: SessionFactory, inboxes: dict[str, int]) -> None:
    msg = inbound(inboxes, "telegram", "42:7", "4242", "first")
    first = await ingest(db, msg)
    again = await ingest(db, msg)
    assert not first.duplicate and again.duplicate and again.message_id is None
    assert len(await rows(db, Message)) == 1 and len(await rows(db, Conversation)) == 1


async def test_edit_replaces_text_and_keeps_history(db: SessionFactory, inboxes: dict[str, int]) -> None:
    original = await ingest(db, inbound(inboxes, "telegram", "42:8", "4242", "where is my ordr"))
    edited = await ingest(db, inbound(inboxes, "telegram", "42:8", "4242", "where is my order", is_edit=True))
    assert edited.edited and edited.message_id == original.message_id
    (message,) = await rows(db, Message)
    assert message.text == "where is my order" and message.edited_at is not None
    assert message.meta["edits"][0]["text"] == "where is my ordr"


# --- threading ---------------------------------------------------------------------------------


async def test_any_channel_joins_the_latest_unresolved_conversation(
    db: SessionFactory, inboxes: dict[str, int]
) -> None:
    a = await ingest(
        db, inbound(inboxes, "api", "a-1", "", sender=ExternalIdentity(address="c1", email="zoe@example.com"))
    )
    b = await ingest(db, inbound(inboxes, "email", "<z@x>", "zoe@example.com"))
    assert a.conversation_id == b.conversation_id
    (conversation,) = await rows(db, Conversation)
    assert (
        conversation.channels == ["api", "email"] and conversation.message_count == 2 and conversation.unread_count == 2
    )
    assert conversation.last_message_channel == "email"


async def _resolve(db: SessionFactory, conversation_id: int, at: datetime) -> None:
    async with db() as session:
        await session.exec(
            sa.update(Conversation).where(Conversation.id == conversation_id).values(status="resolved", resolved_at=at)
        )  # type: ignore[arg-type]
        await session.commit()


async def test_resolved_conversation_reopens_within_the_window_else_a_new_one(
    db: SessionFactory, inboxes: dict[str, int]
) -> None:
    first = await ingest(db, inbound(inboxes, "sms", "SM1", "+15555550100"))
    await _resolve(db, first.conversation_id or 0, T0)
    reopened = await ingest(db, inbound(inboxes, "sms", "SM2", "+15555550100"), now=T0 + timedelta(days=6))
    assert reopened.conversation_id == first.conversation_id
    async with db() as session:
        conversation = await session.get(Conversation, first.conversation_id)
        assert conversation is not None and conversation.status == "open" and conversation.resolved_at is None
    await _resolve(db, first.conversation_id or 0, T0 + timedelta(days=6))
    later = await ingest(db, inbound(inboxes, "sms", "SM3", "+15555550100"), now=T0 + timedelta(days=14))
    assert later.conversation_id != first.conversation_id and later.created_conversation


async def test_auto_reply_never_reopens(db: SessionFactory, inboxes: dict[str, int]) -> None:
    first = await ingest(db, inbound(inboxes, "email", "<1@x>", "ooo@example.com"))
    await _resolve(db, first.conversation_id or 0, T0)
    auto = await ingest(
        db,
        inbound(inboxes, "email", "<2@x>", "ooo@example.com", is_auto_reply=True),
        now=T0 + timedelta(hours=1),
        bot=True,
    )
    assert auto.conversation_id == first.conversation_id
    async with db() as session:
        conversation = await session.get(Conversation, first.conversation_id)
        assert conversation is not None and conversation.status == "resolved"
    assert auto.jobs == []  # and no bot run


async def test_email_reply_headers_point_to_their_own_thread(db: SessionFactory, inboxes: dict[str, int]) -> None:
    first = await ingest(db, inbound(inboxes, "email", "<t1@x>", "kim@example.com", subject="Order 1"))
    second = await ingest(db, inbound(inboxes, "email", "<t2@x>", "kim@example.com", subject="Order 2"))
    assert first.conversation_id == second.conversation_id  # unified: same open thread
    await _resolve(db, first.conversation_id or 0, T0)
    fresh = await ingest(db, inbound(inboxes, "email", "<t3@x>", "kim@example.com"), now=T0 + timedelta(days=30))
    assert fresh.conversation_id != first.conversation_id
    # A reply to the old thread's message goes there (reopened: within the window of its resolution).
    await _resolve(db, first.conversation_id or 0, T0 + timedelta(days=29))
    reply = await ingest(
        db,
        inbound(
            inboxes, "email", "<t4@x>", "kim@example.com", in_reply_to_external_id="<t1@x>", references=("<t1@x>",)
        ),
        now=T0 + timedelta(days=30),
    )
    assert reply.conversation_id == first.conversation_id


async def test_reply_token_finds_the_conversation(db: SessionFactory, inboxes: dict[str, int]) -> None:
    first = await ingest(db, inbound(inboxes, "email", "<r1@x>", "max@example.com"))
    async with db() as session:
        conversation = await session.get(Conversation, first.conversation_id)
        assert conversation is not None
        token = conversation.ref_token
    other = await ingest(db, inbound(inboxes, "email", "<r2@x>", "colleague@example.com", thread_token=token))
    assert other.conversation_id == first.conversation_id


async def test_events_and_bot_job_are_recorded(db: SessionFactory, inboxes: dict[str, int]) -> None:
    result = await ingest(
        db, inbound(inboxes, "api", "e-1", "", sender=ExternalIdentity(address="c9", name="Eve")), bot=True
    )
    assert [e.type for e in result.events] == [CONVERSATION_CREATED, MESSAGE_CREATED]
    created = result.events[1].payload()
    assert created["message"]["author"] == {"type": "customer", "id": result.customer_id, "name": "Eve"}
    assert created["conversation"]["unread"] == 1 and created["inbox_id"] == inboxes["api"]
    assert [j.name for j in result.jobs] == [JOB_BOT]


async def test_new_customer_sender_keeps_display_name(db: SessionFactory, inboxes: dict[str, int]) -> None:
    msg = inbound(inboxes, "telegram", "1:1", "", sender=ExternalIdentity(address="99", name="Ivan Petrov"))
    await ingest(db, replace(msg))
    (customer,) = await rows(db, Customer)
    assert customer.name == "Ivan Petrov"


async def test_a_contact_bridging_two_customers_links_one_and_suggests_the_other(
    db: SessionFactory, inboxes: dict[str, int]
) -> None:
    by_phone = await ingest(db, inbound(inboxes, "sms", "SM1", "+15555550177"))
    by_mail = await ingest(db, inbound(inboxes, "email", "<b1@x>", "bo@example.com"))
    bridge = ExternalIdentity(address="cust-bo", email="bo@example.com", phone="+15555550177")
    api = await ingest(db, inbound(inboxes, "api", "a-9", "", sender=bridge))
    assert api.customer_id == by_phone.customer_id  # the oldest verified identity wins
    assert [(s.customer_id, s.other_customer_id) for s in await rows(db, MergeSuggestion)] == [
        (by_phone.customer_id, by_mail.customer_id)
    ]


# One contact key per identity: the only case where linking cannot depend on arrival order.
_PEOPLE = [
    [("sms", "+15555550101", None, None), ("whatsapp", "15555550101", None, None), ("api", "p1", None, "+15555550101")],
    [("email", "ana@example.com", None, None), ("api", "p2", "ANA@example.com", None)],
    [("telegram", "7001", None, None)],
    [("webchat", "visitor-3", None, "+15555550101")],  # an unverified claim: never linked
]


def _delivery_pool(inboxes: dict[str, int]) -> list[InboundMessage]:
    pool = []
    for person, identities in enumerate(_PEOPLE):
        for n, (kind, address, email, phone) in enumerate(identities):
            sender = ExternalIdentity(address=address, email=email, phone=phone, verified=kind != "webchat")
            for k in range(2):
                pool.append(
                    inbound(inboxes, kind, f"{kind}-{person}-{n}-{k}", address, f"{person}/{n}/{k}", sender=sender)
                )
    return pool


async def _threads(db: SessionFactory) -> tuple[frozenset[frozenset[str]], int]:
    async with db() as session:
        pairs = (await session.exec(sa.select(Message.conversation_id, Message.external_id))).all()  # type: ignore[call-overload]
    by_conversation: dict[int, set[str]] = {}
    for conversation_id, external_id in pairs:
        by_conversation.setdefault(conversation_id, set()).add(external_id)
    return frozenset(frozenset(ids) for ids in by_conversation.values()), len(pairs)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_any_delivery_order_gives_the_same_threads_and_no_duplicates(
    db: SessionFactory, database_url: str, data: st.DataObject
) -> None:
    from tests.conftest import _reset

    await _reset(database_url)
    async with db() as session:
        created = {
            kind: Inbox(kind=kind, name=kind) for kind in ("email", "sms", "whatsapp", "api", "telegram", "webchat")
        }
        session.add_all(created.values())
        await session.commit()
        inboxes = {kind: int(row.id or 0) for kind, row in created.items()}
    pool = _delivery_pool(inboxes)
    order = data.draw(st.permutations(pool))
    repeats = data.draw(st.lists(st.sampled_from(pool), max_size=6))  # providers retry at any time
    for msg in [*order, *repeats]:
        await ingest(db, msg)
    threads, stored = await _threads(db)
    assert stored == len(pool)
    expected = {
        frozenset(m.external_message_id for m in pool if m.external_message_id.split("-")[1] == str(person))
        for person in range(len(_PEOPLE))
    }
    assert threads == expected
