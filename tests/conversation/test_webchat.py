"""Which unread web chat replies are emailed, and how far the continuity cursor may move (pure rules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from conversation.webchat import plan_offline_emails

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
DELAY = timedelta(seconds=120)


def reply(id_: int, status: str, age_seconds: float | None, conversation: int = 1, **meta: object) -> SimpleNamespace:
    sent_at = None if age_seconds is None else NOW - timedelta(seconds=age_seconds)
    return SimpleNamespace(id=id_, conversation_id=conversation, status=status, sent_at=sent_at, meta=meta)


def test_unread_replies_past_the_delay_are_grouped_per_conversation() -> None:
    rows = [reply(1, "sent", 300), reply(2, "delivered", 200, conversation=2), reply(3, "sent", 150)]
    plan = plan_offline_emails(rows, 0, NOW, DELAY)
    assert {k: [r.id for r in v] for k, v in plan.emails.items()} == {1: [1, 3], 2: [2]}
    assert plan.cursor == 3


def test_read_failed_and_already_emailed_replies_are_passed_over() -> None:
    rows = [reply(4, "read", 300), reply(5, "failed", None), reply(6, "sent", 300, emailed_as=99)]
    plan = plan_offline_emails(rows, 3, NOW, DELAY)
    assert plan.emails == {} and plan.cursor == 6


def test_the_cursor_waits_at_the_first_reply_that_may_still_need_an_email() -> None:
    rows = [reply(7, "sent", 300), reply(8, "sent", 30), reply(9, "sent", 300)]
    plan = plan_offline_emails(rows, 6, NOW, DELAY)
    assert [r.id for r in plan.emails[1]] == [7] and plan.cursor == 7
    queued = plan_offline_emails([reply(10, "queued", None), reply(11, "sent", 300)], 9, NOW, DELAY)
    assert queued.emails == {} and queued.cursor == 9


def test_replies_long_past_the_delay_are_not_emailed_late() -> None:
    plan = plan_offline_emails([reply(12, "sent", 120 + 3 * 3600)], 11, NOW, DELAY)
    assert plan.emails == {} and plan.cursor == 12
