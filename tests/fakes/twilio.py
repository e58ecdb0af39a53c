"""A local fake of Twilio's Messages API, media store and webhook signing, for connector and e2e tests.

Usage:
    with FakeTwilio(account_sid=SID, auth_token=TOKEN) as fake:
        settings = {..., "api_base_url": fake.url}
        receipt = await SmsConnector().send(message, account)
        fake.messages[-1]["to"]                                 # what Twilio "stored"
        callback = fake.status_callback(receipt.external_message_id, "delivered")
        # POST callback.body with callback.headers to callback.url (the message's StatusCallback)

Errors come back in Twilio's JSON error shape: `fake.fail_next(*twilio_error(429, 20429, "Too Many Requests"))`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp import web

from tests.fakes.base import FakeProvider, RecordedRequest

API_VERSION = "2010-04-01"
_ADDRESS = re.compile(r"(?:[a-z]+:)?\+[1-9][0-9]{6,14}")


def twilio_signature(
    auth_token: str, url: str, params: Mapping[str, str] | Iterable[tuple[str, str]] = (), *, sha256: bool = False
) -> str:
    """`X-Twilio-Signature` as Twilio documents it (https://www.twilio.com/docs/usage/webhooks/webhooks-security).

    Take the full URL Twilio requested (query included), append each POST parameter's name and
    value sorted by name (a repeated name: its values sorted), HMAC-SHA1 with the Auth Token (SHA-256
    for a SharedKey rule), base64. Written from the docs, independent of the connector and the SDK.
    """
    pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
    data = url + "".join(name + value for name, value in sorted(pairs))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha256 if sha256 else hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def twilio_error(status: int, code: int, message: str) -> tuple[int, dict[str, Any]]:
    """`(status, body)` of a Twilio REST error, for `fail_next(*twilio_error(...))`."""
    return status, {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def rfc2822(moment: datetime) -> str:
    """Twilio's date format: `Thu, 30 Jul 2015 20:12:31 +0000`."""
    return moment.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")


@dataclass(frozen=True)
class SignedWebhook:
    """A webhook as Twilio would POST it: URL, form body bytes and headers (signature included)."""

    url: str
    body: bytes
    headers: dict[str, str]
    params: list[tuple[str, str]]


def signed_webhook(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> SignedWebhook:
    """Form-encode `params` in order and sign them for `url` as Twilio does."""
    pairs = list(params)
    return SignedWebhook(
        url=url,
        body=urlencode(pairs).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": twilio_signature(auth_token, url, pairs),
            "User-Agent": "TwilioProxy/1.1",
        },
        params=pairs,
    )


class FakeTwilio(FakeProvider):
    """Twilio's REST API for messages (create, fetch) and media downloads, on 127.0.0.1.

    Attributes:
        messages: every Message resource created, in order (the JSON Twilio answered).
        media: media by SID: `(content, content_type)`, served through a redirect like Twilio's.
        unsubscribed: recipients who texted STOP: sending to them fails with 21610.
        cdn_host: host the media redirect points at; use "localhost" to make it a different origin.
    """

    def __init__(self, account_sid: str = "AC" + "0" * 32, auth_token: str = "test-auth-token") -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: list[dict[str, Any]] = []
        self.media: dict[str, tuple[bytes, str]] = {}
        self.unsubscribed: set[str] = set()
        self.cdn_host = "127.0.0.1"
        super().__init__()

    def routes(self, app: web.Application) -> None:
        base = f"/{API_VERSION}/Accounts/{{account_sid}}"
        self.route("POST", base + "/Messages.json", self._create_message)
        self.route("GET", base + "/Messages/{message_sid}.json", self._fetch_message)
        self.route("GET", base + "/Messages/{message_sid}/Media/{media_sid}", self._media_redirect)
        self.route("GET", "/cdn/{media_sid}", self._media_content)

    # -- helpers for tests --------------------------------------------------------------------------
    def add_media(self, content: bytes, content_type: str = "image/jpeg", message_sid: str | None = None) -> str:
        """Store media and return its Twilio URL (on this fake), as `MediaUrlN` would carry it."""
        media_sid = "ME" + secrets.token_hex(16)
        self.media[media_sid] = (content, content_type)
        message_sid = message_sid or "MM" + secrets.token_hex(16)
        return f"{self.url}/{API_VERSION}/Accounts/{self.account_sid}/Messages/{message_sid}/Media/{media_sid}"

    def status_callback(
        self,
        message_sid: str,
        status: str,
        *,
        url: str | None = None,
        error_code: int | str | None = None,
        auth_token: str | None = None,
    ) -> SignedWebhook:
        """The signed status callback Twilio would POST for a message this fake created.

        `url` defaults to the `StatusCallback` the message was created with.
        """
        message = next((m for m in self.messages if m["sid"] == message_sid), None)
        if message is None:
            raise KeyError(f"no message {message_sid} was created on this fake")
        target = url or message.get("_status_callback")
        if not target:
            raise ValueError("the message was created without StatusCallback: pass url=")
        params = [("SmsSid", message_sid), ("SmsStatus", status), ("MessageStatus", status), ("To", message["to"])]
        if message["messaging_service_sid"]:
            params.append(("MessagingServiceSid", message["messaging_service_sid"]))
        params += [
            ("MessageSid", message_sid),
            ("AccountSid", self.account_sid),
            ("From", message["from"] or ""),
            ("ApiVersion", API_VERSION),
        ]
        if error_code is not None:
            params.append(("ErrorCode", str(error_code)))
        if status in ("delivered", "undelivered"):
            params.append(("RawDlrDoneDate", datetime.now(UTC).strftime("%y%m%d%H%M")))
        return signed_webhook(auth_token or self.auth_token, target, params)

    def inbound_message(
        self,
        url: str,
        *,
        from_: str,
        to: str,
        body: str = "",
        media: Iterable[tuple[str, str]] = (),
        auth_token: str | None = None,
    ) -> SignedWebhook:
        """The signed webhook Twilio POSTs for an incoming message (`media`: `(url, content_type)`)."""
        media = list(media)
        sid = ("MM" if media else "SM") + secrets.token_hex(16)
        params = [("ToCountry", "US"), ("SmsMessageSid", sid), ("NumMedia", str(len(media)))]
        for index, (media_url, content_type) in enumerate(media):
            params += [(f"MediaContentType{index}", content_type), (f"MediaUrl{index}", media_url)]
        params += [
            ("SmsSid", sid),
            ("SmsStatus", "received"),
            ("Body", body),
            ("To", to),
            ("NumSegments", "1"),
            ("MessageSid", sid),
            ("AccountSid", self.account_sid),
            ("From", from_),
            ("ApiVersion", API_VERSION),
        ]
        return signed_webhook(auth_token or self.auth_token, url, params)

    # -- routes -------------------------------------------------------------------------------------
    def _auth_error(self, request: RecordedRequest) -> web.Response | None:
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if not hmac.compare_digest(request.headers.get("Authorization", ""), expected):
            return web.json_response(twilio_error(401, 20003, "Authenticate")[1], status=401)
        if request.match_info.get("account_sid") != self.account_sid:
            status, body = twilio_error(404, 20404, "The requested resource was not found")
            return web.json_response(body, status=status)
        return None

    def _create_message(self, request: RecordedRequest) -> web.Response:
        refused = self._auth_error(request)
        if refused is not None:
            return refused
        form = parse_qsl(request.body.decode(), keep_blank_values=True)
        fields = dict(form)
        media_urls = [value for key, value in form if key == "MediaUrl"]
        problem = self._validate(fields, media_urls)
        if problem is not None:
            return web.json_response(problem[1], status=problem[0])
        now = datetime.now(UTC)
        sid = ("MM" if media_urls else "SM") + secrets.token_hex(16)
        service = fields.get("MessagingServiceSid")
        resource: dict[str, Any] = {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": fields.get("Body", ""),
            "date_created": rfc2822(now),
            "date_sent": None,
            "date_updated": rfc2822(now),
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": fields.get("From"),
            "messaging_service_sid": service,
            "num_media": str(len(media_urls)),
            "num_segments": str(max(1, -(-len(fields.get("Body", "")) // 153))),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if service and not fields.get("From") else "queued",
            "subresource_uris": {"media": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}/Media.json"},
            "to": fields["To"],
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}.json",
        }
        self.messages.append({**resource, "_status_callback": fields.get("StatusCallback"), "_media": media_urls})
        return web.json_response(resource, status=201)

    def _validate(self, fields: dict[str, str], media_urls: list[str]) -> tuple[int, dict[str, Any]] | None:
        """Twilio's own checks on a create request, with its error codes."""
        to = fields.get("To", "")
        if not to:
            return twilio_error(400, 21604, "A 'To' phone number is required.")
        if not _ADDRESS.fullmatch(to):
            return twilio_error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if not fields.get("From") and not fields.get("MessagingServiceSid"):
            return twilio_error(400, 21603, "A 'From' phone number is required.")
        if not fields.get("Body") and not media_urls:
            return twilio_error(400, 21602, "Message body is required.")
        if len(fields.get("Body", "")) > 1600:
            return twilio_error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        if to.split(":")[-1] in self.unsubscribed:
            return twilio_error(400, 21610, "Attempt to send to unsubscribed recipient")
        return None

    def _fetch_message(self, request: RecordedRequest) -> web.Response:
        refused = self._auth_error(request)
        if refused is not None:
            return refused
        for message in self.messages:
            if message["sid"] == request.match_info["message_sid"]:
                return web.json_response({k: v for k, v in message.items() if not k.startswith("_")})
        status, body = twilio_error(404, 20404, "The requested resource was not found")
        return web.json_response(body, status=status)

    def _media_redirect(self, request: RecordedRequest) -> web.Response:
        # Twilio answers a media URL with a redirect to a short-lived URL on its media store.
        refused = self._auth_error(request)
        if refused is not None:
            return refused
        media_sid = request.match_info["media_sid"]
        if media_sid not in self.media:
            status, body = twilio_error(404, 20404, "The requested resource was not found")
            return web.json_response(body, status=status)
        location = f"http://{self.cdn_host}:{self.port}/cdn/{media_sid}?Expires=300&Signature=fake"
        return web.Response(status=307, headers={"Location": location})

    def _media_content(self, request: RecordedRequest) -> web.Response:
        content, content_type = self.media.get(request.match_info["media_sid"], (b"", ""))
        if not content_type:
            return web.Response(status=404, text="NoSuchKey")
        return web.Response(body=content, content_type=content_type)
