"""Agent-side additions for live chat: typing indicators and replies with a file (any channel).

`POST /api/v1/conversations/{id}/typing {"typing": true|false}` publishes a `typing` event on the
conversation (the visitor's widget shows "Sam is typing…"; other consoles see it too).
`POST /api/v1/conversations/{id}/attachments` (multipart: `file`, `text?`, `channel?`, `private?`) stores a
reply with a file through the normal outbox.
"""

from __future__ import annotations

import contextlib
from typing import Any

import msgspec
import sqlalchemy as sa
from litestar import Request, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromPath, JSONBody

from conversation.access import may_see_conversation
from conversation.models import Agent, Attachment, Conversation
from conversation.replies import Author, ReplyRejected, queue_reply
from conversation.types import AuthorType
from conversation.views import message_view
from hub.services import Services
from hub.webchat.service import TYPING


class TypingBody(msgspec.Struct):
    """Whether the agent is typing in this conversation right now."""

    typing: bool = True


def _safe_name(name: str) -> str:
    return "".join(c for c in name.replace("\\", "/").rsplit("/", 1)[-1] if c.isprintable())[:200] or "file"


def agent_routes(services: Services) -> list[Any]:
    """Route handlers under `/api/v1` (agent authentication and CSRF apply as to the rest of the API)."""

    async def conversation_inbox(agent: Agent, conversation_id: int) -> int:
        async with services.sessions() as db:
            if not await may_see_conversation(db, agent, conversation_id):
                raise NotFoundException("conversation not found")
            query = sa.select(Conversation.inbox_id).where(Conversation.id == conversation_id)  # type: ignore[call-overload]
            return int((await db.exec(query)).scalar())

    @post("/api/v1/conversations/{conversation_id:int}/typing", status_code=200, tags=["conversations"],
          summary="Tell the customer (web chat) and other agents that you are typing")  # fmt: skip
    async def agent_typing(
        request: Request[Agent, Any, Any], conversation_id: FromPath[int], data: JSONBody[TypingBody]
    ) -> dict[str, Any]:
        """The same `typing` event the console's stream sends (`{type, conversation_id, agent}`), plus
        `typing: false` when the agent stopped (the widget otherwise hides the indicator after a few seconds).
        """
        agent = request.user
        await conversation_inbox(agent, conversation_id)
        event = {
            "type": TYPING,
            "conversation_id": conversation_id,
            "agent": {"id": agent.id, "name": agent.name},
            "typing": data.typing,
        }
        with contextlib.suppress(RuntimeError):  # channels not started: nobody can be listening
            await services.channels.wait_published(event, [f"conversation:{conversation_id}"])
        return {"ok": True}

    @post("/api/v1/conversations/{conversation_id:int}/attachments", status_code=201, tags=["conversations"],
          summary="Reply with a file (multipart: file, text?, channel?, private?)",
          request_max_body_size=services.settings.max_attachment_bytes + 256 * 1024)  # fmt: skip
    async def agent_attachment(request: Request[Agent, Any, Any], conversation_id: FromPath[int]) -> dict[str, Any]:
        agent = request.user
        await conversation_inbox(agent, conversation_id)
        form = await request.form()
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise ValidationException("the form needs a file")
        content = await file.read(services.settings.max_attachment_bytes + 1)
        if not content or len(content) > services.settings.max_attachment_bytes:
            raise ValidationException(
                f"the file must be between 1 byte and {services.settings.max_attachment_bytes // (1024 * 1024)} MB"
            )
        filename = _safe_name(file.filename or "file")
        content_type = (file.content_type or "application/octet-stream").split(";")[0].strip()[:200]
        attachment = Attachment(
            filename=filename,
            content_type=content_type,
            size=len(content),
            storage_key=await services.store.put(content),
            status="stored",
        )
        async with services.uow() as uow:
            try:
                message = await queue_reply(
                    uow, conversation_id, Author(AuthorType.AGENT, agent.id, agent.name),
                    str(form.get("text") or ""), channel=str(form.get("channel") or "") or None,
                    private=str(form.get("private") or "").lower() in ("1", "true", "yes"), attachments=[attachment],
                )  # fmt: skip
            except ReplyRejected as exc:
                if exc.status_code == 404:
                    raise NotFoundException(exc.reason) from exc
                raise ValidationException(exc.reason) from exc
            view = message_view(message, agents={agent.id: agent}, attachments=[attachment])  # type: ignore[dict-item]
            await uow.commit()
        return view

    return [agent_typing, agent_attachment]
