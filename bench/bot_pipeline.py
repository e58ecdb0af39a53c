"""Bot answer latency through the real pipeline: inbound committed -> the bot's reply queued.

The embedded default, as `omnihub serve` runs it: a SQLite database (migrated) in a temporary directory,
the in-process job queue and its workers, the real `bot_reply` and `deliver_message` handlers. Customers
with orders are seeded first; then customers write one at a time (in eight languages) through
`store_inbound` (the one way every webhook stores a message), and for each message the clock runs from
the moment its transaction committed (when the unit of work hands its jobs to the queue) to the moment
the bot job's own transaction committed the reply.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.common import summary_ms
from conversation.bot.language import DEFAULT_LANGUAGES, detector_for
from conversation.events import JOB_BOT, Job
from conversation.inboxes import create_inbox
from conversation.models import Customer, Identity, Inbox, Message, Order
from conversation.secretbox import SecretBox
from conversation.types import ChannelKind, ExternalIdentity, InboundMessage
from hub.channel_specs import channel_specs
from hub.config import load_settings
from hub.outbox import job_handlers
from hub.services import Services, create_services
from hub.storage.migrate import upgrade
from hub.webhooks import store_inbound

QUESTIONS = (
    "hi, where is my order?", "where is my order {n}??", "waar blijft mijn bestelling {n}", "waar is mijn pakket",
    "hvor er min ordre {n}?", "wo ist meine Bestellung", "Wo bleibt Bestellung {n}?", "где мой заказ {n}",
    "¿dónde está mi pedido {n}?", "ou est ma commande {n}", "cadê meu pedido {n}", "can i talk to a human",
    "do you have the jacket in size L?", "mi pedido no ha llegado", "hallo ik wil een medewerker spreken",
)  # fmt: skip
STATUSES = ("paid", "shipped", "delivered", "fulfilled")


async def _seed(services: Services, customers: int, rng: random.Random) -> tuple[int, int]:
    """An `api` inbox with the bot on, and `customers` customers with 1-3 orders each (bulk inserts)."""
    now = datetime.now(UTC)
    async with services.uow() as uow:
        inbox = await create_inbox(
            uow, kind="api", name="Bench shop", settings={"hmac_secret": "bench", "bot_enabled": True},
            spec=channel_specs()["api"], box=SecretBox(services.settings.resolved_secret_key),
        )  # fmt: skip
        people = [{"name": f"Customer {i}", "email": f"c{i}@example.com", "attributes": {}, "created_at": now,
                   "updated_at": now} for i in range(customers)]  # fmt: skip
        ids = (await uow.session.exec(sa.insert(Customer).values(people).returning(Customer.id))).scalars().all()  # type: ignore[call-overload]
        identities = [{"customer_id": cid, "channel_kind": "email", "address": f"c{i}@example.com",
                       "email": f"c{i}@example.com", "verified": True, "extra": {}, "created_at": now}
                      for i, cid in enumerate(ids)]  # fmt: skip
        await uow.session.exec(sa.insert(Identity).values(identities))  # type: ignore[call-overload]
        orders = []
        for i, cid in enumerate(ids):
            for k in range(rng.randint(1, 3)):
                orders.append({
                    "number": str(10_000 + i * 3 + k), "customer_id": cid, "email": f"c{i}@example.com",
                    "status": rng.choice(STATUSES), "currency": "EUR", "total": "49.90", "items": [],
                    "shipping_address": {"zip": "1015 CJ"}, "billing_address": {}, "fulfillments": [],
                    "carrier": "PostNL", "tracking_url": f"https://track.example.com/{i}-{k}",
                    "eta": now + timedelta(days=2), "placed_at": now - timedelta(days=rng.randint(1, 60)),
                    "created_at": now, "updated_at": now,
                })  # fmt: skip
        await uow.session.exec(sa.insert(Order).values(orders))  # type: ignore[call-overload]
        await uow.commit()
    return int(inbox.id or 0), len(orders)


class Stopwatch:
    """Commit time of each inbound message (its bot job is enqueued right after the commit) and the time its
    bot job finished (the reply's transaction committed)."""

    def __init__(self) -> None:
        self.committed: dict[int, float] = {}
        self.finished: dict[int, float] = {}
        self._waiters: dict[int, asyncio.Future[float]] = {}

    async def finish_of(self, message_id: int, timeout: float = 10.0) -> float:
        """When the bot job of `message_id` finished (waiting for it if it has not yet)."""
        if message_id not in self.finished:
            self._waiters[message_id] = asyncio.get_running_loop().create_future()
            await asyncio.wait_for(self._waiters[message_id], timeout)
        return self.finished[message_id]

    def wrap_enqueue(self, services: Services) -> None:
        enqueue = services.queue.enqueue

        async def timed(jobs: Sequence[Job]) -> None:
            at = time.perf_counter()
            for job in jobs:
                if job.name == JOB_BOT:
                    self.committed[job.kwargs["message_id"]] = at
            await enqueue(jobs)

        services.queue.enqueue = timed  # type: ignore[method-assign]

    def wrap_handlers(self, handlers: dict[str, Any]) -> dict[str, Any]:
        bot = handlers[JOB_BOT]

        async def timed_bot(message_id: int) -> None:
            await bot(message_id)
            self.finished[message_id] = time.perf_counter()
            waiter = self._waiters.pop(message_id, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(self.finished[message_id])

        return {**handlers, JOB_BOT: timed_bot}


def _message(inbox_id: int, index: int, customer: int, rng: random.Random) -> InboundMessage:
    text = rng.choice(QUESTIONS).format(n=10_000 + customer * 3)
    return InboundMessage(
        channel_kind=ChannelKind.API, inbox_id=inbox_id, external_message_id=f"bench-{index}",
        sender=ExternalIdentity(address=f"app-{customer}", email=f"c{customer}@example.com", verified=True),
        text=text, sent_at=datetime.now(UTC),
    )  # fmt: skip


async def _run(directory: Path, messages: int, customers: int, seed: int) -> dict[str, Any]:
    settings = load_settings(
        database_url=f"sqlite+aiosqlite:///{directory / 'omnihub.db'}", redis_url=None, var_dir=directory / "var",
        secret_key="bench-secret-key-" + "k" * 32, public_url="https://hub.bench.example", auto_migrate=False,
    )  # fmt: skip
    upgrade(settings.database_url)
    services = create_services(settings)
    rng = random.Random(seed)
    watch = Stopwatch()
    try:
        inbox_id, orders = await _seed(services, customers, rng)
        async with services.sessions() as session:
            inbox = await session.get(Inbox, inbox_id)
        assert inbox is not None
        watch.wrap_enqueue(services)
        await services.queue.start_workers(watch.wrap_handlers(job_handlers(services)), settings.worker_concurrency)
        latencies = []
        warmup = 10
        # Each message opens its customer's conversation: a thread the bot handed over gets no bot job.
        writers = rng.sample(range(customers), messages + warmup)
        for index, customer in enumerate(writers):
            stored, result = await store_inbound(services, inbox, _message(inbox_id, index, customer, rng))
            assert stored and result.message_id in watch.committed, "ingest did not queue the bot job"
            finished = await watch.finish_of(result.message_id)
            if index >= warmup:
                latencies.append(finished - watch.committed[result.message_id])
        async with services.sessions() as session:
            replies = (await session.exec(sa.select(sa.func.count()).where(Message.author_type == "bot"))).scalar_one()  # type: ignore[call-overload, arg-type]
    finally:
        await services.close()
    return {"messages": messages, "customers": customers, "orders": orders, "bot_replies": int(replies),
            **summary_ms(latencies)}  # fmt: skip


def measure_pipeline(messages: int = 300, customers: int = 2000, seed: int = 7) -> dict[str, Any]:
    """Latency figures (ms) of `messages` bot answers on a database of `customers` customers with orders."""
    detector_for(frozenset(DEFAULT_LANGUAGES))  # loaded once per process, as the hub's warm-up does
    with tempfile.TemporaryDirectory(prefix="omnihub-bot-bench-") as directory:
        return asyncio.run(_run(Path(directory), messages, customers, seed))
