"""Bulk actions on the conversation list: one change applied to many conversations in one transaction."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from conversation.conversations import ChangeRejected, ConversationChange, normalize_tags, update_conversation
from conversation.models import Agent, Conversation
from conversation.uow import UnitOfWork

_conv = Conversation.__table__  # type: ignore[attr-defined]

#: A bulk action touches at most this many conversations (a page of the list is 25-100).
MAX_BULK = 200


@dataclass(slots=True)
class BulkResult:
    """Summaries of the conversations changed, and why the others were not."""

    updated: list[dict[str, Any]] = field(default_factory=list)
    rejected: dict[int, str] = field(default_factory=dict)


def _tags_after(current: Sequence[str], add: Sequence[str], remove: Sequence[str]) -> list[str]:
    removed = set(normalize_tags(list(remove)))
    return [t for t in normalize_tags([*current, *add]) if t not in removed]


async def bulk_update(
    uow: UnitOfWork,
    conversation_ids: Sequence[int],
    change: ConversationChange,
    actor: Agent | None,
    *,
    add_tags: Sequence[str] = (),
    remove_tags: Sequence[str] = (),
) -> BulkResult:
    """Apply `change` (plus tag additions/removals) to each conversation; each gets its own events.

    The caller checks that `actor` may see every id. A conversation the change does not fit (e.g. one
    that no longer exists) is reported in `rejected` and the others still change.
    """
    ids = list(dict.fromkeys(int(i) for i in conversation_ids))
    if len(ids) > MAX_BULK:
        raise ChangeRejected(f"at most {MAX_BULK} conversations at once")
    result = BulkResult()
    tags_by_id: dict[int, list[str]] = {}
    if add_tags or remove_tags:
        rows = (await uow.session.exec(sa.select(_conv.c.id, _conv.c.tags).where(_conv.c.id.in_(ids)))).all()
        tags_by_id = {int(r.id): list(r.tags or []) for r in rows}
    for conversation_id in ids:
        one = change
        if add_tags or remove_tags:
            tags = _tags_after(tags_by_id.get(conversation_id, []), add_tags, remove_tags)
            one = dataclasses.replace(change, tags=tags)
        try:
            result.updated.append(await update_conversation(uow, conversation_id, one, actor))
        except ChangeRejected as exc:
            result.rejected[conversation_id] = str(exc)
    return result
