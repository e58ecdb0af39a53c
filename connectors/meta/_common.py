"""What WhatsApp and Messenger share: the X-Hub-Signature-256 check, the hub.challenge handshake, decoding."""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar
from urllib.parse import parse_qsl, urlsplit

import msgspec

from connectors.base import (
    HandshakeReply,
    InboxConfig,
    MalformedPayload,
    ParseResult,
    RawRequest,
    SignatureInvalid,
    UnsupportedEvent,
)
from connectors.meta.client import DEFAULT_GRAPH_API_VERSION, DEFAULT_GRAPH_BASE_URL, DEFAULT_TIMEOUT, GraphClient
from conversation.types import ChannelKind, DeliveryUpdate, InboundMessage

log = logging.getLogger("connectors.meta")

SIGNATURE_HEADER = "X-Hub-Signature-256"
_SIGNATURE_PREFIX = "sha256="

#: Optional settings every Meta inbox accepts (besides its kind's required ones).
COMMON_OPTIONAL_SETTINGS = frozenset(
    {"graph_base_url", "graph_api_version", "bot_enabled", "bot", "agent_bot_url", "agent_bot_secret"}
)
COMMON_SECRET_SETTINGS = frozenset({"access_token", "app_secret", "verify_token", "agent_bot_secret"})

T = TypeVar("T")
Item = InboundMessage | DeliveryUpdate


def hub_signature(app_secret: str, body: bytes) -> str:
    """The `X-Hub-Signature-256` value Meta sends: `sha256=` + hex HMAC-SHA256(app secret, raw body)."""
    return _SIGNATURE_PREFIX + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verify_hub_signature(request: RawRequest, app_secret: str) -> None:
    """Raise `SignatureInvalid` unless `X-Hub-Signature-256` matches the raw body (constant-time compare).

    https://developers.facebook.com/docs/graph-api/webhooks/getting-started#validate-payloads
    """
    if not app_secret:
        raise SignatureInvalid("the inbox has no app_secret to check X-Hub-Signature-256 with")
    given = str(request.headers.get(SIGNATURE_HEADER) or "").strip()
    if not given.lower().startswith(_SIGNATURE_PREFIX):
        raise SignatureInvalid(f"missing or malformed {SIGNATURE_HEADER} header")
    # Meta sends lower-case hex; accept upper case too, the comparison stays constant-time.
    given = _SIGNATURE_PREFIX + given[len(_SIGNATURE_PREFIX) :].lower()
    if not hmac.compare_digest(given.encode(), hub_signature(app_secret, request.body).encode()):
        raise SignatureInvalid(f"{SIGNATURE_HEADER} does not match the body")


def query_params(request: RawRequest) -> dict[str, str]:
    """The query string: the hub's parsed `query`, falling back to the one in the public URL."""
    params = dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))
    params.update(request.query)
    return params


def handshake(request: RawRequest, verify_token: str) -> ParseResult:
    """Answer Meta's subscription check `GET ?hub.mode=subscribe&hub.verify_token=...&hub.challenge=...`.

    The GET carries no signature, so the verify token is the credential: compared in constant time, a
    mismatch raises `SignatureInvalid` (403/401). https://developers.facebook.com/docs/graph-api/webhooks/getting-started
    """
    params = query_params(request)
    given = params.get("hub.verify_token", "")
    if not verify_token or not given or not hmac.compare_digest(given.encode(), verify_token.encode()):
        raise SignatureInvalid("hub.verify_token does not match the inbox's verify_token")
    if params.get("hub.mode") != "subscribe":
        raise MalformedPayload("hub.mode must be 'subscribe'")
    challenge = params.get("hub.challenge", "")
    if not challenge:
        raise MalformedPayload("hub.challenge is missing")
    return ParseResult(reply=HandshakeReply(status_code=200, body=challenge, content_type="text/plain"))


def decode_envelope(body: bytes, expected_object: str) -> list[dict[str, Any]]:
    """Decode a webhook body and return its `entry` list; raise for bodies of another Meta product."""
    try:
        envelope = msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:  # msgspec raises the latter for bad UTF-8 in strings
        raise MalformedPayload("body is not JSON (or not UTF-8)") from exc
    except RecursionError as exc:
        raise MalformedPayload("body is nested too deeply") from exc
    if not isinstance(envelope, dict):
        raise MalformedPayload("body must be a JSON object")
    obj = envelope.get("object")
    if obj != expected_object:
        # Another product's webhook (page vs whatsapp_business_account vs instagram) sent to this inbox.
        raise UnsupportedEvent(f"object {obj!r} (this inbox takes {expected_object!r})")
    entries = envelope.get("entry")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise MalformedPayload("entry must be a list of objects")
    return entries


def convert(value: Any, shape: type[T], where: str) -> T:
    """`msgspec.convert` that reports a bad shape as `MalformedPayload` naming where it was."""
    try:
        return msgspec.convert(value, shape)
    except msgspec.ValidationError as exc:
        raise MalformedPayload(f"{where}: {exc}") from exc


def timestamp_to_utc(value: object, where: str) -> datetime:
    """Meta timestamps: Unix seconds (WhatsApp, as strings) or milliseconds (Messenger)."""
    try:
        number = float(value)  # type: ignore[arg-type]
        if number > 100_000_000_000:  # later than the year 5138 in seconds: it is milliseconds
            number /= 1000
        return datetime.fromtimestamp(number, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError) as exc:
        raise MalformedPayload(f"{where}: not a Unix timestamp: {value!r}") from exc


def text_setting(account: InboxConfig, key: str, default: str = "") -> str:
    """A string setting (empty when unset)."""
    value = account.settings.get(key)
    return default if value in (None, "") else str(value)


@dataclass
class Collected:
    """Items found in one webhook body, and the event names we did not recognise."""

    items: list[Item] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def result(self) -> ParseResult:
        """Raise `UnsupportedEvent` if the body held only unknown events; else keep what we understood."""
        if self.unknown and not self.items:
            raise UnsupportedEvent(", ".join(sorted(set(self.unknown))))
        if self.unknown:
            # A batch mixing known and unknown events: keep the known ones rather than drop the whole body.
            log.warning("meta webhook: skipped unsupported events %s", sorted(set(self.unknown)))
        return ParseResult(items=list(self.items))


class MetaConnectorBase:
    """Verification, the GET handshake and the Graph client factory shared by the two Meta connectors."""

    kind: ClassVar[ChannelKind]
    webhook_object: ClassVar[str]

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        """`timeout` (seconds) bounds each Graph API call; tests lower it."""
        self._timeout = timeout

    def verify(self, request: RawRequest, account: InboxConfig) -> None:
        """Check `X-Hub-Signature-256` over the raw body.

        A GET is Meta's subscription handshake, which carries no signature: `verify` lets it through and
        `parse` answers it only when `hub.verify_token` matches the inbox's `verify_token` (else
        `SignatureInvalid`). A GET can never produce messages.
        """
        if request.method.upper() == "GET":
            return
        verify_hub_signature(request, text_setting(account, "app_secret"))

    def parse(self, request: RawRequest, account: InboxConfig) -> ParseResult:
        """GET: the handshake. POST: the product's entries, dispatched by event name."""
        if request.method.upper() == "GET":
            return handshake(request, text_setting(account, "verify_token"))
        entries = decode_envelope(request.body, self.webhook_object)
        collected = Collected()
        for index, entry in enumerate(entries):
            self._parse_entry(entry, f"entry[{index}]", account, collected)
        return collected.result()

    def _parse_entry(self, entry: dict[str, Any], where: str, account: InboxConfig, out: Collected) -> None:
        raise NotImplementedError

    def graph(self, account: InboxConfig) -> GraphClient:
        """A Graph API client for this inbox (base URL and version from its settings)."""
        return GraphClient(
            access_token=text_setting(account, "access_token"),
            app_secret=text_setting(account, "app_secret") or None,
            base_url=text_setting(account, "graph_base_url", DEFAULT_GRAPH_BASE_URL),
            version=text_setting(account, "graph_api_version", DEFAULT_GRAPH_API_VERSION),
            timeout=self._timeout,
        )


def text_chunks(text: str, limit: int) -> list[str]:
    """Split `text` into pieces of at most `limit` characters, at line or word breaks where possible."""
    if not text.strip():
        return []
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut < limit // 2:
            cut = rest.rfind(" ", 0, limit)
        if cut < limit // 2:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest.strip():
        pieces.append(rest)
    return pieces


def media_kind(content_type: str) -> str:
    """`image`, `video`, `audio` or `file` for a MIME type."""
    base = content_type.split(";")[0].strip().lower()
    major = base.split("/")[0]
    return major if major in ("image", "video", "audio") else "file"
