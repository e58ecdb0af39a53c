"""Console side queries (view counts, tags, reply channels, delivery windows), teams and bulk changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from conversation import workspace
from conversation.bulk import bulk_update
from conversation.conversations import ChangeRejected, ConversationChange, update_conversation
from conversation.events import CONVERSATION_UPDATED
from conversation.ingest import InboxPolicy, receive_inbound
from conversation.models import Agent, Inbox
from conversation.teams import TeamError, create_team, delete_team, list_teams, set_team_members
from conversation.types import ChannelKind, ExternalIdentity, InboundMessage
from conversation.uow import UnitOfWork
from conversation.workspace import delivery_warning, open_tags, reply_options, view_counts
from hub.storage.engine import SessionFactory

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
async def setup(db: SessionFactory) -> dict[str, int]:
    async with db() as session:
        inboxes = {k: Inbox(kind=k, name=k) for k in ("sms", "whatsapp", "api")}
        agents = [Agent(email=f"a{i}@example.com", name=f"Agent {i}", password_hash="x") for i in (1, 2)]
        session.add_all([*inboxes.values(), *agents])
        await session.commit()
        ids = {k: int(v.id or 0) for k, v in inboxes.items()}
        ids.update({"agent1": int(agents[0].id or 0), "agent2": int(agents[1].id or 0)})
        return ids


async def ingest(db: SessionFactory, ids: dict[str, int], kind: str, address: str, ext: str, when: datetime) -> int:
    msg = InboundMessage(
        channel_kind=ChannelKind(kind), inbox_id=ids[kind], external_message_id=ext,
        sender=ExternalIdentity(address=address, name="Ada", phone="+15555550142" if kind != "sms" else None),
        text="hello", sent_at=when,
    )  # fmt: skip
    async with UnitOfWork(db()) as uow:
        result = await receive_inbound(uow, msg, InboxPolicy(id=ids[kind], kind=kind), now=when)
        await uow.commit()
    return int(result.conversation_id)


def test_delivery_warning_only_for_windowed_channels() -> None:
    assert delivery_warning("sms", None, NOW) is None
    assert delivery_warning("whatsapp", NOW - timedelta(hours=23), NOW) is None
    late = delivery_warning("whatsapp", NOW - timedelta(hours=25), NOW)
    assert late is not None and "older than 24 hours" in late
    never = delivery_warning("whatsapp", None, NOW)
    assert never is not None and "has not written on whatsapp" in never


async def test_reply_options_offer_the_customers_channels_default_to_the_last_inbound(
    db: SessionFactory, setup: dict[str, int]
) -> None:
    conversation = await ingest(db, setup, "whatsapp", "+15555550142", "w1", NOW - timedelta(hours=30))
    assert await ingest(db, setup, "sms", "+15555550142", "s1", NOW - timedelta(hours=1)) == conversation
    async with db() as session:
        options = await reply_options(session, conversation)
    kinds = {c.kind: c for c in options.channels}
    assert options.default == "sms"
    assert set(kinds) == {"sms", "whatsapp"}
    assert kinds["whatsapp"].window_hours == 24
    assert kinds["whatsapp"].last_inbound_at == NOW - timedelta(hours=30)
    assert delivery_warning("whatsapp", kinds["whatsapp"].last_inbound_at, NOW) is not None
    async with db() as session:
        inbox = await session.get(Inbox, setup["whatsapp"])
        assert inbox is not None
        inbox.is_active = False
        session.add(inbox)
        await session.commit()
        options = await reply_options(session, conversation)
    paused = next(c for c in options.channels if c.kind == "whatsapp")
    assert not paused.available and paused.reason == "no whatsapp inbox is connected"


async def test_view_counts_and_tags(db: SessionFactory, setup: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    first = await ingest(db, setup, "sms", "+15555550101", "a", NOW)
    second = await ingest(db, setup, "api", "cust-2", "b", NOW)
    async with UnitOfWork(db()) as uow:
        actor = await uow.session.get(Agent, setup["agent1"])
        await update_conversation(uow, first, ConversationChange(assignee_id=setup["agent1"], tags=["VIP"]), actor)
        await uow.commit()
    async with db() as session:
        counts = await view_counts(session, [setup["sms"], setup["api"], setup["whatsapp"]], setup["agent1"])
        tags = await open_tags(session, [setup["sms"], setup["api"]])
        hidden = await view_counts(session, [setup["api"]], setup["agent1"])
    assert (counts.all.open, counts.mine.open, counts.unassigned.open) == (2, 1, 1)
    assert counts.all.unread == 2 and counts.inboxes[setup["sms"]].open == 1
    assert tags == [("vip", 1)]
    assert (hidden.all.open, hidden.mine.open) == (1, 0)
    assert hidden.inboxes[setup["api"]] == hidden.all and second != first
    third = await ingest(db, setup, "sms", "+15555550103", "c", NOW)
    monkeypatch.setattr(workspace, "OPEN_CAP", 1)  # a view with more than the cap shows "1+"
    async with db() as session:
        capped = await view_counts(session, [setup["sms"], setup["api"]], setup["agent1"])
    assert (capped.unassigned.open, capped.unassigned.label) == (1, "1+") and third not in (first, second)
    assert capped.mine.label == "1" and not capped.mine.capped
    assert capped.inboxes[setup["api"]].label == "1" and capped.all.label == "2+"


async def test_bulk_update_applies_one_change_to_many_and_reports_the_rest(
    db: SessionFactory, setup: dict[str, int]
) -> None:
    ids = [await ingest(db, setup, "sms", f"+1555555010{i}", f"m{i}", NOW) for i in range(3)]
    async with UnitOfWork(db()) as uow:
        actor = await uow.session.get(Agent, setup["agent2"])
        result = await bulk_update(
            uow, [*ids, 999_999], ConversationChange(status="resolved", assignee_id=setup["agent2"]), actor,
            add_tags=["Returns"],
        )  # fmt: skip
        events = [e for e in uow.events if e.type == CONVERSATION_UPDATED]
        await uow.commit()
    assert [s["id"] for s in result.updated] == ids
    assert all(s["status"] == "resolved" and s["tags"] == ["returns"] for s in result.updated)
    assert result.rejected == {999_999: "conversation not found"}
    assert len(events) == 3
    async with UnitOfWork(db()) as uow:
        result = await bulk_update(uow, ids[:1], ConversationChange(), None, remove_tags=["RETURNS"])
        await uow.commit()
    assert result.updated[0]["tags"] == []


async def test_teams_create_members_assign_and_delete(db: SessionFactory, setup: dict[str, int]) -> None:
    conversation = await ingest(db, setup, "sms", "+15555550190", "t1", NOW)
    async with UnitOfWork(db()) as uow:
        team = await create_team(uow, "  Returns  ", [setup["agent1"]])
        await uow.commit()
    async with UnitOfWork(db()) as uow:
        with pytest.raises(TeamError, match="already exists"):
            await create_team(uow, "returns")
        with pytest.raises(TeamError, match="no agent with id 424242"):
            await set_team_members(uow, team, [424242])
        assert await set_team_members(uow, team, [setup["agent2"], setup["agent1"]]) == sorted(
            [setup["agent1"], setup["agent2"]]
        )
        summary = await update_conversation(uow, conversation, ConversationChange(team_id=team), None)
        with pytest.raises(ChangeRejected, match="no team with id 777"):
            await update_conversation(uow, conversation, ConversationChange(team_id=777), None)
        await uow.commit()
    assert summary["team_id"] == team
    async with UnitOfWork(db()) as uow:
        assert (await list_teams(uow))[0]["name"] == "Returns"
        await delete_team(uow, team)
        await uow.commit()
        assert await list_teams(uow) == []
