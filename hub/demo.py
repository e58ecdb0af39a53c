"""`omnihub demo`: a small shop's worth of agents, inboxes, customers, orders and conversations."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import select

from conversation.agents import create_agent, find_agent_by_email
from conversation.conversations import ConversationChange, update_conversation
from conversation.inboxes import create_inbox, set_members
from conversation.ingest import InboxPolicy, receive_inbound
from conversation.models import Agent, CannedResponse, Message, utcnow
from conversation.orders import OrderInput, upsert_order
from conversation.replies import Author, queue_reply
from conversation.types import AuthorType, ChannelKind, ExternalIdentity, InboundMessage
from conversation.uow import UnitOfWork
from hub.channel_specs import channel_specs
from hub.services import Services

DEMO_ADMIN = ("admin@example.com", "Alex Morgan", "admin", "omnihub-demo")
DEMO_AGENT = ("sam@example.com", "Sam Rivera", "agent", "omnihub-demo")

_INBOXES: list[tuple[str, str, dict[str, Any]]] = [
    ("email", "Support email", {
        "address": "support@example.com", "imap_host": "imap.example.com", "imap_port": 993, "imap_username": "support",
        "imap_password": "demo-password", "smtp_host": "smtp.example.com", "smtp_port": 587, "smtp_username": "support",
        "smtp_password": "demo-password",
    }),
    # website_url is replaced by the hub's own public URL at seeding time, so /demo/shop can embed the widget.
    ("webchat", "Website chat", {"website_url": "https://shop.example.com", "hmac_secret": "demo-webchat-secret",
                                 "greeting": "Hi! How can we help?", "color": "#2f5bd3", "bot_enabled": True}),
    ("sms", "SMS +1 555-555-0100",
     {"account_sid": "AC" + "0" * 32, "auth_token": "demo-token", "phone_number": "+15555550100"}),
    ("whatsapp", "WhatsApp",
     {"access_token": "demo", "app_secret": "demo", "verify_token": "demo", "phone_number_id": "1055"}),
    ("telegram", "Telegram @shop_bot",
     {"bot_token": "110201543:AAHdemoTokenForTheDemoShop00000000", "secret_token": "demo-secret"}),
    ("messenger", "Facebook Messenger",
     {"access_token": "demo", "app_secret": "demo", "verify_token": "demo", "page_id": "77"}),
    ("slack", "Slack Connect", {"bot_token": "xoxb-demo", "signing_secret": "demo"}),
    ("api", "Marketplace API", {"hmac_secret": "demo-api-secret"}),
]  # fmt: skip

_PEOPLE = [
    ("Emma de Vries", "emma.devries@example.nl", "+31612345678", "nl"),
    ("Liam Johnson", "liam.johnson@example.com", "+15555550111", "en"),
    ("Sophie Müller", "sophie.mueller@example.de", "+4915112345678", "de"),
    ("Lucas García", "lucas.garcia@example.es", "+34612345678", "es"),
    ("Chloé Martin", "chloe.martin@example.fr", "+33612345678", "fr"),
    ("Noah Smith", "noah.smith@example.com", "+15555550112", "en"),
    ("Mia Jensen", "mia.jensen@example.dk", "+4520123456", "da"),
    ("Olivia Brown", "olivia.brown@example.com", "+15555550113", "en"),
    ("Finn Bakker", "finn.bakker@example.nl", "+31687654321", "nl"),
    ("Ana Souza", "ana.souza@example.com.br", "+5511912345678", "pt"),
    ("Ivan Petrov", "ivan.petrov@example.ru", "+79161234567", "ru"),
    ("Ella Wilson", "ella.wilson@example.com", "+15555550114", "en"),
    ("Jonas Weber", "jonas.weber@example.de", "+4917612345678", "de"),
    ("Zoe Taylor", "zoe.taylor@example.com", "+15555550115", "en"),
    ("Mateo López", "mateo.lopez@example.es", "+34698765432", "es"),
    ("Léa Dubois", "lea.dubois@example.fr", "+33698765432", "fr"),
    ("Ava Davis", "ava.davis@example.com", "+15555550116", "en"),
    ("Lars Nielsen", "lars.nielsen@example.dk", "+4522334455", "da"),
    ("Isabella Moore", "isabella.moore@example.com", "+15555550117", "en"),
    ("Daan Visser", "daan.visser@example.nl", "+31611223344", "nl"),
    ("Hannah Schmidt", "hannah.schmidt@example.de", "+4915223344556", "de"),
    ("Ethan Clark", "ethan.clark@example.com", "+15555550118", "en"),
    ("Beatriz Lima", "beatriz.lima@example.com.br", "+5521998765432", "pt"),
    ("Grace Lewis", "grace.lewis@example.com", "+15555550119", "en"),
    ("Oscar Hansen", "oscar.hansen@example.dk", "+4540506070", "da"),
    ("Nina Volkova", "nina.volkova@example.ru", "+79261234567", "ru"),
    ("Jack Walker", "jack.walker@example.com", "+15555550120", "en"),
    ("Camille Laurent", "camille.laurent@example.fr", "+33611223344", "fr"),
    ("Henry Hall", "henry.hall@example.com", "+15555550121", "en"),
    ("Lotte Jansen", "lotte.jansen@example.nl", "+31699887766", "nl"),
]

_QUESTIONS = {
    "en": ["Hi! Where is my order #{n}?", "My package still hasn't arrived, can you check order {n}?",
           "Can I change the shipping address for order {n}?", "The shoes are too small, how do I return them?"],
    "nl": ["Hoi, waar blijft mijn bestelling {n}?", "Ik heb nog niks ontvangen van bestelling #{n}",
           "Kan ik mijn bestelling {n} nog annuleren?"],
    "de": ["Hallo, wo ist meine Bestellung {n}?", "Mein Paket ist noch nicht angekommen (Bestellnummer {n})",
           "Ich möchte die Jacke umtauschen, geht das?"],
    "es": ["Hola, ¿dónde está mi pedido {n}?", "No me ha llegado el pedido #{n} todavía"],
    "fr": ["Bonjour, où en est ma commande {n} ?", "Je n'ai toujours pas reçu la commande n°{n}"],
    "da": ["Hej, hvor er min ordre {n}?", "Jeg har ikke modtaget ordre {n} endnu"],
    "pt": ["Olá, onde está o meu pedido {n}?", "Meu pedido #{n} ainda não chegou"],
    "ru": ["Здравствуйте, где мой заказ №{n}?", "Посылка по заказу {n} ещё не пришла"],
}  # fmt: skip

_FOLLOW_UPS = ["Thanks a lot!", "Great, thank you 🙏", "Any update on this?", "Perfect, that works for me."]
_REPLIES = [
    "Thanks for reaching out! Your order {n} shipped with {carrier}; you can track it here: {url}",
    "Sorry for the wait — I've asked the warehouse to check order {n} and will get back to you today.",
    "No problem, I've updated it for you. Anything else I can help with?",
]
_CHANNEL_PLAN = [
    ["email"], ["sms", "whatsapp"], ["webchat", "email"], ["telegram"], ["messenger"], ["whatsapp"], ["email", "sms"],
    ["webchat"], ["api"], ["slack"],
]  # fmt: skip
_CARRIERS = [
    ("DHL", "https://www.dhl.com/track?id={t}"),
    ("UPS", "https://www.ups.com/track?tracknum={t}"),
    ("PostNL", "https://jouw.postnl.nl/track-and-trace/{t}"),
    ("USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels={t}"),
]
_PRODUCTS = [("Trail running shoes", "89.00"), ("Rain jacket", "129.00"), ("Merino socks (3 pack)", "24.00"),
             ("Canvas backpack", "64.00"), ("Water bottle", "19.00"), ("Wool beanie", "22.00")]  # fmt: skip


@dataclass
class _Ctx:
    services: Services
    rng: random.Random
    inboxes: dict[str, int]
    agents: list[Agent]
    now: datetime


def _address(kind: str, person: tuple[str, str, str, str], index: int) -> ExternalIdentity:
    name, email, phone, _ = person
    by_kind = {
        "email": ExternalIdentity(address=email, name=name),
        "sms": ExternalIdentity(address=phone, name=None),
        "whatsapp": ExternalIdentity(address=phone, name=name),
        "telegram": ExternalIdentity(address=str(700000 + index), name=name),
        "messenger": ExternalIdentity(address=f"psid-{5100 + index}", name=name),
        "webchat": ExternalIdentity(address=f"visitor-{index:04d}", name=name, email=email, verified=True),
        "slack": ExternalIdentity(address=f"T0SHOP:U0{index:04d}", name=name, email=email),
        "api": ExternalIdentity(address=f"mkt-{index}", name=name, email=email, phone=phone),
    }
    return by_kind[kind]


async def _seed_orders(ctx: _Ctx, index: int, person: tuple[str, str, str, str]) -> list[OrderInput]:
    orders = []
    for k in range(ctx.rng.randint(1, 3)):
        number = str(1001 + index * 3 + k)
        product, price = ctx.rng.choice(_PRODUCTS)
        qty = ctx.rng.randint(1, 2)
        carrier, url = ctx.rng.choice(_CARRIERS)
        tracking = f"{carrier[:2].upper()}{ctx.rng.randint(10**9, 10**10 - 1)}"
        status = ctx.rng.choice(["paid", "shipped", "shipped", "delivered", "fulfilled", "pending"])
        placed = ctx.now - timedelta(days=ctx.rng.randint(1, 40), hours=ctx.rng.randint(0, 23))
        shipped = status in ("shipped", "delivered", "fulfilled")
        orders.append(
            OrderInput(
                number=number, status=status, email=person[1], phone=person[2], customer_name=person[0],
                items=[{"name": product, "quantity": qty, "price": price, "sku": None}],
                total=f"{float(price) * qty:.2f}", currency="USD" if person[3] in ("en", "ru", "da") else "EUR",
                placed_at=placed, store="Trailhead Outfitters", source="demo",
                fulfillment_status="shipped" if shipped else None,
                carrier=carrier if shipped else None, tracking_number=tracking if shipped else None,
                tracking_url=url.format(t=tracking) if shipped else None,
                eta=placed + timedelta(days=ctx.rng.randint(3, 8)) if shipped else None,
            )
        )  # fmt: skip
    async with ctx.services.uow() as uow:
        for order in orders:
            await upsert_order(uow, order, now=ctx.now)
        await uow.commit()
    return orders


async def _inbound(
    ctx: _Ctx, kind: str, person: tuple[str, str, str, str], index: int, text: str, when: datetime, key: str
) -> int:
    inbox_id = ctx.inboxes[kind]
    msg = InboundMessage(
        channel_kind=ChannelKind(kind), inbox_id=inbox_id, external_message_id=f"demo-{key}",
        sender=_address(kind, person, index), text=text, sent_at=when,
        subject="Question about my order" if kind == "email" else None,
    )  # fmt: skip
    async with ctx.services.uow() as uow:
        result = await receive_inbound(uow, msg, InboxPolicy(id=inbox_id, kind=kind), now=when)
        await uow.commit()
    return int(result.conversation_id or 0)


async def _agent_reply(ctx: _Ctx, conversation_id: int, agent: Agent, text: str, when: datetime) -> None:
    async with UnitOfWork(ctx.services.sessions()) as uow:  # history: nothing is really sent
        message = await queue_reply(
            uow, conversation_id, Author(AuthorType.AGENT, agent.id, agent.name), text, now=when
        )
        status = ctx.rng.choice(["delivered", "read", "sent"])
        await uow.session.exec(
            sa.update(Message)
            .where(Message.id == message.id)  # type: ignore[arg-type]
            .values(
                status=status,
                sent_at=when,
                delivered_at=when + timedelta(seconds=4),
                external_id=f"demo-out-{message.id}",
            )
        )
        await uow.commit()


async def _seed_conversation(
    ctx: _Ctx, index: int, person: tuple[str, str, str, str], orders: list[OrderInput]
) -> None:
    rng = ctx.rng
    channels = _CHANNEL_PLAN[index % len(_CHANNEL_PLAN)]
    order = orders[0]
    start = ctx.now - timedelta(hours=rng.randint(1, 96), minutes=rng.randint(0, 59))
    question = rng.choice(_QUESTIONS[person[3]]).format(n=order.number)
    conversation_id = await _inbound(ctx, channels[0], person, index, question, start, f"{index}-1")
    when = start + timedelta(minutes=rng.randint(2, 40))
    if index % 3 != 0:
        reply = rng.choice(_REPLIES).format(
            n=order.number, carrier=order.carrier or "our courier", url=order.tracking_url or ""
        )
        await _agent_reply(ctx, conversation_id, rng.choice(ctx.agents), reply, when)
        when += timedelta(minutes=rng.randint(3, 90))
        if len(channels) > 1 or index % 2:
            kind = channels[-1]
            await _inbound(ctx, kind, person, index, rng.choice(_FOLLOW_UPS), when, f"{index}-2")
    change = _workflow(index, ctx)
    if change is not None:
        async with ctx.services.uow() as uow:
            await update_conversation(
                uow, conversation_id, change, ctx.agents[0], now=min(when + timedelta(minutes=5), ctx.now)
            )
            await uow.commit()


def _workflow(index: int, ctx: _Ctx) -> ConversationChange | None:
    tags = [["shipping"], ["returns"], ["vip", "shipping"], [], ["address-change"]][index % 5]
    if index % 7 == 0:
        return ConversationChange(status="resolved", tags=tags)
    if index % 5 == 1:
        return ConversationChange(assignee_id=ctx.agents[1].id, tags=tags, priority="high")
    if index % 4 == 2:
        return ConversationChange(assignee_id=ctx.agents[0].id, tags=tags)
    if index % 6 == 3:
        return ConversationChange(status="pending", tags=tags)
    return ConversationChange(tags=tags) if tags else None


async def _seed_people(services: Services) -> list[Agent]:
    async with services.sessions() as session:
        agents = []
        for email, name, role, password in (DEMO_ADMIN, DEMO_AGENT):
            agents.append(await create_agent(session, email=email, name=name, role=role, password=password))
        for code, title, text in (
            ("thanks", "Thank you", "Thanks for your patience! Let me know if there is anything else I can do."),
            ("tracking", "Tracking link", "You can follow your parcel here: "),
            (
                "returns",
                "Returns policy",
                "You can return unworn items within 30 days: https://shop.example.com/returns",
            ),
        ):
            session.add(CannedResponse(short_code=code, title=title, text=text, created_by=agents[0].id))
        await session.commit()
    return agents


def _local_site(public_base: str) -> dict[str, Any]:
    """The demo widget runs on the hub's own demo page (and its localhost twin)."""
    twin = public_base.replace("127.0.0.1", "localhost") if "127.0.0.1" in public_base else None
    return {"website_url": public_base, **({"allowed_origins": [twin]} if twin else {})}


async def seed_demo(services: Services) -> bool:
    """Create the demo shop once. Returns False when it is already there."""
    async with services.sessions() as session:
        if await find_agent_by_email(session, DEMO_ADMIN[0]) is not None:
            return False
        if (await session.exec(select(Agent).limit(1))).first() is not None:
            return False  # a real installation: never mix demo data into it
    agents = await _seed_people(services)
    specs = channel_specs()
    inboxes: dict[str, int] = {}
    async with services.uow() as uow:
        for kind, name, settings in _INBOXES:
            if kind == "webchat":
                settings = {**settings, **_local_site(services.settings.public_base)}
            inbox = await create_inbox(uow, kind=kind, name=name, settings=settings, spec=specs[kind], box=services.box)
            inboxes[kind] = int(inbox.id or 0)
            members = [a.id for a in agents if a.role == "admin" or kind != "api"]
            await set_members(uow, inboxes[kind], [m for m in members if m is not None])
        await uow.commit()
    ctx = _Ctx(services, random.Random(1001), inboxes, agents, utcnow())
    for index, person in enumerate(_PEOPLE):
        orders = await _seed_orders(ctx, index, person)
        if index < 26:
            await _seed_conversation(ctx, index, person, orders)
    return True
