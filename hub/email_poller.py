"""IMAP intake: one poller per active email inbox, IDLE when the server offers it, polling otherwise.

imapclient is synchronous, so each poller owns one thread (a dedicated executor: a poller waits in
IDLE for minutes and must not starve the shared `asyncio.to_thread` pool). The asyncio side stores
each fetched message through `hub.email_intake` (the same path as `omnihub ingest-email`), then marks
or moves it on the server. UIDVALIDITY and the last UID taken are kept in `InboxState`
(`imap:<folder>`), saved after every message: a restart resumes exactly where it stopped, and the one
message that may be fetched twice (stored, then the process died) is absorbed by its Message-ID.

With Redis configured, a lease (`SET NX PX`, renewed) makes sure only one process polls an inbox
however many `serve`/`worker` processes run; without Redis there is one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlmodel import select

from connectors.email.connector import ORIGINAL_SIZE_HEADER
from connectors.email.settings import EmailSettings, SettingsError, email_settings
from conversation.inboxes import full_settings
from conversation.models import Inbox, InboxState, utcnow
from hub.email_intake import IntakeError, ingest_email_bytes
from hub.services import Services

log = logging.getLogger(__name__)
T = TypeVar("T")

FETCH_BATCH = 20
#: Bigger messages are taken with their headers only, and the message says so.
MAX_MESSAGE_BYTES = 30 * 1024 * 1024
#: RFC 2177 asks for a new IDLE at least every 29 minutes; every 5 also keeps NAT mappings alive and
#: bounds the delay of a notification a server failed to send (each renewal searches again).
IDLE_RENEW_SECONDS = 5 * 60
BACKOFF_SECONDS = (1, 2, 5, 15, 30, 60, 120, 300)
LEASE_MS = 60_000
#: Names that can never be a real mail server (RFC 2606 and 6761): the demo inbox, documentation examples.
_RESERVED_TLDS = frozenset({"example", "invalid", "test"})
_RESERVED_DOMAINS = frozenset({"example.com", "example.net", "example.org"})


def state_key(folder: str) -> str:
    return f"imap:{folder}"


def polls(config: EmailSettings) -> bool:
    """Whether this inbox's IMAP server should be polled at all (switched on, and a possible host)."""
    labels = config.imap.host.lower().rstrip(".").split(".")
    reserved = labels[-1] in _RESERVED_TLDS or ".".join(labels[-2:]) in _RESERVED_DOMAINS
    return config.imap_enabled and not reserved


# --- the IMAP side (runs in the poller's own thread) ---------------------------------------------


@dataclass(slots=True)
class Fetched:
    """One message as fetched: its bytes, or only its headers when it was too large."""

    uid: int
    raw: bytes
    original_size: int | None = None


class ImapMailbox:
    """A logged-in IMAP connection with the folder selected. Every method blocks: call from a thread."""

    def __init__(self, config: EmailSettings, timeout: float = 30.0) -> None:
        self.config = config
        self.timeout = timeout
        self.client: IMAPClient | None = None
        self.uidvalidity = 0
        self.uidnext = 0
        self.can_idle = False

    def connect(self) -> None:
        server = self.config.imap
        context = server.ssl_context() if server.tls or server.starttls else None
        client = IMAPClient(server.host, port=server.port, ssl=server.tls, ssl_context=context, timeout=self.timeout)
        self.client = client
        if server.starttls:
            client.starttls(context)
        client.login(server.username, server.password)
        processed = self.config.processed_folder
        if processed and not client.folder_exists(processed):
            client.create_folder(processed)
        info = client.select_folder(self.config.folder)
        self.uidvalidity = int(info.get(b"UIDVALIDITY", 0))
        self.uidnext = int(info.get(b"UIDNEXT", 0))
        self.can_idle = client.has_capability("IDLE")

    @property
    def imap(self) -> IMAPClient:
        if self.client is None:
            raise ConnectionError("not connected")
        return self.client

    def announced_new_mail(self) -> bool:
        """Whether answers to our commands since the last call announced mail (untagged EXISTS/RECENT).

        imaplib keeps untagged data no command asked for in `untagged_responses` (imapclient reads
        SELECT's from there too); this takes the announcements out.
        """
        pending = self.imap._imap.untagged_responses
        exists, recent = pending.pop("EXISTS", None), pending.pop("RECENT", None)
        return bool(exists or recent)

    def check_for_new_mail(self) -> bool:
        """NOOP: the server brings the session up to date and announces what arrived.

        A SEARCH answers from the session's current view, and IDLE reports only changes made after
        it starts (Dovecot), so mail delivered just before we go idle would wait for the next renewal.
        """
        _, responses = self.imap.noop()
        announced = self.announced_new_mail()
        return announced or any(_is_new_mail(r) for r in responses)

    def unseen(self) -> list[int]:
        return sorted(int(uid) for uid in self.imap.search(["UNSEEN"]))

    def after(self, last_uid: int) -> list[int]:
        # "n:*" always matches the newest message even when its UID is below n (RFC 3501 6.4.8).
        return sorted(uid for uid in (int(u) for u in self.imap.search(["UID", f"{last_uid + 1}:*"])) if uid > last_uid)

    def highest_uid(self) -> int:
        uids = self.imap.search(["ALL"])
        return max((int(u) for u in uids), default=0)

    def fetch(self, uids: list[int]) -> list[Fetched]:
        """The messages still there, in UID order (BODY.PEEK: fetching never marks them read)."""
        if not uids:
            return []
        sizes = {
            int(uid): int(data.get(b"RFC822.SIZE", 0)) for uid, data in self.imap.fetch(uids, ["RFC822.SIZE"]).items()
        }
        small = [uid for uid in uids if uid in sizes and sizes[uid] <= MAX_MESSAGE_BYTES]
        large = [uid for uid in uids if uid in sizes and sizes[uid] > MAX_MESSAGE_BYTES]
        found: list[Fetched] = []
        if small:
            for uid, data in self.imap.fetch(small, ["BODY.PEEK[]"]).items():
                found.append(Fetched(int(uid), bytes(data.get(b"BODY[]") or b"")))
        if large:
            for uid, data in self.imap.fetch(large, ["BODY.PEEK[HEADER]"]).items():
                found.append(Fetched(int(uid), bytes(data.get(b"BODY[HEADER]") or b""), original_size=sizes[int(uid)]))
        return sorted(found, key=lambda f: f.uid)

    def mark_processed(self, uid: int) -> None:
        """Move to the processed folder, or flag \\Seen, as the inbox is configured."""
        if self.config.processed_folder:
            if self.imap.has_capability("MOVE"):
                self.imap.move([uid], self.config.processed_folder)
            else:
                self.imap.copy([uid], self.config.processed_folder)
                self.imap.add_flags([uid], [b"\\Deleted"], silent=True)
                if self.imap.has_capability("UIDPLUS"):
                    self.imap.uid_expunge([uid])
                else:
                    self.imap.expunge()
        elif self.config.mark_seen:
            self.imap.add_flags([uid], [b"\\Seen"], silent=True)

    def idle(self, should_stop: Callable[[], bool], seconds: float, slice_seconds: float) -> bool:
        """Wait in IDLE until the server reports new mail (True), `seconds` pass or `should_stop()`."""
        client = self.imap
        client.idle()
        try:
            deadline = time.monotonic() + seconds
            while not should_stop() and time.monotonic() < deadline:
                started = time.monotonic()
                responses = client.idle_check(timeout=slice_seconds)
                if any(_is_new_mail(r) for r in responses):
                    return True
                if any(r and r[0] == b"BYE" for r in responses):
                    raise ConnectionError("the IMAP server closed the connection")
                if not responses and time.monotonic() - started < slice_seconds / 10:
                    # idle_check answers at once with nothing only when the socket is at EOF.
                    raise ConnectionError("the IMAP connection dropped during IDLE")
            return False
        finally:
            with contextlib.suppress(Exception):
                client.idle_done()

    def noop(self) -> None:
        self.imap.noop()

    def close(self) -> None:
        if self.client is None:
            return
        with contextlib.suppress(Exception):
            self.client.logout()
        with contextlib.suppress(Exception):
            self.client.shutdown()
        self.client = None


def _is_new_mail(response: Any) -> bool:
    return isinstance(response, tuple) and len(response) >= 2 and response[1] in (b"EXISTS", b"RECENT")


# --- one inbox ----------------------------------------------------------------------------------


class InboxLease:
    """At most one process polls an inbox: a Redis key held with a token and renewed while polling."""

    _RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
    _RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"

    def __init__(self, redis: Any, key: str) -> None:
        self.redis = redis
        self.key = key
        self.token = uuid.uuid4().hex

    async def acquire(self) -> bool:
        return bool(await self.redis.set(self.key, self.token, nx=True, px=LEASE_MS))

    async def renew(self) -> bool:
        return bool(await self.redis.eval(self._RENEW, 1, self.key, self.token, LEASE_MS))

    async def release(self) -> None:
        with contextlib.suppress(Exception):
            await self.redis.eval(self._RELEASE, 1, self.key, self.token)


class EmailPoller:
    """Fetches one inbox's mail for as long as it runs, reconnecting with backoff."""

    def __init__(
        self,
        services: Services,
        inbox_id: int,
        config: EmailSettings,
        *,
        lease: InboxLease | None = None,
        idle_slice: float = 1.0,
    ) -> None:
        self.services = services
        self.inbox_id = inbox_id
        self.config = config
        self.lease = lease
        self.idle_slice = idle_slice
        self.key = state_key(config.folder)
        self.stored = 0  # messages handed to intake by this poller (for tests and logs)
        self._stop = threading.Event()
        self._lease_lost = threading.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self.synced = asyncio.Event()  # set after every completed sync pass

    async def start(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"imap-{self.inbox_id}")
        self._task = asyncio.create_task(self._run(), name=f"imap-poller-{self.inbox_id}")

    async def stop(self) -> None:
        self._stop.set()
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._executor is not None:
            # The thread leaves IDLE within one slice once `_stop` is set.
            await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown, True)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            if self.lease is not None and not await self.lease.acquire():
                log.debug("IMAP inbox %s: another process polls it", self.inbox_id)
                await self._sleep(LEASE_MS / 4000)
                continue
            try:
                await self._session()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                delay = BACKOFF_SECONDS[min(failures, len(BACKOFF_SECONDS) - 1)]
                failures += 1
                log.warning("IMAP inbox %s: %s; retrying in %ss", self.inbox_id, _describe(exc), delay)
                await self._sleep(delay)
            finally:
                if self.lease is not None:
                    await self.lease.release()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _session(self) -> None:
        mailbox = ImapMailbox(self.config)
        self._lease_lost.clear()
        renewer = asyncio.create_task(self._renew_lease()) if self.lease is not None else None
        try:
            await self._call(mailbox.connect)
            state = await self._initial_state(mailbox)
            log.debug("IMAP inbox %s: connected (IDLE %s), state %s", self.inbox_id, mailbox.can_idle, state)
            while not self._stop.is_set():
                state = await self._sync(mailbox, state)
                self.synced.set()
                await self._wait(mailbox)
                log.debug("IMAP inbox %s: woke up", self.inbox_id)
                if self._lease_lost.is_set():
                    raise ConnectionError("lost the polling lease to another process")
        finally:
            if renewer is not None:
                renewer.cancel()
            await self._call(mailbox.close)

    async def _renew_lease(self) -> None:
        assert self.lease is not None
        try:
            while True:
                await asyncio.sleep(LEASE_MS / 3000)
                if not await self.lease.renew():
                    return
        finally:
            self._lease_lost.set()  # lost, or Redis unreachable: leave IDLE, let the next session ask again

    def _interrupted(self) -> bool:
        return self._stop.is_set() or self._lease_lost.is_set()

    async def _wait(self, mailbox: ImapMailbox) -> None:
        if mailbox.can_idle:
            await self._call(mailbox.idle, self._interrupted, IDLE_RENEW_SECONDS, self.idle_slice)
        else:
            await self._sleep(self.config.poll_interval)
            if not self._stop.is_set():
                await self._call(mailbox.noop)

    async def _initial_state(self, mailbox: ImapMailbox) -> dict[str, Any]:
        """The saved position, or a fresh one: unread mail becomes the backlog, new mail follows."""
        state = await self._load_state()
        if state.get("uidvalidity") == mailbox.uidvalidity:
            return state
        if state:
            log.warning("IMAP inbox %s: UIDVALIDITY changed, resynchronising unread mail", self.inbox_id)
        backlog = await self._call(mailbox.unseen)
        last = mailbox.uidnext - 1 if mailbox.uidnext else await self._call(mailbox.highest_uid)
        state = {"uidvalidity": mailbox.uidvalidity, "last_uid": max(last, 0), "backlog": backlog}
        await self._save_state(state)
        return state

    async def _sync(self, mailbox: ImapMailbox, state: dict[str, Any]) -> dict[str, Any]:
        """Take the backlog and everything after the last UID, saving the position after each message.

        It repeats until a search finds nothing and a NOOP announces nothing: mail that arrived while
        we worked was announced (EXISTS) in answers to our own commands, or is only seen after a
        NOOP, and would not be pushed during IDLE.
        """
        while True:
            await self._call(mailbox.announced_new_mail)  # the search below sees all that was announced
            backlog = [int(u) for u in state.get("backlog", [])]
            last_uid = int(state.get("last_uid", 0))
            todo = backlog + [uid for uid in await self._call(mailbox.after, last_uid) if uid not in backlog]
            if not todo:
                if await self._call(mailbox.check_for_new_mail):
                    continue
                return state
            for start in range(0, len(todo), FETCH_BATCH):
                state = await self._take_batch(mailbox, todo[start : start + FETCH_BATCH], state)

    async def _take_batch(self, mailbox: ImapMailbox, batch: list[int], state: dict[str, Any]) -> dict[str, Any]:
        fetched = {f.uid: f for f in await self._call(mailbox.fetch, batch)}
        for uid in batch:
            item = fetched.get(uid)
            if item is not None and await self._take(item):
                await self._call(mailbox.mark_processed, uid)
            state = {
                "uidvalidity": mailbox.uidvalidity,
                "last_uid": max(int(state.get("last_uid", 0)), uid),
                "backlog": [u for u in state.get("backlog", []) if u != uid],
            }
            await self._save_state(state)
        return state

    async def _take(self, item: Fetched) -> bool:
        """Store one message; False when it cannot be taken (it stays on the server, unmarked)."""
        inbox = await self._inbox()
        headers = {ORIGINAL_SIZE_HEADER: str(item.original_size)} if item.original_size else None
        try:
            outcome = await ingest_email_bytes(self.services, inbox, item.raw, headers)
        except IntakeError as exc:
            log.warning("IMAP inbox %s: message UID %s skipped: %s", self.inbox_id, item.uid, exc)
            return False
        self.stored += outcome.stored
        log.info("IMAP inbox %s: UID %s %s", self.inbox_id, item.uid, outcome.describe())
        return True

    async def _inbox(self) -> Inbox:
        async with self.services.sessions() as session:
            inbox = await session.get(Inbox, self.inbox_id)
        if inbox is None or not inbox.is_active:
            raise ConnectionError("the inbox was removed or deactivated")
        return inbox

    async def _load_state(self) -> dict[str, Any]:
        async with self.services.sessions() as session:
            row = await session.get(InboxState, (self.inbox_id, self.key))
            return dict(row.value) if row is not None else {}

    async def _save_state(self, value: dict[str, Any]) -> None:
        async with self.services.sessions() as session:
            row = await session.get(InboxState, (self.inbox_id, self.key))
            if row is None:
                session.add(InboxState(inbox_id=self.inbox_id, key=self.key, value=value, updated_at=utcnow()))
            else:
                row.value = value
                row.updated_at = utcnow()
                session.add(row)
            await session.commit()


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    kind = "IMAP error" if isinstance(exc, IMAPClientError) else exc.__class__.__name__
    return f"{kind}: {text}" if text else kind


# --- every inbox (the background task) -----------------------------------------------------------


class EmailPollers:
    """The worker's background task: keeps one `EmailPoller` per active email inbox, following changes."""

    def __init__(self, services: Services, refresh_seconds: float = 30.0, idle_slice: float = 1.0) -> None:
        self.services = services
        self.refresh_seconds = refresh_seconds
        self.idle_slice = idle_slice
        self.pollers: dict[int, tuple[str, EmailPoller]] = {}
        self._task: asyncio.Task[None] | None = None
        self._redis: Any = None
        self._warned: set[tuple[int, str]] = set()

    async def start(self) -> None:
        if self.services.settings.redis_url:
            from redis.asyncio import Redis

            self._redis = Redis.from_url(self.services.settings.redis_url)
        self._task = asyncio.create_task(self._supervise(), name="imap-pollers")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for _, poller in self.pollers.values():
            await poller.stop()
        self.pollers.clear()
        if self._redis is not None:
            await self._redis.aclose()

    async def _supervise(self) -> None:
        while True:
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("refreshing the IMAP pollers failed")
            await asyncio.sleep(self.refresh_seconds)

    async def refresh(self) -> None:
        """Start pollers for new or changed inboxes, stop those removed, deactivated or changed."""
        wanted = await self._wanted()
        for inbox_id in list(self.pollers):
            fingerprint, poller = self.pollers[inbox_id]
            if wanted.get(inbox_id, (None,))[0] != fingerprint:
                await poller.stop()
                del self.pollers[inbox_id]
        for inbox_id, (fingerprint, config) in wanted.items():
            if inbox_id not in self.pollers:
                poller = EmailPoller(
                    self.services, inbox_id, config, lease=self._lease(inbox_id), idle_slice=self.idle_slice
                )
                await poller.start()
                self.pollers[inbox_id] = (fingerprint, poller)
                log.info(
                    "IMAP inbox %s: polling %s on %s:%s", inbox_id, config.folder, config.imap.host, config.imap.port
                )

    def _lease(self, inbox_id: int) -> InboxLease | None:
        if self._redis is None:
            return None
        return InboxLease(self._redis, f"{self.services.settings.redis_namespace}:imap-lease:{inbox_id}")

    async def _wanted(self) -> dict[int, tuple[str, EmailSettings]]:
        async with self.services.sessions() as session:
            query = select(Inbox).where(Inbox.kind == "email", Inbox.is_active.is_(True))  # type: ignore[attr-defined]
            rows = (await session.exec(query)).all()
        wanted: dict[int, tuple[str, EmailSettings]] = {}
        for inbox in rows:
            settings = full_settings(inbox, self.services.box)
            try:
                config = email_settings(settings)
            except SettingsError as exc:
                self._warn_once(int(inbox.id or 0), f"email inbox {inbox.id} is not polled: {exc}")
                continue
            if polls(config):
                digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()
                wanted[int(inbox.id or 0)] = (digest, config)
        return wanted

    def _warn_once(self, inbox_id: int, message: str) -> None:
        if (inbox_id, message) not in self._warned:
            self._warned.add((inbox_id, message))
            log.warning(message)
