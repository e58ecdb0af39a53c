"""Domain events (published after commit) and deferred jobs (enqueued after commit)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Event names are "<resource>.<past verb>"; they are the `type` of what consoles receive.
MESSAGE_CREATED = "message.created"
MESSAGE_UPDATED = "message.updated"
CONVERSATION_CREATED = "conversation.created"
CONVERSATION_UPDATED = "conversation.updated"
CUSTOMER_UPDATED = "customer.updated"
ORDER_UPDATED = "order.updated"

# Job names: the outbox and the bot run these; a job only triggers work whose truth is a row.
JOB_DELIVER = "deliver_message"
JOB_BOT = "bot_reply"
JOB_FETCH_ATTACHMENT = "fetch_attachment"


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """Something that happened, with what a console needs to update itself without refetching.

    `inbox_id` routes the event to the agents of that inbox; `conversation_id` to the watchers of one
    thread. `data` is JSON-ready and never carries secrets.
    """

    type: str
    data: dict[str, Any]
    inbox_id: int | None = None
    conversation_id: int | None = None

    def payload(self) -> dict[str, Any]:
        """The wire form: `{type, conversation_id, inbox_id, ...data}`."""
        return {"type": self.type, "conversation_id": self.conversation_id, "inbox_id": self.inbox_id, **self.data}


@dataclass(frozen=True, slots=True)
class Job:
    """Work to do after commit. `key` makes enqueueing idempotent (one job per key at a time)."""

    name: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    key: str | None = None
    delay_seconds: float = 0.0
