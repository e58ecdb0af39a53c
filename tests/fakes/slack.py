"""A local fake of the Slack Web API (and of Slack's side of the Events API) for tests.

Enough of https://docs.slack.dev/reference/methods for the real `slack_sdk.web.async_client.AsyncWebClient`:
`auth.test`, `chat.postMessage`, `users.info`, `conversations.open`, `files.info`, the two-step
`files.getUploadURLExternal` / upload URL / `files.completeUploadExternal` flow behind `files_upload_v2`,
and `url_private` downloads. Like Slack it takes arguments from the query string, a form or a JSON body,
the token from `Authorization: Bearer` or a `token` argument, answers errors as HTTP 200
`{"ok": false, "error": "..."}` and rate limits as HTTP 429 with `Retry-After`.

Use:
    with FakeSlack() as slack:
        settings = {"bot_token": slack.bot_token, "signing_secret": "s", "api_base_url": slack.api_url}
        ... await connector.send(...) ...
        assert slack.posted[0]["text"] == "Hello"
        slack.error_next("channel_not_found"); slack.ratelimit_next(retry_after=30)

End-to-end tests build signed inbound requests with `message_envelope(...)` and `signed_headers(...)`
(the signer follows https://docs.slack.dev/authentication/verifying-requests-from-slack/).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from tests.fakes.base import FakeProvider, RecordedRequest

DEFAULT_BOT_TOKEN = "xoxb-0000000000-0000000000000-fakeslacktokenfakeslack"  # a fake token


# -- signing (Slack's documented v0 scheme; deliberately not importing the connector) ---------------------


def slack_signature(signing_secret: str, timestamp: str | int, body: bytes) -> str:
    """`X-Slack-Signature`: `v0=` + hex HMAC-SHA256(signing secret, `v0:{timestamp}:{raw body}`)."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(signing_secret: str, body: bytes, timestamp: str | int | None = None) -> dict[str, str]:
    """The headers Slack sends with an Events API request whose body is `body` (now, unless `timestamp`)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": slack_signature(signing_secret, ts, body),
    }


_event_ids = itertools.count(1)


def message_envelope(
    *,
    text: str = "Hello, where is my order?",
    user: str = "U0CUSTOMER",
    channel: str = "C0SUPPORT",
    ts: str | None = None,
    thread_ts: str | None = None,
    team_id: str = "T0SHOP",
    bot_user_id: str = "U0BOT",
    subtype: str | None = None,
    files: list[dict[str, Any]] | None = None,
    bot_id: str | None = None,
    event_id: str | None = None,
    channel_type: str = "channel",
) -> dict[str, Any]:
    """An `event_callback` envelope carrying one `message` event, shaped like Slack's (fields in Slack's order)."""
    ts = ts or f"{time.time():.6f}"
    event: dict[str, Any] = {"type": "message"}
    if subtype:
        event["subtype"] = subtype
    event["text"] = text
    if files is not None:
        event["files"] = files
        event["upload"] = False
    if bot_id:
        event["bot_id"] = bot_id
    event["user"] = user
    event["ts"] = ts
    if thread_ts:
        event["thread_ts"] = thread_ts
    event["team"] = team_id
    event["channel"] = channel
    event["event_ts"] = ts
    event["channel_type"] = channel_type
    return {
        "token": "fake-verification-token",
        "team_id": team_id,
        "api_app_id": "A0OMNIHUB",
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_event_ids):010d}",
        "event_time": int(float(ts)),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-fake",
    }


def encode_body(payload: dict[str, Any]) -> bytes:
    """A JSON body as Slack sends it (compact)."""
    return json.dumps(payload, separators=(",", ":")).encode()


# -- the fake Web API ---------------------------------------------------------------------------------------


class FakeSlack(FakeProvider):
    """The Slack Web API on 127.0.0.1. Point `AsyncWebClient(base_url=fake.api_url)` at it."""

    def __init__(
        self,
        *,
        bot_token: str = DEFAULT_BOT_TOKEN,
        team_id: str = "T0SHOP",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        app_id: str = "A0OMNIHUB",
        channels: Iterable[str] | None = None,
    ) -> None:
        self.bot_token = bot_token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        # None = any C/G/D channel id exists and the bot is in it; otherwise only these (see set_channel).
        self.channels: dict[str, dict[str, bool]] | None = (
            None if channels is None else {c: {"member": True, "archived": False} for c in channels}
        )
        self.users: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.posted: list[dict[str, Any]] = []
        self.reject_uploads = False  # True: the upload URL answers 500, as a failing files.slack.com would
        self._pending_uploads: dict[str, dict[str, Any]] = {}
        self._seq = itertools.count(1)
        super().__init__()

    @property
    def api_url(self) -> str:
        """The `base_url` for `AsyncWebClient` (with the trailing slash the SDK needs)."""
        return f"{self.url}/api/"

    # -- scripting -------------------------------------------------------------------------------------------
    def error_next(self, error: str, *, status: int = 200, times: int = 1, **extra: Any) -> None:
        """Answer the next request(s) with Slack's error shape `{"ok": false, "error": error}`."""
        self.fail_next(status, {"ok": False, "error": error, **extra}, times=times)

    def ratelimit_next(self, *, retry_after: int = 30, times: int = 1) -> None:
        """Answer the next request(s) as Slack's rate limiter does: 429, `Retry-After`, `ratelimited`."""
        self.fail_next(
            429, {"ok": False, "error": "ratelimited"}, times=times, headers={"Retry-After": str(retry_after)}
        )

    def set_channel(self, channel: str, *, member: bool = True, archived: bool = False) -> None:
        """Declare a channel (switches the fake to 'only declared channels exist')."""
        if self.channels is None:
            self.channels = {}
        self.channels[channel] = {"member": member, "archived": archived}

    def add_user(
        self,
        user_id: str,
        *,
        real_name: str = "Ada Lovelace",
        display_name: str = "ada",
        email: str | None = "ada@example.com",
        team_id: str | None = None,
        is_bot: bool = False,
        is_email_confirmed: bool = True,
        deleted: bool = False,
    ) -> dict[str, Any]:
        """Register a user for `users.info`; returns the user object it will answer with."""
        profile: dict[str, Any] = {
            "title": "",
            "phone": "",
            "skype": "",
            "real_name": real_name,
            "real_name_normalized": real_name,
            "display_name": display_name,
            "display_name_normalized": display_name,
            "status_text": "",
            "status_emoji": "",
            "avatar_hash": "g0000000000",
            "image_24": f"https://avatars.slack-edge.com/fake/{user_id}_24.png",
            "image_72": f"https://avatars.slack-edge.com/fake/{user_id}_72.png",
            "image_192": f"https://avatars.slack-edge.com/fake/{user_id}_192.png",
            "team": team_id or self.team_id,
        }
        if email is not None:
            profile["email"] = email
        user = {
            "id": user_id,
            "team_id": team_id or self.team_id,
            "name": display_name or real_name.lower().replace(" ", "."),
            "deleted": deleted,
            "color": "9f69e7",
            "real_name": real_name,
            "tz": "Europe/London",
            "tz_label": "Greenwich Mean Time",
            "tz_offset": 0,
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": 1700000000,
            "is_email_confirmed": is_email_confirmed,
        }
        self.users[user_id] = user
        return user

    def add_file(self, name: str, content: bytes, mimetype: str = "application/octet-stream") -> dict[str, Any]:
        """Host a file; returns its file object (with `url_private` pointing at this fake)."""
        file_id = f"F{next(self._seq):08d}"
        self.files[file_id] = {"name": name, "content": content, "mimetype": mimetype}
        return self._file_object(file_id)

    # -- routes ----------------------------------------------------------------------------------------------
    def routes(self, app: web.Application) -> None:
        methods = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "users.info": self._users_info,
            "conversations.open": self._conversations_open,
            "files.info": self._files_info,
            "files.getUploadURLExternal": self._get_upload_url,
            "files.completeUploadExternal": self._complete_upload,
        }
        for name, handler in methods.items():
            self.route("*", f"/api/{name}", self._api(handler))
        self.route("POST", "/upload/v1/{upload_id}", self._upload)
        self.route("GET", "/files-pri/{team_file}/{name}", self._download)
        self.route("GET", "/files-pri/{team_file}/download/{name}", self._download)

    def _api(self, handler: Any) -> Any:
        def wrapped(request: RecordedRequest) -> web.StreamResponse:
            args = self.args(request)
            token = _bearer(request) or args.get("token")
            if not token:
                return _json({"ok": False, "error": "not_authed"})
            if token != self.bot_token:
                return _json({"ok": False, "error": "invalid_auth"})
            return _json(handler(args))

        return wrapped

    @staticmethod
    def args(request: RecordedRequest) -> dict[str, Any]:
        """The method's arguments as Slack reads them: query string, then the form or JSON body."""
        merged: dict[str, Any] = dict(request.query)
        if request.body:
            ctype = request.headers.get("Content-Type", "")
            if "json" in ctype:
                body = request.json
                if isinstance(body, dict):
                    merged.update(body)
            elif "form" in ctype:
                merged.update(request.form)
        return merged

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://fake-shop.slack.com/",
            "team": "Fake Shop",
            "user": "omnihub",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _resolve_channel(self, channel: str) -> tuple[str | None, str | None]:
        """(channel id, error) for a `channel` argument, as Slack would resolve it."""
        if not channel:
            return None, "channel_not_found"
        if channel[0] in "UW":
            return (self._dm_for(channel), None) if channel in self.users else (None, "channel_not_found")
        if self.channels is None:
            return (channel, None) if channel[0] in "CGD" else (None, "channel_not_found")
        state = self.channels.get(channel)
        if state is None:
            return None, "channel_not_found"
        if state["archived"]:
            return None, "is_archived"
        if not state["member"]:
            return None, "not_in_channel"
        return channel, None

    @staticmethod
    def _dm_for(user_id: str) -> str:
        return "D" + user_id[1:]

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._seq):06d}"

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, error = self._resolve_channel(str(args.get("channel") or ""))
        if error or channel is None:
            return {"ok": False, "error": error}
        text = args.get("text")
        if not (text or args.get("blocks") or args.get("attachments")):
            return {"ok": False, "error": "no_text"}
        if text and len(str(text)) > 40000:
            return {"ok": False, "error": "msg_too_long"}
        ts = self._next_ts()
        message: dict[str, Any] = {
            "user": self.bot_user_id,
            "type": "message",
            "ts": ts,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "text": text or "",
            "team": self.team_id,
        }
        if args.get("thread_ts"):
            message["thread_ts"] = str(args["thread_ts"])
        self.posted.append(
            {"channel": channel, "ts": ts, "text": text or "", "thread_ts": args.get("thread_ts"), "files": []}
        )
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(args.get("user") or ""))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = [u for u in str(args.get("users") or "").split(",") if u]
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        if any(u not in self.users for u in users):
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "channel": {"id": self._dm_for(users[0])}}

    def _file_object(self, file_id: str) -> dict[str, Any]:
        stored = self.files[file_id]
        name = stored["name"]
        base = f"{self.url}/files-pri/{self.team_id}-{file_id}"
        return {
            "id": file_id,
            "created": 1700000000,
            "timestamp": 1700000000,
            "name": name,
            "title": stored.get("title") or name,
            "mimetype": stored["mimetype"],
            "user": stored.get("user", self.bot_user_id),
            "size": len(stored["content"]),
            "mode": "hosted",
            "is_external": False,
            "url_private": f"{base}/{name}",
            "url_private_download": f"{base}/download/{name}",
            "file_access": "visible",
        }

    def _files_info(self, args: dict[str, Any]) -> dict[str, Any]:
        file_id = str(args.get("file") or "")
        if file_id not in self.files:
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "file": self._file_object(file_id)}

    def _get_upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        filename, length = args.get("filename"), str(args.get("length") or "")
        if not filename or not length.isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._seq):08d}"
        upload_id = f"{file_id}-upload"
        self._pending_uploads[upload_id] = {"file_id": file_id, "filename": str(filename), "length": int(length)}
        return {"ok": True, "upload_url": f"{self.url}/upload/v1/{upload_id}", "file_id": file_id}

    def _upload(self, request: RecordedRequest) -> web.StreamResponse:
        if self.reject_uploads:
            return web.Response(status=500, text="upload failed")
        pending = self._pending_uploads.pop(request.match_info["upload_id"], None)
        if pending is None:
            return web.Response(status=404, text="upload url not found")
        self.files[pending["file_id"]] = {
            "name": pending["filename"],
            "content": request.body,
            "mimetype": request.headers.get("Content-Type") or "application/octet-stream",
            "complete": False,
        }
        return web.Response(status=200, text=f"OK - {len(request.body)}")

    def _complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        try:
            files = json.loads(args.get("files") or "[]")
        except ValueError:
            return {"ok": False, "error": "invalid_arguments"}
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        for item in files:
            if not isinstance(item, dict) or item.get("id") not in self.files:
                return {"ok": False, "error": "file_not_found"}
        channel = args.get("channel_id")
        if channel:
            resolved, error = self._resolve_channel(str(channel))
            if error:
                return {"ok": False, "error": error}
            channel = resolved
        out = []
        for item in files:
            stored = self.files[item["id"]]
            stored["complete"] = True
            stored["title"] = item.get("title") or stored["name"]
            out.append({"id": item["id"], "title": stored["title"]})
        if channel:
            self.posted.append(
                {
                    "channel": channel,
                    "ts": None,
                    "text": args.get("initial_comment") or "",
                    "thread_ts": args.get("thread_ts"),
                    "files": [i["id"] for i in out],
                }
            )
        return {"ok": True, "files": out}

    def _download(self, request: RecordedRequest) -> web.StreamResponse:
        file_id = request.match_info["team_file"].rpartition("-")[2]
        if _bearer(request) != self.bot_token:
            # Slack answers a private file URL without a (sufficiently scoped) token with its HTML sign-in page.
            return web.Response(
                status=200, text="<!DOCTYPE html><html><body>Sign in</body></html>", content_type="text/html"
            )
        stored = self.files.get(file_id)
        if stored is None:
            return web.Response(status=404, text="file not found")
        return web.Response(status=200, body=stored["content"], content_type=stored["mimetype"])


def _bearer(request: RecordedRequest) -> str | None:
    value = request.headers.get("Authorization") or ""
    return value[7:] if value.startswith("Bearer ") else None


def _json(payload: dict[str, Any]) -> web.Response:
    return web.json_response(payload)
