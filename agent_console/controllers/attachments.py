"""`/api/v1/attachments/{id}`: attachment bytes, for agents who may see the message."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from agent_console.deps import ConsoleContext
from conversation.access import may_see_conversation
from conversation.models import Agent, Attachment, Message
from conversation.uow import UnitOfWork

#: Types a browser may show inline; everything else downloads (no HTML/SVG from customers in our origin).
_INLINE = {
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "audio/mpeg",
    "audio/ogg",
    "video/mp4",
}


@get("/api/v1/attachments/{attachment_id:int}", tags=["attachments"], summary="Download an attachment")
async def download_attachment(
    request: Request[Agent, Any, Any],
    attachment_id: FromPath[int],
    uow: NamedDependency[UnitOfWork],
    console: NamedDependency[ConsoleContext],
) -> Response[bytes]:
    att = await uow.session.get(Attachment, attachment_id)
    message = await uow.session.get(Message, att.message_id) if att else None
    if (
        att is None
        or message is None
        or not await may_see_conversation(uow.session, request.user, message.conversation_id)
    ):
        raise NotFoundException("attachment not found")
    if att.status != "stored" or not att.storage_key:
        raise NotFoundException(f"attachment not available ({att.status})")
    data = await console.read_attachment(att.storage_key)
    inline = att.content_type in _INLINE
    safe_name = "".join(c for c in att.filename if c.isalnum() or c in "._- ") or "attachment"
    return Response(
        content=data,
        media_type=att.content_type if inline else "application/octet-stream",
        headers={
            "Content-Disposition": f'{"inline" if inline else "attachment"}; filename="{safe_name}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, max-age=3600",
        },
    )
