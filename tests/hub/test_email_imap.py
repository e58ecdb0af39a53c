"""The IMAP poller against a real Dovecot: backlog, restarts in the middle, IDLE push, polling, moving."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import sqlalchemy as sa

from connectors.email.settings import email_settings
from conversation.models import InboxState
from hub.config import Settings
from hub.email_poller import EmailPoller, EmailPollers, polls
from hub.services import Services, create_services
from hub.storage.engine import SessionFactory
from tests.connectors.email.mail import build
from tests.factories import make_inbox
from tests.fakes.dovecot import NO_IDLE, Dovecot
from tests.hub.email_helpers import mailbox_state, start_dovecot, stored_ids, wait_for


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    yield from start_dovecot()


@pytest.fixture(scope="module")
def dovecot_without_idle() -> Iterator[Dovecot]:
    yield from start_dovecot(NO_IDLE)


@pytest.fixture
async def services(db: SessionFactory, settings: Settings) -> AsyncIterator[Services]:
    """The hub's services on this test's own loop (the poller runs here, not in a live hub)."""
    built = create_services(settings)
    yield built
    await built.close()


def mail(n: int, **kwargs: object) -> bytes:
    return build(message_id=f"<m{n}@customer.example.org>", subject=f"Question {n}", text=f"Question number {n}",
                 **kwargs)  # type: ignore[arg-type]  # fmt: skip


async def poller_for(services: Services, inbox_id: int, settings: dict[str, object]) -> EmailPoller:
    poller = EmailPoller(services, inbox_id, email_settings(settings), idle_slice=0.2)
    await poller.start()
    return poller


async def test_backlog_then_a_restart_in_the_middle_loses_and_repeats_nothing(
    dovecot: Dovecot, db: SessionFactory, settings: Settings, services: Services
) -> None:
    user = dovecot.add_user()
    config = dovecot.settings(user)
    inbox = await make_inbox(db, settings, "email", config)
    assert inbox.id is not None
    total = 40
    for n in range(total):
        dovecot.deliver(user, mail(n))

    first = await poller_for(services, inbox.id, config)
    await wait_for(lambda: _count_at_least(db, inbox.id, 3), what="the first messages")  # type: ignore[arg-type]
    await first.stop()  # mid-batch: the rest is still unread on the server
    taken = await stored_ids(db, inbox.id)
    assert 3 <= len(taken) < total

    # The worst moment to die: a message stored, its position not yet saved (and not yet marked read).
    async with db() as session:
        state = (await session.exec(sa.select(InboxState).where(InboxState.inbox_id == inbox.id))).scalar_one()
        assert state.key == "imap:INBOX" and state.value["uidvalidity"] > 0
        rewound = {**state.value, "backlog": [len(taken), *state.value["backlog"]]}
        await session.exec(sa.update(InboxState).where(InboxState.inbox_id == inbox.id).values(value=rewound))
        await session.commit()
    for n in range(total, total + 5):
        dovecot.deliver(user, mail(n))  # new mail while nobody polls

    second = await poller_for(services, inbox.id, config)
    try:
        ids = await wait_for(lambda: _count_at_least(db, inbox.id, total + 5), what="every message")  # type: ignore[arg-type]
    finally:
        await second.stop()
    assert sorted(ids) == sorted(f"m{n}@customer.example.org" for n in range(total + 5))  # none twice, none missed
    flags = mailbox_state(dovecot, user)
    assert len(flags) == total + 5 and all(b"\\Seen" in f for f in flags.values())


async def test_idle_push_wakes_the_poller(
    dovecot: Dovecot, db: SessionFactory, settings: Settings, services: Services
) -> None:
    user = dovecot.add_user()
    config = dovecot.settings(user, poll_interval=3600)  # only a push can be this quick
    inbox = await make_inbox(db, settings, "email", config)
    assert inbox.id is not None
    poller = await poller_for(services, inbox.id, config)
    try:
        await wait_for(lambda: _flag(poller.synced.is_set()), what="the first sync")
        dovecot.deliver(user, mail(1))
        await wait_for(lambda: _count_at_least(db, inbox.id, 1), timeout=5, what="the pushed message")  # type: ignore[arg-type]
    finally:
        await poller.stop()
    assert await stored_ids(db, inbox.id) == ["m1@customer.example.org"]


async def test_without_idle_it_polls_and_moves_processed_mail(
    dovecot_without_idle: Dovecot, db: SessionFactory, settings: Settings, services: Services
) -> None:
    server = dovecot_without_idle
    user = server.add_user()
    config = server.settings(user, poll_interval=0.3, processed_folder="Processed")
    inbox = await make_inbox(db, settings, "email", config)
    assert inbox.id is not None
    server.deliver(user, mail(1))
    poller = await poller_for(services, inbox.id, config)
    try:
        await wait_for(lambda: _count_at_least(db, inbox.id, 1), what="the first message")  # type: ignore[arg-type]
        server.deliver(user, mail(2))
        await wait_for(lambda: _count_at_least(db, inbox.id, 2), what="the polled message")  # type: ignore[arg-type]
    finally:
        await poller.stop()
    assert mailbox_state(server, user) == {}
    assert len(mailbox_state(server, user, "Processed")) == 2


async def test_the_background_task_follows_inboxes(
    dovecot: Dovecot, db: SessionFactory, settings: Settings, services: Services
) -> None:
    user = dovecot.add_user()
    inbox = await make_inbox(db, settings, "email", dovecot.settings(user))
    demo = await make_inbox(db, settings, "email", {**dovecot.settings(user), "imap_host": "imap.example.com"})
    off = await make_inbox(db, settings, "email", {**dovecot.settings(user), "imap_enabled": False})
    assert not polls(email_settings({**dovecot.settings(user), "imap_host": "imap.example.com"}))
    pollers = EmailPollers(services, refresh_seconds=3600, idle_slice=0.2)
    await pollers.start()
    try:
        await wait_for(lambda: _flag(bool(pollers.pollers)), what="a poller")
        assert set(pollers.pollers) == {inbox.id} and demo.id not in pollers.pollers and off.id not in pollers.pollers
        dovecot.deliver(user, mail(7))
        await wait_for(lambda: _count_at_least(db, inbox.id, 1), what="the message")  # type: ignore[arg-type]
        async with db() as session:
            await session.exec(sa.text("UPDATE inbox SET is_active = false WHERE id = :id").bindparams(id=inbox.id))
            await session.commit()
        await pollers.refresh()
        assert pollers.pollers == {}
    finally:
        await pollers.stop()


async def _count_at_least(db: SessionFactory, inbox_id: int, count: int) -> list[str] | None:
    ids = await stored_ids(db, inbox_id)
    return ids if len(ids) >= count else None


async def _flag(value: bool) -> bool:
    return value


async def test_with_redis_only_one_process_polls_an_inbox(
    dovecot: Dovecot, db: SessionFactory, settings: Settings, services: Services
) -> None:
    if not settings.redis_url:
        pytest.skip("the polling lease lives in Redis: this runs in the PostgreSQL + Redis pass")
    user = dovecot.add_user()
    inbox = await make_inbox(db, settings, "email", dovecot.settings(user))
    assert inbox.id is not None
    # Two worker processes, each with its own services and Redis connection.
    other = create_services(settings)
    first, second = (EmailPollers(s, refresh_seconds=3600, idle_slice=0.2) for s in (services, other))
    await first.start()
    await second.start()
    try:
        await wait_for(lambda: _flag(inbox.id in first.pollers and inbox.id in second.pollers), what="both pollers")
        for n in range(5):
            dovecot.deliver(user, mail(n))
        await wait_for(lambda: _count_at_least(db, inbox.id, 5), what="the messages")  # type: ignore[arg-type]
        counts = sorted(p.pollers[inbox.id][1].stored for p in (first, second))
        assert counts == [0, 5]  # one holds the lease and takes everything; the other waits
    finally:
        await first.stop()
        await second.stop()
        await other.close()
    assert len(await stored_ids(db, inbox.id)) == 5
