"""The widget layer: visitor sessions, their messages, files, receipts, typing and log-ins.

The socket (`socket.py`) and the REST fallback (`http.py`) both go through `WidgetService`, so a
visitor gets the same answers whichever transport their network allows.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import msgspec

from connectors.base import InboxConfig, MalformedPayload, RawRequest, SignatureInvalid
from connectors.registry import get_connector
from connectors.webchat.connector import (
    LOCALES,
    RECEIPT_PREFIX,
    VISITOR_ID,
    MessageTooLarge,
    Visitor,
    WebchatConnector,
    origin_allowed,
    signature_valid,
    widget_settings,
)
from connectors.webchat.payloads import MAX_IDENTIFIER_CHARS, HelloFrame, ReceiptFrame, UserClaims
from conversation import webchat as domain
from conversation.addresses import normalize_email
from conversation.events import CONVERSATION_UPDATED, MESSAGE_CREATED, MESSAGE_UPDATED
from conversation.models import Inbox, utcnow
from conversation.types import DeliveryStatus, InboundMessage
from hub.errors import ApiError
from hub.inbox_cache import inbox_cache
from hub.services import Services
from hub.webchat import tokens
from hub.webchat.limits import IDENTIFY, MESSAGES, READS, UPLOADS, Limit, RateLimiter
from hub.webhooks import store_inbound

log = logging.getLogger(__name__)

TYPING = "typing"
REFRESH = "webchat.refresh"
#: Ids are taken at insert but transactions may commit out of order: a resync also returns this recent past.
SYNC_OVERLAP = timedelta(seconds=15)
_TYPING_EVERY = 2.0


class WidgetError(Exception):
    """Something the widget is told (`{"type": "error", "code", "message"}` or an HTTP error)."""

    def __init__(self, code: str, message: str, status: int = 400, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.retry_after = retry_after

    def frame(self, **extra: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"type": "error", "code": self.code, "message": self.message, **extra}
        if self.retry_after is not None:
            body["retry_after"] = self.retry_after
        return body


@dataclass
class Session:
    """One widget's session: which inbox, from which website, which visitor, what they may see."""

    inbox: Inbox
    account: InboxConfig
    origin: str
    visitor: Visitor
    token: str
    state: domain.VisitorState = field(default_factory=domain.VisitorState)
    live: list[tuple[int, int]] = field(default_factory=list)  # (conversation id, its inbox id), newest first
    typing_sent: tuple[float, bool] = (0.0, False)
    sid: str = field(default_factory=lambda: secrets.token_hex(8))  # tells this session's own nudges apart

    @property
    def inbox_id(self) -> int:
        assert self.inbox.id is not None
        return self.inbox.id

    @property
    def visitor_id(self) -> str:
        return self.visitor.visitor_id

    def channels(self) -> set[str]:
        """Live channels: the visitor's conversations, plus nudges for the visitor and their customer."""
        wanted = {f"conversation:{cid}" for cid, _ in self.live} | {f"webchat:visitor:{self.visitor_id}"}
        if self.state.customer_id is not None:
            wanted.add(f"webchat:customer:{self.state.customer_id}")
        return wanted

    def sees(self, conversation_id: Any) -> bool:
        return any(cid == conversation_id for cid, _ in self.live)


def _locale(value: str | None) -> str | None:
    code = (value or "").strip().lower()[:2]
    return code if code in LOCALES else None


def _clip(value: str | None, size: int) -> str | None:
    value = (value or "").strip()
    return value[:size] if value else None


class WidgetService:
    """Everything a widget can ask of the hub (see module docstring)."""

    def __init__(self, services: Services) -> None:
        connector = get_connector("webchat")
        assert isinstance(connector, WebchatConnector), "the webchat connector must be registered"
        self.services = services
        self.connector = connector
        self.key = services.settings.resolved_secret_key
        self.limiter = RateLimiter(services.settings.redis_url, services.settings.redis_namespace)
        self._inboxes = inbox_cache(services)

    # --- sessions ---------------------------------------------------------------------------------

    async def inbox(self, inbox_id: int | None) -> tuple[Inbox, InboxConfig]:
        """The active webchat inbox `inbox_id` (kept a few seconds), else 404."""
        found = await self._inboxes.get(inbox_id) if inbox_id else None
        if found is None or found[0].kind != "webchat" or not found[0].is_active:
            raise WidgetError("unknown_inbox", "there is no chat with this id", 404)
        return found

    @staticmethod
    def check_origin(account: InboxConfig, origin: str | None) -> str:
        if not origin or not origin_allowed(origin, account.settings):
            raise WidgetError("origin_refused", "this website may not use this chat", 403)
        return origin

    async def open_session(self, inbox_id: int | None, origin: str | None, hello: HelloFrame) -> Session:
        """A session from the widget's hello: its token's visitor, or a new visitor when the token is not valid."""
        inbox, account = await self.inbox(inbox_id)
        origin = self.check_origin(account, origin)
        visitor_id = tokens.read_token(self.key, account.id, hello.token) or tokens.new_visitor_id()
        session = Session(
            inbox=inbox,
            account=account,
            origin=origin,
            visitor=Visitor(visitor_id, _locale(hello.locale)),
            token=tokens.visitor_token(self.key, account.id, visitor_id),
        )
        await self.refresh(session)
        return session

    async def resume(self, inbox_id: int | None, origin: str | None, token: str | None) -> Session:
        """A REST call's session: the token must be valid (else 401, and the widget starts over)."""
        inbox, account = await self.inbox(inbox_id)
        origin = self.check_origin(account, origin)
        visitor_id = tokens.read_token(self.key, account.id, token)
        if visitor_id is None:
            raise WidgetError("session_invalid", "this chat session is not valid any more", 401)
        session = Session(
            inbox, account, origin, Visitor(visitor_id), tokens.visitor_token(self.key, account.id, visitor_id)
        )
        await self.refresh(session)
        return session

    async def refresh(self, session: Session) -> None:
        """Re-read the visitor's customer and conversations (after a first message, a log-in, a nudge)."""
        async with self.services.sessions() as db:
            session.state = await domain.visitor_state(db, session.visitor_id)
            session.live = await domain.visitor_conversations(db, session.state.customer_id)

    async def ready(self, session: Session, last_id: int | None) -> dict[str, Any]:
        """The session frame: token, inbox look, profile state and the messages the widget lacks."""
        messages, more = await self.history(session, after=last_id)
        async with self.services.sessions() as db:
            seen = await domain.agent_seen_up_to(db, session.state.customer_id)
        form = widget_settings(session.account)["pre_chat_form"]
        identified = session.state.identifier is not None
        state = session.state
        known = state.email if form["require_email"] else (state.name or state.email)
        return {
            "type": "ready",
            "token": session.token,
            "visitor_id": session.visitor_id,
            "inbox": widget_settings(session.account),
            "identified": identified,
            "profile": {"name": session.state.name, "has_email": bool(session.state.email)},
            "needs_profile": bool(form["enabled"] and not identified and not known),
            "messages": messages,
            "has_more": more,
            "resumed": last_id is not None,
            "agent_seen_up_to": seen,
        }

    def file_url(self, attachment_id: int) -> str:
        """A link to an attachment the visitor may see (relative: the widget prefixes its hub's origin)."""
        return f"/widget/files/{attachment_id}/{tokens.file_signature(self.key, attachment_id)}"

    async def history(
        self, session: Session, *, after: int | None = None, before: int | None = None
    ) -> tuple[list[dict[str, Any]], bool]:
        since = utcnow() - SYNC_OVERLAP if after is not None else None
        async with self.services.sessions() as db:
            return await domain.visitor_messages(
                db, session.state.customer_id, self.file_url, after=after, before=before, since=since
            )

    async def _limit(self, session: Session, name: str, limit: Limit) -> None:
        retry_after = await self.limiter.hit(f"{name}:{session.visitor_id}", limit)
        if retry_after:
            raise WidgetError("rate_limited", "too many requests: wait a moment", 429, retry_after)

    # --- messages ---------------------------------------------------------------------------------

    async def post_message(self, session: Session, frame: bytes) -> dict[str, Any]:
        """A visitor message frame: checked and parsed by the connector, stored once (resends are no-ops)."""
        await self._limit(session, "msg", MESSAGES)
        raw = RawRequest(method="WS", url="", headers=session.visitor.headers(session.origin), body=frame)
        try:
            self.connector.verify(raw, session.account)
            parsed = self.connector.parse(raw, session.account)
        except SignatureInvalid as exc:
            raise WidgetError("origin_refused", str(exc), 403) from exc
        except MessageTooLarge as exc:
            raise WidgetError("too_large", str(exc), 413) from exc
        except MalformedPayload as exc:
            raise WidgetError("bad_message", str(exc), 400) from exc
        items = [i for i in parsed.items if isinstance(i, InboundMessage)]
        if not items:
            raise WidgetError("bad_message", "not a message", 400)
        return await self._store(session, items[0])

    async def post_file(
        self, session: Session, client_id: str, text: str, filename: str, content: bytes
    ) -> dict[str, Any]:
        """A visitor's file upload (images, PDF): type read from the bytes, size limited."""
        await self._limit(session, "msg", MESSAGES)
        await self._limit(session, "upload", UPLOADS)
        try:
            msg = self.connector.parse_upload(session.account, session.visitor, client_id, text, filename, content)
        except MessageTooLarge as exc:
            raise WidgetError("too_large", str(exc), 413) from exc
        except MalformedPayload as exc:
            raise WidgetError("file_refused", str(exc), 415) from exc
        return await self._store(session, msg)

    async def _store(self, session: Session, msg: InboundMessage) -> dict[str, Any]:
        try:
            stored, result = await store_inbound(self.services, session.inbox, msg, self.connector)
        except ApiError as exc:
            raise WidgetError("bad_message", str(exc.detail), 422) from exc
        message_id = result.message_id
        if not stored:  # the widget resent a message we already have: answer as the first time
            async with self.services.sessions() as db:
                message_id = await domain.message_by_external_id(db, session.inbox_id, msg.external_message_id)
        known = session.state.customer_id
        if stored and (known != result.customer_id or not session.sees(result.conversation_id)):
            await self.refresh(session)
            await self.nudge(session)
        async with self.services.sessions() as db:
            view = await domain.visitor_message(db, session.state.customer_id, message_id or 0, self.file_url)
        return {"type": "ack", "client_id": msg.meta.get("client_id"), "message": view}

    async def nudge(self, session: Session) -> None:
        """Tell the visitor's other tabs and devices to re-read their conversations (a new one started)."""
        targets = [f"webchat:visitor:{session.visitor_id}"]
        if session.state.customer_id is not None:
            targets.append(f"webchat:customer:{session.state.customer_id}")
        try:
            await self.services.channels.wait_published({"type": REFRESH, "from": session.sid}, targets)
        except RuntimeError:
            log.debug("channels not started; refresh nudge dropped")

    # --- receipts and typing ----------------------------------------------------------------------

    async def receipt(self, session: Session, frame: ReceiptFrame) -> int:
        """The widget showed / the visitor read replies up to an id (only their own replies move)."""
        try:
            status = DeliveryStatus(frame.status)
        except ValueError as exc:
            raise WidgetError("bad_receipt", "status must be delivered or read") from exc
        if status not in (DeliveryStatus.DELIVERED, DeliveryStatus.READ):
            raise WidgetError("bad_receipt", "status must be delivered or read")
        if session.state.customer_id is None:
            return 0
        await self._limit(session, "read", READS)
        async with self.services.uow() as uow:
            moved = await domain.record_visitor_receipt(uow, session.state.customer_id, frame.up_to, status)
            await uow.commit()
        return moved

    async def typing(self, session: Session, typing: bool) -> None:
        """Show agents that the visitor is typing: `{type: "typing", conversation_id, customer, typing}` on
        the conversation's channel (consoles watching it show it), at most one every two seconds per state.
        """
        if not session.live or session.state.customer_id is None:
            return
        last_at, last_state = session.typing_sent
        now = time.monotonic()
        if typing == last_state and now - last_at < _TYPING_EVERY:
            return
        session.typing_sent = (now, typing)
        conversation_id, _ = session.live[0]
        event = {
            "type": TYPING,
            "conversation_id": conversation_id,
            "customer": {"id": session.state.customer_id, "name": session.state.name},
            "typing": typing,
        }
        try:
            await self.services.channels.wait_published(event, [f"conversation:{conversation_id}"])
        except RuntimeError:
            log.debug("channels not started; typing dropped")

    # --- identity ---------------------------------------------------------------------------------

    async def identify(self, session: Session, claims: UserClaims) -> dict[str, Any]:
        """`setUser`: a valid `identifier_hash` joins the shop's customer; a wrong one is refused outright;
        without one, name/email/phone are the visitor's own unverified claims.
        """
        await self._limit(session, "identify", IDENTIFY)
        if claims.identifier_hash:
            return await self._verified(session, claims)
        async with self.services.uow() as uow:
            await domain.claim_profile(
                uow, session.visitor_id, inbox_id=session.inbox_id, name=_clip(claims.name, 300),
                email=_clip(claims.email, 320), phone=_clip(claims.phone, 40),
            )  # fmt: skip
            await uow.commit()
        await self.refresh(session)
        return {"type": "identified", "identified": session.state.identifier is not None, "verified": False}

    async def _verified(self, session: Session, claims: UserClaims) -> dict[str, Any]:
        identifier = (claims.identifier or "").strip()
        secret = str(session.account.settings.get("hmac_secret") or "")
        if (
            not identifier
            or len(identifier) > MAX_IDENTIFIER_CHARS
            or VISITOR_ID.match(identifier)
            or not signature_valid(secret, identifier, claims.identifier_hash)
        ):
            raise WidgetError("identity_rejected", "the identity could not be verified", 403)
        email = normalize_email(claims.email)
        proven = None
        if email and (normalize_email(identifier) == email or signature_valid(secret, email, claims.email_hash)):
            proven = email
        elif not claims.email:
            proven = normalize_email(identifier)  # an email used as the identifier is proven by its hash
        reset = session.state.identifier not in (None, identifier)
        if reset:  # another person logged in on this browser: they must not see the previous chat
            visitor_id = tokens.new_visitor_id()
            session.visitor = replace(session.visitor, visitor_id=visitor_id)
            session.token = tokens.visitor_token(self.key, session.inbox_id, visitor_id)
        user = domain.VerifiedUser(session.inbox_id, identifier, _clip(claims.name, 300), proven)
        async with self.services.uow() as uow:
            await domain.link_verified_visitor(uow, session.visitor_id, user)
            unproven = email if email and email != proven else None
            if unproven or claims.phone:
                await domain.claim_profile(
                    uow, session.visitor_id, inbox_id=session.inbox_id, email=unproven, phone=_clip(claims.phone, 40)
                )
            await uow.commit()
        await self.refresh(session)
        frame: dict[str, Any] = {"type": "identified", "identified": True, "verified": True, "reset": reset}
        if reset:
            frame["token"], frame["visitor_id"] = session.token, session.visitor_id
        return frame

    # --- live events ------------------------------------------------------------------------------

    async def visitor_event(self, session: Session, payload: bytes) -> dict[str, Any] | None:
        """What a published event means to this visitor: a frame to send, or None (not theirs to see).

        Only this visitor's conversations are followed, and within them only web chat messages (never
        notes, system lines or other channels), agent typing and agent read state go out. Replies go out
        once released (`sent`), loaded from the database so the visitor gets exactly their view.
        """
        try:
            event = msgspec.json.decode(payload)
        except msgspec.DecodeError:
            return None
        if not isinstance(event, dict):
            return None
        kind = event.get("type")
        if kind == REFRESH:  # the session that caused it has refreshed already
            return None if event.get("from") == session.sid else {"type": REFRESH}
        if not session.sees(event.get("conversation_id")):
            return None
        if kind in (MESSAGE_CREATED, MESSAGE_UPDATED):
            return await self._message_event(session, kind, event.get("message") or {})
        if kind == TYPING:
            agent = event.get("agent")
            if not isinstance(agent, dict):
                return None  # the visitor's own typing, echoed back
            return {
                "type": TYPING,
                "typing": event.get("typing", True) is not False,
                "author": {"type": "agent", "name": agent.get("name")},
            }
        if kind == CONVERSATION_UPDATED:
            conversation = event.get("conversation") or {}
            if "unread" in (event.get("changes") or []) and conversation.get("unread") == 0:
                return {"type": "read", "by": "agent"}
        return None

    async def _message_event(self, session: Session, kind: str, message: dict[str, Any]) -> dict[str, Any] | None:
        if kind == MESSAGE_CREATED:
            wanted = message.get("channel") == "webchat" and message.get("direction") == "inbound"
        else:
            wanted = message.get("status") == "sent" and str(message.get("external_id") or "").startswith(
                RECEIPT_PREFIX
            )
        if not wanted or not isinstance(message.get("id"), int):
            return None
        async with self.services.sessions() as db:
            view = await domain.visitor_message(db, session.state.customer_id, message["id"], self.file_url)
        return None if view is None else {"type": "message", "message": view}

    async def close(self) -> None:
        await self.limiter.close()
