"""`slack` channel connector: Slack Events API in (v0-signed JSON), chat.postMessage / files out.

Docs: https://docs.slack.dev/apis/events-api/ and
https://docs.slack.dev/authentication/verifying-requests-from-slack/ (see README.md for the decisions).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

import msgspec

from connectors.base import (
    HandshakeReply,
    InboxConfig,
    MalformedPayload,
    ParseResult,
    RawRequest,
    SendFailed,
    SignatureInvalid,
    UnsupportedEvent,
)
from connectors.slack.client import SlackClient, api_base_url
from connectors.slack.payloads import (
    SlackEnvelope,
    SlackEventHead,
    SlackFile,
    SlackMessage,
    SlackMessageChanged,
)
from conversation.types import (
    Attachment,
    ChannelKind,
    ExternalIdentity,
    InboundMessage,
    OutboundMessage,
    SendReceipt,
    SettingsSpec,
)

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Slack-Signature"
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
#: Slack's documented replay window: reject requests whose timestamp is more than 5 minutes off.
REPLAY_WINDOW_SECONDS = 5 * 60

#: Message subtypes that are customer messages; `None` is a plain message.
_CUSTOMER_SUBTYPES = frozenset({None, "thread_broadcast", "file_share", "me_message"})
#: Message subtypes we know and drop: bots (ours included), membership and channel housekeeping, deletions.
# fmt: off
_IGNORED_SUBTYPES = frozenset({
    "bot_message", "message_deleted", "message_replied", "tombstone", "ekm_access_denied",
    "channel_join", "channel_leave", "channel_topic", "channel_purpose", "channel_name",
    "channel_archive", "channel_unarchive", "channel_convert_to_private", "channel_convert_to_public",
    "channel_posting_permissions", "group_join", "group_leave", "group_topic", "group_purpose",
    "group_name", "group_archive", "group_unarchive", "pinned_item", "unpinned_item", "reminder_add",
    "bot_add", "bot_remove", "file_comment", "file_mention", "huddle_thread", "assistant_app_thread",
    "sh_room_created", "sh_room_shared",
})
# fmt: on
#: Non-message events a bot subscription commonly delivers; none is a customer message.
# fmt: off
_IGNORED_EVENT_TYPES = frozenset({
    "app_home_opened", "app_uninstalled", "tokens_revoked", "member_joined_channel",
    "member_left_channel", "channel_left", "channel_created", "channel_deleted", "channel_rename",
    "channel_archive", "channel_unarchive", "channel_shared", "channel_unshared", "group_left",
    "reaction_added", "reaction_removed", "pin_added", "pin_removed", "file_shared", "file_created",
    "file_change", "file_deleted", "file_public", "file_unshared", "link_shared", "user_change",
    "team_join", "im_created", "im_open", "im_close",
})
# fmt: on
#: Slack's own system user (removal notices and the like in DMs); never a customer.
_SLACKBOT = "USLACKBOT"

_TS = re.compile(r"^\d{1,10}\.\d{1,9}$")  # seconds.micro; 10 digits keep datetime in range
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ANGLE = re.compile(r"<([^<>]*)>")


def _event_key(head: SlackEventHead) -> str:
    return f"{head.type}.{head.subtype}" if head.subtype else head.type


def _now() -> float:
    return time.time()


# -- mrkdwn ---------------------------------------------------------------------------------------------------


def _angle_to_plain(match: re.Match[str]) -> str:
    target, _, label = match.group(1).partition("|")
    if target[:1] in ("@", "#"):
        return target[0] + (label or target[1:])
    if target.startswith("!"):  # <!here>, <!subteam^S1|@team>, <!date^...|fallback>
        return label or "@" + target[1:].split("^")[0]
    plain = target.removeprefix("mailto:")
    return f"{label} ({plain})" if label and label not in (target, plain) else plain


def plain_text(mrkdwn: str) -> str:
    """Slack message text as a person would read it.

    Slack escapes `&`, `<`, `>` and writes mentions and links as `<@U1>`, `<#C1|general>`, `<url|label>`
    (https://docs.slack.dev/messaging/formatting-message-text/).
    """
    text = _ANGLE.sub(_angle_to_plain, mrkdwn)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def escape_text(text: str) -> str:
    """Escape the three control characters Slack asks senders to escape."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# -- parse helpers --------------------------------------------------------------------------------------------


def _ts_time(ts: str) -> datetime:
    """A Slack `ts` ("1596183880.004200": seconds.microseconds) as an exact aware datetime (no float rounding)."""
    seconds, _, fraction = ts.partition(".")
    return datetime.fromtimestamp(int(seconds), UTC).replace(microsecond=int(fraction[:6].ljust(6, "0")))


def _require_ts(value: str | None, what: str) -> str:
    if not value or not _TS.match(value):
        raise MalformedPayload(f"{what} is missing or not a Slack timestamp: {value!r}")
    return value


def _require_id(value: str | None, what: str) -> str:
    if not value or not _ID.match(value):
        raise MalformedPayload(f"{what} is missing or not a Slack id: {value!r}")
    return value


def _decode(raw: bytes | msgspec.Raw, shape: type[Any], what: str) -> Any:
    try:
        return msgspec.json.decode(raw, type=shape)
    except msgspec.ValidationError as exc:
        raise MalformedPayload(f"invalid {what}: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise MalformedPayload(f"{what} is not valid JSON") from exc
    except RecursionError as exc:
        raise MalformedPayload(f"{what} is nested too deeply") from exc


def _attachment(file: SlackFile) -> Attachment | None:
    if file.mode in ("tombstone", "hidden_by_limit"):  # deleted, or beyond a free workspace's history
        return None
    url = file.url_private_download or file.url_private
    ref: dict[str, Any] = {"file_id": file.id}
    if file.url_private_download:
        ref["download_url"] = file.url_private_download
    if not url:
        # Slack Connect stub (`file_access: check_file_info`): fetch_attachment asks files.info first.
        ref["file_access"] = file.file_access or "check_file_info"
    return Attachment(
        filename=file.name or file.title or file.id or "file",
        content_type=file.mimetype or "application/octet-stream",
        size=file.size,
        source_url=file.url_private,
        source_ref=ref,
    )


def _thread_ref(channel: str, channel_type: str | None, ts: str, thread_ts: str | None) -> str:
    """Where a reply belongs: the Slack thread (`channel:thread_ts`), or for a top-level DM the DM itself.

    In a channel every top-level customer message starts a thread the agent answers in. A direct message
    is one running conversation, so a top-level DM gets the bare DM channel id and replies stay top-level.
    """
    if thread_ts:
        return f"{channel}:{thread_ts}"
    if channel_type == "im" or (channel_type is None and channel.startswith("D")):
        return channel
    return f"{channel}:{ts}"


def _is_from_bot(message: SlackMessage) -> bool:
    """Bots (including this app's own replies echoed back) never count as customers."""
    return bool(message.bot_id) or message.subtype == "bot_message" or message.user == _SLACKBOT


class _Context(msgspec.Struct):
    """What every handler needs from the envelope."""

    account_id: int
    team_id: str
    event_id: str | None
    event_key: str
    is_ext_shared_channel: bool | None
    retry_num: str | None
    raw: dict[str, Any]


def _inbound(
    ctx: _Context, message: SlackMessage, channel: str, *, is_edit: bool = False, meta: dict[str, Any] | None = None
) -> InboundMessage:
    ts = _require_ts(message.ts, "message ts")
    user = _require_id(message.user, "message user")
    thread_ts = message.thread_ts if message.thread_ts and _TS.match(message.thread_ts) else None
    profile = message.user_profile
    name = (profile.real_name or profile.display_name or None) if profile else None
    attachments = tuple(a for a in (_attachment(f) for f in message.files or []) if a is not None)
    return InboundMessage(
        channel_kind=ChannelKind.SLACK,
        inbox_id=ctx.account_id,
        # channel:ts names the message itself, so Slack's retries of an envelope, the app_mention twin of a
        # message event and later message_changed edits all land on the same key.
        external_message_id=f"{channel}:{ts}",
        external_thread_ref=_thread_ref(channel, message.channel_type, ts, thread_ts),
        in_reply_to_external_id=f"{channel}:{thread_ts}" if thread_ts and thread_ts != ts else None,
        sender=ExternalIdentity(
            address=f"{ctx.team_id}:{user}",
            name=name,
            extra={"slack_user_id": user, "slack_team_id": message.user_team or message.team or ctx.team_id},
        ),
        text=plain_text(message.text or ""),
        sent_at=_ts_time(ts),
        attachments=attachments,
        is_edit=is_edit,
        raw=ctx.raw,
        meta={
            "event_id": ctx.event_id,
            "event_type": ctx.event_key,
            "channel": channel,
            "channel_type": message.channel_type,
            "thread_ts": thread_ts,
            "is_ext_shared_channel": ctx.is_ext_shared_channel,
            "retry_num": ctx.retry_num,
            "mrkdwn": message.text or "",
            **(meta or {}),
        },
    )


def _on_message(ctx: _Context, event: msgspec.Raw) -> list[InboundMessage]:
    message: SlackMessage = _decode(event, SlackMessage, "message event")
    if _is_from_bot(message):
        return []
    channel = _require_id(message.channel, "message channel")
    if not (message.text or message.files):
        return []  # nothing a person wrote (e.g. a share whose files were all removed)
    return [_inbound(ctx, message, channel)]


def _on_message_changed(ctx: _Context, event: msgspec.Raw) -> list[InboundMessage]:
    changed: SlackMessageChanged = _decode(event, SlackMessageChanged, "message_changed event")
    new, old = changed.message, changed.previous_message
    if new is None:
        raise MalformedPayload("message_changed event without `message`")
    if _is_from_bot(new) or new.subtype not in _CUSTOMER_SUBTYPES:
        return []  # our own reply being unfurled, a bot's update, a deleted thread parent (tombstone)
    if new.edited is None and old is not None and new.text == old.text:
        return []  # Slack added link previews (unfurls) or reply counts: the customer changed nothing
    channel = _require_id(changed.channel, "message_changed channel")
    # The edited message keeps its ts; some payloads omit it in `message`, but `previous_message` has it.
    ts = new.ts or (old.ts if old else None)
    edited = msgspec.structs.replace(new, ts=ts, channel_type=new.channel_type or changed.channel_type)
    return [
        _inbound(ctx, edited, channel, is_edit=True, meta={"edited_ts": new.edited.ts if new.edited else changed.ts})
    ]


def _on_ignored(ctx: _Context, event: msgspec.Raw) -> list[InboundMessage]:
    return []


_Handler = Callable[[_Context, msgspec.Raw], list[InboundMessage]]


class SlackConnector:
    """A Slack workspace (or Slack Connect channel) as an inbox (CONTRACT.md: `POST /webhooks/slack/{inbox_id}`).

    `app_mention` is handled like a `message`: in a channel the bot is in, Slack sends both for the same
    message, and both map to the same `channel:ts` key, so the hub stores one message; where only
    `app_mention` is subscribed, mentions still arrive.
    """

    kind: ClassVar[ChannelKind] = ChannelKind.SLACK
    _HANDLERS: ClassVar[dict[str, _Handler]] = {
        "message": _on_message,
        "message.thread_broadcast": _on_message,
        "message.file_share": _on_message,
        "message.me_message": _on_message,
        "message.message_changed": _on_message_changed,
        "app_mention": _on_message,
        **{f"message.{subtype}": _on_ignored for subtype in _IGNORED_SUBTYPES},
        **dict.fromkeys(_IGNORED_EVENT_TYPES, _on_ignored),
    }
    supported_events: ClassVar[frozenset[str]] = frozenset(
        {"url_verification", *(k for k, h in _HANDLERS.items() if h is not _on_ignored)}
    )
    ignored_events: ClassVar[frozenset[str]] = frozenset(
        {"app_rate_limited", *(k for k, h in _HANDLERS.items() if h is _on_ignored)}
    )
    settings_spec: ClassVar[SettingsSpec] = SettingsSpec(
        required=frozenset({"bot_token", "signing_secret"}),
        optional=frozenset({"api_base_url", "bot_enabled", "bot", "agent_bot_url", "agent_bot_secret"}),
        secrets=frozenset({"bot_token", "signing_secret", "agent_bot_secret"}),
    )

    def __init__(self, *, timeout: float = 10.0) -> None:
        self.timeout = timeout

    # -- inbound ----------------------------------------------------------------------------------------------
    def verify(self, request: RawRequest, account: InboxConfig) -> None:
        """Check `X-Slack-Signature` (v0 HMAC-SHA256 over `v0:{timestamp}:{raw body}`) and the 5-minute window."""
        secret = str(account.settings.get("signing_secret") or "")
        timestamp = str(request.headers.get(TIMESTAMP_HEADER) or "").strip()
        given = str(request.headers.get(SIGNATURE_HEADER) or "").strip()
        if not secret:
            raise SignatureInvalid("this Slack inbox has no signing_secret")
        if not given or not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
            raise SignatureInvalid(f"missing or invalid {SIGNATURE_HEADER} / {TIMESTAMP_HEADER}")
        if abs(_now() - int(timestamp)) > REPLAY_WINDOW_SECONDS:
            raise SignatureInvalid(f"{TIMESTAMP_HEADER} is outside the 5-minute replay window")
        base = b"v0:" + timestamp.encode() + b":" + request.body
        expected = b"v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest().encode()
        if not hmac.compare_digest(given.encode("utf-8", "replace"), expected):
            raise SignatureInvalid(f"{SIGNATURE_HEADER} does not match")

    def parse(self, request: RawRequest, account: InboxConfig) -> ParseResult:
        """Answer `url_verification`; turn `event_callback` customer messages into `InboundMessage`s."""
        envelope: SlackEnvelope = _decode(request.body, SlackEnvelope, "Events API body")
        if envelope.type == "url_verification":
            if not envelope.challenge:
                raise MalformedPayload("url_verification without a challenge")
            return ParseResult(reply=HandshakeReply(200, {"challenge": envelope.challenge}, "application/json"))
        if envelope.type in self.ignored_events:
            return ParseResult()
        if envelope.type != "event_callback":
            raise UnsupportedEvent(envelope.type)
        if bytes(envelope.event) in (b"", b"null"):
            raise MalformedPayload("event_callback without an event")
        head: SlackEventHead = _decode(envelope.event, SlackEventHead, "event")
        key = _event_key(head)
        handler = self._HANDLERS.get(key)
        if handler is None:
            raise UnsupportedEvent(key)
        ctx = _Context(
            account_id=account.id,
            team_id=_require_id(envelope.team_id, "team_id"),
            event_id=envelope.event_id,
            event_key=key,
            is_ext_shared_channel=envelope.is_ext_shared_channel,
            retry_num=request.headers.get("X-Slack-Retry-Num"),
            raw=_decode(request.body, dict[str, Any], "Events API body"),
        )
        return ParseResult(items=list(handler(ctx, envelope.event)))

    # -- outbound ---------------------------------------------------------------------------------------------
    def _client(self, account: InboxConfig) -> SlackClient:
        token = str(account.settings.get("bot_token") or "")
        if not token:
            raise SendFailed("this Slack inbox has no bot_token", retryable=False, code="not_authed")
        return SlackClient(token, api_base_url(account.settings), timeout=self.timeout)

    async def send(self, message: OutboundMessage, account: InboxConfig) -> SendReceipt:
        """Post the reply into the customer's thread (`channel:thread_ts`) or DM (`channel`).

        Files with bytes go out through `files_upload_v2` as one message whose text is the reply; files
        without bytes are linked in the text. Returns `channel:ts` (or `channel:file_id` for file shares,
        whose message ts Slack does not return).
        """
        client = self._client(account)
        channel, thread_ts = await self._target(client, message)
        uploads = [a for a in message.attachments if a.content is not None]
        links = [
            f"<{a.source_url}|{escape_text(a.filename)}>"
            for a in message.attachments
            if a.content is None and a.source_url
        ]
        text = "\n".join(part for part in (escape_text(message.text.strip()), *links) if part)
        if uploads:
            data = await client.upload_files(channel, thread_ts, text, uploads)
            files = data.get("files") or [{}]
            file_id = str(files[0].get("id") or "") if isinstance(files[0], dict) else ""
            external_id = f"{channel}:{file_id}"
        elif text:
            data = await client.post_message(channel, text, thread_ts)
            channel = str(data.get("channel") or channel)
            external_id = f"{channel}:{data.get('ts')}"
        else:
            raise SendFailed(
                "nothing to send: the reply has no text and no attachments", retryable=False, code="no_text"
            )
        return SendReceipt(
            external_message_id=external_id,
            external_thread_ref=message.external_thread_ref or channel,
            raw=data,
        )

    @staticmethod
    async def _target(client: SlackClient, message: OutboundMessage) -> tuple[str, str | None]:
        """(channel, thread_ts) from the thread ref; without one, a DM with the recipient (`team:user`)."""
        if message.external_thread_ref:
            channel, _, thread_ts = message.external_thread_ref.partition(":")
            if channel:
                return channel, thread_ts or None
        user_id = message.recipient.address.rpartition(":")[2]
        if not user_id:
            raise SendFailed("no Slack channel or user to send to", retryable=False, code="channel_not_found")
        return await client.open_dm(user_id), None

    async def fetch_attachment(self, attachment: Attachment, account: InboxConfig, max_bytes: int) -> bytes:
        """Download a shared file with the bot token (needs the `files:read` scope); ValueError past max_bytes."""
        if attachment.size is not None and attachment.size > max_bytes:
            raise ValueError(f"Slack file is {attachment.size} bytes, over the {max_bytes}-byte limit")
        client = self._client(account)
        url = attachment.source_ref.get("download_url") or attachment.source_url
        if not url:
            file_id = attachment.source_ref.get("file_id")
            if not file_id:
                raise SendFailed("Slack attachment has neither a URL nor a file id", retryable=False)
            info = await client.file_info(str(file_id))
            url = info.get("url_private_download") or info.get("url_private")
            size = info.get("size")
            if isinstance(size, int) and size > max_bytes:
                raise ValueError(f"Slack file is {size} bytes, over the {max_bytes}-byte limit")
            if not url:
                raise SendFailed("Slack files.info returned no download URL", retryable=False, code="no_url")
        return await client.download(str(url), max_bytes, attachment.content_type)

    async def fetch_profile(self, identity: ExternalIdentity, account: InboxConfig) -> ExternalIdentity | None:
        """Name, avatar and workspace email of a Slack user (`users.info`), or None when Slack will not say.

        Slack confirms workspace members' emails, so the email is `verified` unless the user object says
        `is_email_confirmed: false`. Needs the `users:read` and `users:read.email` scopes.
        """
        user_id = identity.address.rpartition(":")[2]
        if not user_id:
            return None
        try:
            user = await self._client(account).user_info(user_id)
        except SendFailed as exc:
            log.warning("slack users.info for %s failed: %s", user_id, exc.reason)
            return None
        if not user:
            return None
        raw_profile = user.get("profile")
        profile: dict[str, Any] = raw_profile if isinstance(raw_profile, dict) else {}
        name = profile.get("real_name") or user.get("real_name") or profile.get("display_name") or user.get("name")
        return ExternalIdentity(
            address=identity.address,
            name=str(name) if name else identity.name,
            email=str(profile["email"]) if profile.get("email") else None,
            phone=identity.phone,
            verified=user.get("is_email_confirmed") is not False,
            avatar_url=profile.get("image_192") or profile.get("image_72") or identity.avatar_url,
            extra={
                **identity.extra,
                "slack_user_id": user_id,
                "slack_team_id": user.get("team_id"),
                "display_name": profile.get("display_name") or None,
                "is_bot": bool(user.get("is_bot")),
                "deleted": bool(user.get("deleted")),
            },
        )
