"""A local stand-in for Meta's Graph API (WhatsApp Cloud API + Messenger Send API) and signed webhook builders.

Usage::

    with FakeGraph(app_secret="test_app_secret") as graph:
        settings = graph.whatsapp_settings()            # an inbox's settings pointing at the fake
        receipt = await WhatsAppConnector().send(outbound, make_account("whatsapp", settings))
        graph.sent[-1].body                             # what Meta would have received
        hook = graph.whatsapp_status(receipt.external_message_id, "delivered")
        # hook.body / hook.headers: a signed webhook ready to POST to /webhooks/meta/{inbox_id}

Routes (as documented by Meta; `{version}` is `vNN.N`):
- `POST /{version}/{phone_number_id}/messages`  WhatsApp send (JSON, `messaging_product: whatsapp`)
- `POST /{version}/{phone_number_id}/media`     WhatsApp media upload (multipart `file`, `type`)
- `POST /{version}/me/messages`                 Messenger Send API (JSON, or multipart with `filedata`)
- `GET  /{version}/{media_id}`                  WhatsApp media metadata (a download URL on this fake)
- `GET  /{version}/{psid}?fields=...`           Messenger user profile
- `GET  /whatsapp_business/attachments/?mid=..`  media download (stands for lookaside.fbsbx.com; bearer needed)
- `GET  /cdn/{name}`                            Messenger attachment CDN (no auth)
Every Graph route checks `Authorization: Bearer <access_token>` (or `?access_token=`) and, when the fake has an
`app_secret`, a given `appsecret_proof`. Errors use Graph's shape `{"error": {"message", "type", "code",
"error_subcode", "fbtrace_id"}}`; recorded error answers live in tests/fixtures/meta/responses/ and are
replayed with `fail_with(name)`.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.base import FakeProvider, RecordedRequest
from tests.paths import LOCAL_FIXTURES

RESPONSES = LOCAL_FIXTURES / "meta" / "responses"
DEFAULT_TOKEN = "EAAGtestaccesstoken0000"
DEFAULT_PHONE_NUMBER_ID = "1122334455667"
DEFAULT_PAGE_ID = "111111"
VERSION_PATTERN = r"v[0-9]+\.[0-9]+"


def meta_signature(app_secret: str, body: bytes) -> str:
    """`X-Hub-Signature-256` as Meta documents it: "sha256=" + hex HMAC-SHA256 keyed by the app secret.

    Written from https://developers.facebook.com/docs/graph-api/webhooks/getting-started#validate-payloads
    (not from the connector's code); checked against GitHub's published vector in test_verify.py.
    """
    return "sha256=" + hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def recorded_response(name: str) -> tuple[int, Any]:
    """(HTTP status, body) of tests/fixtures/meta/responses/<name>.json."""
    data = json.loads((RESPONSES / f"{name}.json").read_text())
    return int(data["status"]), data["body"]


@dataclass(frozen=True)
class SignedWebhook:
    """A webhook body as Meta would POST it, with its signature header."""

    body: bytes
    headers: dict[str, str]
    payload: dict[str, Any]


def signed(payload: dict[str, Any], app_secret: str) -> SignedWebhook:
    """Serialise `payload` compactly (as Meta does) and sign it."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": meta_signature(app_secret, body)}
    return SignedWebhook(body=body, headers=headers, payload=payload)


def whatsapp_envelope(value: dict[str, Any], *, waba_id: str = "102290129340398") -> dict[str, Any]:
    """`{"object": "whatsapp_business_account", "entry": [{"id", "changes": [{"value", "field": "messages"}]}]}`."""
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id, "changes": [{"value": value, "field": "messages"}]}],
    }


def whatsapp_status_payload(
    wamid: str,
    status: str,
    *,
    phone_number_id: str,
    recipient_id: str,
    timestamp: int = 1700000000,
    error: tuple[int, str, str] | None = None,
) -> dict[str, Any]:
    """A `statuses` webhook for one of our messages; `error` = (code, title, details) for `failed`."""
    item: dict[str, Any] = {"id": wamid, "status": status, "timestamp": str(timestamp), "recipient_id": recipient_id}
    if error:
        code, title, details = error
        item["errors"] = [{"code": code, "title": title, "message": title, "error_data": {"details": details}}]
    metadata = {"display_phone_number": "15555550199", "phone_number_id": phone_number_id}
    return whatsapp_envelope({"messaging_product": "whatsapp", "metadata": metadata, "statuses": [item]})


def whatsapp_text_payload(
    text: str,
    *,
    wamid: str,
    phone_number_id: str,
    wa_id: str = "15555550100",
    name: str = "Ada Lovelace",
    timestamp: int = 1700000000,
) -> dict[str, Any]:
    """A customer's text message webhook."""
    metadata = {"display_phone_number": "15555550199", "phone_number_id": phone_number_id}
    message = {"from": wa_id, "id": wamid, "timestamp": str(timestamp), "text": {"body": text}, "type": "text"}
    contacts = [{"profile": {"name": name}, "wa_id": wa_id}]
    return whatsapp_envelope(
        {"messaging_product": "whatsapp", "metadata": metadata, "contacts": contacts, "messages": [message]}
    )


def messenger_envelope(page_id: str, events: list[dict[str, Any]], *, time: int = 1700000000000) -> dict[str, Any]:
    """`{"object": "page", "entry": [{"id": page_id, "time", "messaging": events}]}`."""
    return {"object": "page", "entry": [{"id": page_id, "time": time, "messaging": events}]}


def messenger_text_payload(
    text: str, *, mid: str, page_id: str, psid: str, timestamp: int = 1700000000000
) -> dict[str, Any]:
    """A customer's Messenger text message webhook."""
    event = {
        "sender": {"id": psid},
        "recipient": {"id": page_id},
        "timestamp": timestamp,
        "message": {"mid": mid, "text": text},
    }
    return messenger_envelope(page_id, [event])


def messenger_delivery_payload(
    mids: list[str], *, page_id: str, psid: str, watermark: int = 1700000000000
) -> dict[str, Any]:
    """A `message_deliveries` webhook for our mids."""
    event = {"sender": {"id": psid}, "recipient": {"id": page_id}, "delivery": {"mids": mids, "watermark": watermark}}
    return messenger_envelope(page_id, [event])


def messenger_read_payload(*, page_id: str, psid: str, watermark: int = 1700000000000) -> dict[str, Any]:
    """A `message_reads` webhook: everything up to `watermark` (ms) was read."""
    event = {
        "sender": {"id": psid},
        "recipient": {"id": page_id},
        "timestamp": watermark + 10,
        "read": {"watermark": watermark},
    }
    return messenger_envelope(page_id, [event])


@dataclass
class SentMessage:
    """One message the fake accepted."""

    product: str  # "whatsapp" | "messenger"
    id: str
    recipient: str
    body: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass
class StoredMedia:
    """A WhatsApp media object the fake can describe and serve."""

    content: bytes
    mime_type: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def graph_error(
    status: int, message: str, code: int, *, subcode: int | None = None, kind: str = "OAuthException"
) -> web.Response:
    """A Graph API error answer."""
    error: dict[str, Any] = {"message": message, "type": kind, "code": code, "fbtrace_id": secrets.token_urlsafe(16)}
    if subcode is not None:
        error["error_subcode"] = subcode
    headers = {"WWW-Authenticate": f'OAuth "Facebook Platform" "invalid_token" "{message}"'} if code == 190 else None
    return web.json_response({"error": error}, status=status, headers=headers)


def _missing(name: str) -> web.Response:
    return graph_error(400, f"(#100) The parameter {name} is required", 100)


class FakeGraph(FakeProvider):
    """Meta's Graph API for one app: one WhatsApp phone number and one Facebook page."""

    def __init__(
        self,
        *,
        access_token: str = DEFAULT_TOKEN,
        app_secret: str | None = "test_app_secret",
        phone_number_id: str = DEFAULT_PHONE_NUMBER_ID,
        page_id: str = DEFAULT_PAGE_ID,
        version: str = "v24.0",
        require_proof: bool = False,
    ) -> None:
        self.access_token = access_token
        self.app_secret = app_secret
        self.phone_number_id = phone_number_id
        self.page_id = page_id
        self.version = version
        self.require_proof = require_proof
        self.sent: list[SentMessage] = []
        self.media: dict[str, StoredMedia] = {}
        self.cdn: dict[str, StoredMedia] = {}
        self.profiles: dict[str, dict[str, Any]] = {}
        self.closed_windows: set[str] = set()
        self.unavailable: set[str] = set()
        self.chunked_downloads = False  # serve media without Content-Length (chunked), as CDNs sometimes do
        self._ids = itertools.count(1)
        super().__init__()

    # -- settings and data -----------------------------------------------------------------------------
    def whatsapp_settings(self, **extra: Any) -> dict[str, Any]:
        """A WhatsApp inbox's settings pointing at this fake."""
        return {
            "access_token": self.access_token,
            "app_secret": self.app_secret or "unused",
            "verify_token": "verify-me",
            "phone_number_id": self.phone_number_id,
            "graph_base_url": self.url,
            "graph_api_version": self.version,
            **extra,
        }

    def messenger_settings(self, **extra: Any) -> dict[str, Any]:
        """A Messenger inbox's settings pointing at this fake."""
        return {
            "access_token": self.access_token,
            "app_secret": self.app_secret or "unused",
            "verify_token": "verify-me",
            "page_id": self.page_id,
            "graph_base_url": self.url,
            "graph_api_version": self.version,
            **extra,
        }

    def add_media(self, media_id: str, content: bytes, mime_type: str = "image/jpeg") -> None:
        """Make a WhatsApp media id known (as if a customer had sent it)."""
        self.media[media_id] = StoredMedia(content, mime_type)

    def add_cdn_file(self, name: str, content: bytes, mime_type: str = "image/jpeg") -> str:
        """Host a Messenger attachment; returns its URL."""
        self.cdn[name] = StoredMedia(content, mime_type)
        return f"{self.url}/cdn/{name}"

    def add_profile(self, psid: str, first_name: str, last_name: str, profile_pic: str | None = None) -> None:
        """A Messenger user the profile API knows."""
        pic = profile_pic or f"https://platform-lookaside.fbsbx.com/platform/profilepic/?psid={psid}"
        self.profiles[psid] = {"first_name": first_name, "last_name": last_name, "profile_pic": pic, "id": psid}

    def fail_with(self, name: str, times: int = 1) -> None:
        """Answer the next `times` requests with a recorded Graph answer (tests/fixtures/meta/responses/)."""
        status, body = recorded_response(name)
        self.fail_next(status, body, times=times)

    # -- signed webhooks ---------------------------------------------------------------------------------
    def _secret(self) -> str:
        if not self.app_secret:
            raise ValueError("FakeGraph(app_secret=...) is needed to sign webhooks")
        return self.app_secret

    def whatsapp_status(
        self, wamid: str, status: str = "delivered", *, error: tuple[int, str, str] | None = None
    ) -> SignedWebhook:
        """A signed `statuses` webhook for a message this fake accepted."""
        sent = next((m for m in self.sent if m.id == wamid), None)
        recipient = sent.recipient if sent else "15555550100"
        payload = whatsapp_status_payload(
            wamid, status, phone_number_id=self.phone_number_id, recipient_id=recipient, error=error
        )
        return signed(payload, self._secret())

    def whatsapp_text(self, text: str, *, wa_id: str = "15555550100", wamid: str | None = None) -> SignedWebhook:
        """A signed customer text webhook for this fake's number."""
        wamid = wamid or f"wamid.IN{next(self._ids):06d}"
        return signed(
            whatsapp_text_payload(text, wamid=wamid, phone_number_id=self.phone_number_id, wa_id=wa_id), self._secret()
        )

    def messenger_delivery(self, mid: str, *, watermark: int = 1700000000000) -> SignedWebhook:
        """A signed `delivery` webhook for a mid this fake accepted."""
        sent = next((m for m in self.sent if m.id == mid), None)
        psid = sent.recipient if sent else "1254477777772919"
        return signed(
            messenger_delivery_payload([mid], page_id=self.page_id, psid=psid, watermark=watermark), self._secret()
        )

    def messenger_read(self, psid: str, *, watermark: int = 1700000000000) -> SignedWebhook:
        """A signed `read` webhook (watermark only)."""
        return signed(messenger_read_payload(page_id=self.page_id, psid=psid, watermark=watermark), self._secret())

    def messenger_text(self, text: str, *, psid: str = "1254477777772919", mid: str | None = None) -> SignedWebhook:
        """A signed customer text webhook for this fake's page."""
        mid = mid or f"m_IN{next(self._ids):06d}"
        return signed(messenger_text_payload(text, mid=mid, page_id=self.page_id, psid=psid), self._secret())

    # -- routes --------------------------------------------------------------------------------------------
    def routes(self, app: web.Application) -> None:
        v = "{version:" + VERSION_PATTERN + "}"
        self.route("GET", "/whatsapp_business/attachments/", self._download)
        self.route("GET", "/cdn/{name}", self._cdn)
        self.route("POST", f"/{v}/{{node}}/messages", self._messages)
        self.route("POST", f"/{v}/{{node}}/media", self._upload)
        self.route("GET", f"/{v}/{{node}}", self._node)

    def _auth_error(self, request: RecordedRequest) -> web.Response | None:
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else request.query.get("access_token", "")
        if not token:
            return graph_error(
                400, "An active access token must be used to query information about the current user.", 2500
            )
        if not hmac.compare_digest(token, self.access_token):
            return graph_error(401, "Invalid OAuth access token - Cannot parse access token", 190)
        proof = request.query.get("appsecret_proof")
        if self.app_secret and proof is not None:
            expected = hmac.new(self.app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(proof, expected):
                return graph_error(
                    400, "Invalid appsecret_proof provided in the API argument", 100, kind="GraphMethodException"
                )
        elif self.require_proof:
            return graph_error(
                400, "API calls from the server require an appsecret_proof argument", 100, kind="GraphMethodException"
            )
        return None

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):04d}{secrets.token_hex(8).upper()}"

    async def _messages(self, request: RecordedRequest) -> web.Response:
        error = self._auth_error(request)
        if error is not None:
            return error
        node = request.match_info["node"]
        if node == self.phone_number_id:
            return self._whatsapp_send(request)
        if node in ("me", self.page_id):
            return self._messenger_send(request)
        return _unsupported_node("post", node)

    def _whatsapp_send(self, request: RecordedRequest) -> web.Response:
        try:
            body = request.json
        except ValueError:
            return graph_error(400, "(#100) Invalid JSON for postcard", 100)
        if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
            return _missing("messaging_product")
        recipient = body.get("to") or body.get("recipient")
        if not recipient:
            return _missing("to")
        kind = body.get("type", "text")
        content = body.get(kind)
        if not isinstance(content, dict):
            return _missing(kind)
        if kind == "text" and not content.get("body"):
            return _missing("text['body']")
        if kind != "text" and not (content.get("id") in self.media or content.get("link")):
            return graph_error(400, "(#131009) Parameter value is not valid", 131009)
        if str(recipient) in self.closed_windows:
            status, payload = recorded_response("error_131047_reengagement")
            return web.json_response(payload, status=status)
        wamid = self._new_id("wamid.HBgL")
        self.sent.append(SentMessage("whatsapp", wamid, str(recipient), body))
        contact = {"input": str(recipient), ("wa_id" if body.get("to") else "user_id"): str(recipient)}
        return web.json_response({"messaging_product": "whatsapp", "contacts": [contact], "messages": [{"id": wamid}]})

    def _messenger_send(self, request: RecordedRequest) -> web.Response:
        files: dict[str, bytes] = {}
        if "multipart/form-data" in request.headers.get("Content-Type", ""):
            form, files = _multipart(request)
            try:
                body: dict[str, Any] = {k: json.loads(v) if v.startswith("{") else v for k, v in form.items()}
            except ValueError:
                return graph_error(400, "(#100) param message must be JSON", 100)
        else:
            try:
                body = request.json
            except ValueError:
                return graph_error(400, "(#100) Invalid JSON", 100)
        recipient = (body.get("recipient") or {}).get("id") if isinstance(body, dict) else None
        if not recipient:
            return _missing("recipient")
        if not body.get("messaging_type"):
            return _missing("messaging_type")
        message = body.get("message")
        if not isinstance(message, dict) or not (message.get("text") or message.get("attachment")):
            return _missing("message")
        if len(message.get("text") or "") > 2000:
            return graph_error(400, "(#100) Length of param message[text] must be less than or equal to 2000", 100)
        if recipient in self.unavailable:
            status, payload = recorded_response("error_messenger_551_unavailable")
            return web.json_response(payload, status=status)
        mid = self._new_id("m_")
        self.sent.append(SentMessage("messenger", mid, str(recipient), body, files))
        return web.json_response({"recipient_id": recipient, "message_id": mid})

    async def _upload(self, request: RecordedRequest) -> web.Response:
        error = self._auth_error(request)
        if error is not None:
            return error
        if request.match_info["node"] != self.phone_number_id:
            return _unsupported_node("post", request.match_info["node"])
        form, files = _multipart(request)
        if form.get("messaging_product") != "whatsapp":
            return _missing("messaging_product")
        if "file" not in files:
            return _missing("file")
        media_id = str(1000000000000000 + next(self._ids))
        self.media[media_id] = StoredMedia(files["file"], form.get("type") or "application/octet-stream")
        return web.json_response({"id": media_id})

    async def _node(self, request: RecordedRequest) -> web.Response:
        error = self._auth_error(request)
        if error is not None:
            return error
        node = request.match_info["node"]
        if node in self.media:
            media = self.media[node]
            return web.json_response(
                {
                    "messaging_product": "whatsapp",
                    "url": f"{self.url}/whatsapp_business/attachments/?mid={node}&ext=1700000000&hash=ATt{node}",
                    "mime_type": media.mime_type,
                    "sha256": media.sha256,
                    "file_size": len(media.content),
                    "id": node,
                }
            )
        if node in self.profiles:
            fields = [f for f in request.query.get("fields", "first_name,last_name").split(",") if f]
            profile = self.profiles[node]
            return web.json_response({k: profile[k] for k in [*fields, "id"] if k in profile})
        return _unsupported_node("get", node)

    async def _download(self, request: RecordedRequest) -> web.StreamResponse:
        # lookaside.fbsbx.com answers 404 without the token of the app that owns the media.
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            return web.Response(status=404, text="Not found")
        media = self.media.get(request.query.get("mid", ""))
        if media is None:
            return web.Response(status=404, text="Not found")
        if self.chunked_downloads:
            return _Chunked(media)
        return web.Response(body=media.content, content_type=media.mime_type)

    async def _cdn(self, request: RecordedRequest) -> web.StreamResponse:
        media = self.cdn.get(request.match_info["name"])
        if media is None:
            return web.Response(status=404, text="URL signature expired")
        return web.Response(body=media.content, content_type=media.mime_type)


class _Chunked(web.StreamResponse):
    """A media answer sent in 256-byte chunks with no Content-Length."""

    def __init__(self, media: StoredMedia) -> None:
        super().__init__(headers={"Content-Type": media.mime_type})
        self.media = media
        self.enable_chunked_encoding()

    async def prepare(self, request: web.BaseRequest) -> Any:
        writer = await super().prepare(request)
        for start in range(0, len(self.media.content), 256):
            await self.write(self.media.content[start : start + 256])
        await self.write_eof()
        return writer


def _unsupported_node(method: str, node: str) -> web.Response:
    return graph_error(
        400,
        f"Unsupported {method} request. Object with ID '{node}' does not exist, cannot be loaded due to missing "
        "permissions, or does not support this operation. Please read the Graph API documentation at "
        "https://developers.facebook.com/docs/graph-api",
        100,
        subcode=33,
        kind="GraphMethodException",
    )


def _multipart(request: RecordedRequest) -> tuple[dict[str, str], dict[str, bytes]]:
    """Split a recorded multipart/form-data body into text fields and file parts."""
    ctype = request.headers.get("Content-Type", "")
    boundary = ctype.split("boundary=", 1)[-1].strip('"').encode()
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for part in request.body.split(b"--" + boundary):
        head, sep, content = part.partition(b"\r\n\r\n")
        if not sep or b"name=" not in head:
            continue
        disposition = head.decode("utf-8", "replace")
        name = disposition.split('name="', 1)[1].split('"', 1)[0]
        value = content[:-2] if content.endswith(b"\r\n") else content
        if 'filename="' in disposition:
            files[name] = value
        else:
            fields[name] = value.decode("utf-8", "replace")
    return fields, files
