"""Synthetic shop-scale data for the console benchmark: customers, orders, conversations, messages.

The generator is deterministic (seeded) and keeps every denormalised column of `conversation` as ingest
and replies would leave it: `last_message_*` is the newest message (notes and system lines included),
`message_count` counts them all, `unread_count` the inbound messages since the last reply, `waiting_since`
the first inbound message not yet answered, `channels` the channels the customer wrote on (in order),
`tags` mirrors `conversation_tag`, `bot_state.handed_off` is set once an agent replied, status/resolved_at
follow the last message (a thread whose last word is the customer's is open). Message ids grow with
time across conversations, as on a live system.

Search terms: `COMMON_WORDS` each appear in about `COMMON_SHARE` of messages (the reference measurement's
"common word" matched 2.6 %), "order" in far more; order numbers (`#100001`...) are rare terms mentioned by
a handful of messages each.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from conversation.ingest import preview

COMMON_WORDS = ("refund", "invoice", "damaged")
COMMON_SHARE = 0.03
VERY_COMMON_WORD = "order"
ORDER_BASE = 100001  # stored without "#" (as the Shopify connector stores them), quoted with one
TAGS = ("vip", "wholesale", "returns", "shipping", "billing", "damaged-item", "warranty", "complaint", "b2b",
        "press", "influencer", "fraud-check")  # fmt: skip
#: (kind, share of conversations). The bench agent works the first four.
INBOXES = (("email", 0.35), ("webchat", 0.25), ("whatsapp", 0.15), ("sms", 0.10), ("messenger", 0.08), ("api", 0.07))
AGENTS = 20
FIRST = ("Ada", "Ben", "Chloé", "Dmitri", "Eva", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kira", "Liam", "Mona",
         "Nils", "Olga", "Pedro", "Quinn", "Rosa", "Sven", "Tara", "Ugo", "Vera", "Wim", "Xenia", "Yusuf", "Zoë")  # fmt: skip
LAST = ("Andersen", "Brown", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Horvat", "Ivanova", "Jansen",
        "Kowalski", "Larsen", "Moreau", "Novak", "Olsen", "Petrov", "Rossi", "Schmidt", "Tanaka", "Visser")  # fmt: skip
INBOUND = (
    "hi, where is my {o} {num}? it was supposed to arrive {day}",
    "hello, I still have not received {o} {num}",
    "can you tell me the status of my {o} please",
    "the tracking link does not work for {o} {num}",
    "I would like to change the delivery address",
    "do you ship to {country}?",
    "is the {item} available in another size?",
    "thanks a lot, that helps",
    "my package arrived but the {item} is missing",
    "how long does shipping take to {country}?",
    "I want to return the {item} I bought last week",
    "can I still cancel {o} {num}?",
)
OUTBOUND = (
    "thanks for reaching out! your {o} {num} left our warehouse {day}",
    "sorry for the wait, I checked with the carrier and it is on its way",
    "we ship to {country} in 3 to 5 working days",
    "I have updated the address for you",
    "the {item} is back in stock next week",
    "here is your tracking link, let me know if anything else comes up",
    "I have started the return, you will get a label by email",
    "glad I could help, have a great day",
)
NOTES = ("checked with the warehouse, parcel scanned {day}", "customer called twice, be gentle",
         "escalated to the carrier", "possible duplicate of another ticket")  # fmt: skip
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "yesterday", "last week")
COUNTRIES = ("germany", "france", "spain", "norway", "denmark", "portugal", "italy", "austria")
ITEMS = ("jacket", "sneakers", "backpack", "scarf", "lamp", "mug", "hoodie", "watch", "blender", "tent")


def _syllable_words(rng: random.Random, n: int) -> list[str]:
    """Pseudo-words for filler text: a long-tailed vocabulary like real chat (no collision with terms)."""
    onsets, vowels, codas = "bcdfghjklmnprstvwz", "aeiou", ["", "n", "r", "s", "l", "m", "t"]
    words: set[str] = set()
    reserved = {*COMMON_WORDS, VERY_COMMON_WORD}
    while len(words) < n:
        word = "".join(rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas) for _ in range(rng.randint(2, 3)))
        if word not in reserved:
            words.add(word)
    return sorted(words)


@dataclass(frozen=True)
class Sizes:
    """How much to seed."""

    conversations: int
    messages: int
    customers: int
    orders: int

    @classmethod
    def scaled(cls, conversations: int) -> Sizes:
        """The issue's proportions (100k conversations : 1M messages : 50k customers : 100k orders)."""
        return cls(conversations, conversations * 10, max(1, conversations // 2), conversations)


@dataclass
class Tables:
    """Rows per table as tuples in `COLUMNS[table]` order (JSON columns as Python objects)."""

    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    messages: Iterator[tuple[Any, ...]] | None = None  # streamed: too many to hold twice
    conversations: Callable[[], list[tuple[Any, ...]]] | None = None  # ready once messages are consumed
    stats: dict[str, Any] = field(default_factory=dict)


COLUMNS: dict[str, tuple[str, ...]] = {
    "inbox": ("id", "kind", "name", "settings", "secrets", "is_active", "created_at"),
    "agent": ("id", "email", "name", "role", "password_hash", "is_active", "avatar_url", "created_at", "last_seen_at"),
    "api_token": ("id", "agent_id", "name", "token_hash", "created_at", "last_used_at"),
    "inbox_member": ("inbox_id", "agent_id"),
    "customer": ("id", "name", "email", "phone", "avatar_url", "attributes", "merged_into_id", "created_at",
                 "updated_at"),
    "identity": ("id", "customer_id", "channel_kind", "address", "email", "phone", "display_name", "verified", "extra",
                 "created_at", "last_seen_at"),
    "orders": ("id", "number", "store", "source", "external_id", "customer_id", "email", "phone", "status", "currency",
               "total", "subtotal", "items", "shipping_address", "billing_address", "fulfillments",
               "fulfillment_status", "carrier", "tracking_number", "tracking_url", "eta", "placed_at",
               "source_updated_at", "created_at", "updated_at"),
    "conversation": ("id", "inbox_id", "customer_id", "status", "assignee_id", "team_id", "priority", "subject",
                     "snoozed_until", "ref_token", "channels", "tags", "unread_count", "message_count",
                     "waiting_since", "last_inbound_at", "last_message_id", "last_message_text",
                     "last_message_direction", "last_message_channel", "last_message_author_type", "bot_state",
                     "created_at", "updated_at", "last_activity_at", "resolved_at"),
    "conversation_tag": ("conversation_id", "tag"),
    "message": ("id", "conversation_id", "inbox_id", "channel", "direction", "author_type", "author_id",
                "identity_id", "text", "html", "full_text", "subject", "external_id", "external_thread_ref",
                "in_reply_to", "status", "attempts", "next_attempt_at", "error", "raw", "meta", "created_at",
                "sent_at", "delivered_at", "read_at", "edited_at"),
    "attachment": ("id", "message_id", "filename", "content_type", "size", "storage_key", "source_url", "source_ref",
                   "content_id", "inline", "status", "error", "created_at"),
}  # fmt: skip
JSON_COLUMNS = {"settings", "attributes", "extra", "items", "shipping_address", "billing_address", "fulfillments",
                "channels", "tags", "bot_state", "raw", "meta", "source_ref"}  # fmt: skip
#: The order in which tables are written (parents first, for backends that check foreign keys).
TABLE_ORDER = ("inbox", "agent", "api_token", "inbox_member", "customer", "identity", "orders", "conversation",
               "conversation_tag", "message", "attachment")  # fmt: skip


@dataclass
class _Conv:
    """Per-conversation state while its messages stream by (becomes the denormalised columns)."""

    inbox: int
    kind: str
    customer: int
    agent: int
    created: datetime
    n: int
    second: tuple[int, str] | None = None  # (inbox id, kind) of a second channel the customer switched to
    seen: int = 0
    channels: list[str] = field(default_factory=list)
    unread: int = 0
    waiting: datetime | None = None
    last_inbound: datetime | None = None
    last: tuple[int, str, str, str, str, datetime] | None = None  # id, text, direction, channel, author, when
    agent_replied: bool = False
    direction: str = ""


class Generator:
    """Builds the rows (see module docstring); `tables()` returns them, messages as a stream."""

    def __init__(self, sizes: Sizes, seed: int = 1, now: datetime | None = None) -> None:
        self.sizes = sizes
        self.rng = random.Random(seed)
        self.now = (now or datetime.now(UTC)).replace(microsecond=0)
        self.start = self.now - timedelta(days=365)
        self.vocab = _syllable_words(self.rng, 20000)
        self.cum = list(_zipf_cumulative(len(self.vocab)))
        self.identities: dict[tuple[int, str], int] = {}
        self.identity_rows: list[tuple[Any, ...]] = []
        self.customer_orders: dict[int, list[int]] = {}
        self.customer_kind: list[str] = []
        self.word_counts = dict.fromkeys((*COMMON_WORDS, VERY_COMMON_WORD), 0)
        self.inbox_ids = {kind: i + 1 for i, (kind, _) in enumerate(INBOXES)}
        self.members: dict[int, list[int]] = {}

    # --- small pieces -------------------------------------------------------------------------

    def _when(self, lo: datetime, hi: datetime) -> datetime:
        return lo + timedelta(seconds=self.rng.random() * max(1.0, (hi - lo).total_seconds()))

    def _customer_index(self) -> int:
        # Skewed: a few customers write a lot, many once.
        return 1 + int(self.sizes.customers * self.rng.random() ** 1.6) % self.sizes.customers

    def _address(self, customer: int, kind: str) -> str:
        if kind == "email":
            return f"customer{customer}@example.com"
        if kind in ("sms", "whatsapp"):
            return f"+1555{customer:07d}"
        if kind == "messenger":
            return f"{9_000_000_000 + customer}"
        return f"{kind}-visitor-{customer}"

    def _identity(self, customer: int, kind: str) -> int:
        key = (customer, kind)
        found = self.identities.get(key)
        if found is not None:
            return found
        ident = len(self.identity_rows) + 1
        address = self._address(customer, kind)
        email = address if kind == "email" else None
        phone = address if kind in ("sms", "whatsapp") else None
        first, last = FIRST[customer % len(FIRST)], LAST[customer % len(LAST)]
        self.identity_rows.append(
            (ident, customer, kind, address, email, phone, f"{first} {last}", True, {}, self.start, None)
        )
        self.identities[key] = ident
        return ident

    def _text(self, templates: tuple[str, ...], customer: int) -> str:
        rng = self.rng
        orders = self.customer_orders.get(customer)
        number = rng.choice(orders) if orders and rng.random() < 0.7 else ORDER_BASE + rng.randrange(self.sizes.orders)
        text = rng.choice(templates).format(
            o=VERY_COMMON_WORD, num=f"#{number}", day=rng.choice(DAYS), country=rng.choice(COUNTRIES),
            item=rng.choice(ITEMS),
        )  # fmt: skip
        words = rng.choices(self.vocab, cum_weights=self.cum, k=rng.randint(3, 12))
        for word in COMMON_WORDS:
            if rng.random() < COMMON_SHARE:
                words.insert(rng.randrange(len(words) + 1), word)
        text = f"{text} {' '.join(words)}"
        for word in self.word_counts:
            if word in text:
                self.word_counts[word] += 1
        return text

    # --- tables ---------------------------------------------------------------------------------

    def tables(self, token_hashes: dict[int, str]) -> Tables:
        """Every table's rows; `token_hashes` maps agent ids to the API token hash to store for them."""
        started = time.perf_counter()
        out = Tables()
        out.rows["inbox"] = [
            (i, kind, f"{kind.title()} support", {}, "", True, self.start) for kind, i in self.inbox_ids.items()
        ]
        out.rows["agent"] = self._agents()
        out.rows["api_token"] = [
            (n, agent_id, "bench", token_hash, self.start, None) for n, (agent_id, token_hash) in
            enumerate(sorted(token_hashes.items()), start=1)
        ]  # fmt: skip
        out.rows["inbox_member"] = [(inbox, agent) for inbox, agents in self.members.items() for agent in agents]
        out.rows["customer"] = self._customers()
        out.rows["orders"] = self._orders()
        conversations, tags = self._conversations()
        out.rows["conversation_tag"] = tags
        out.rows["attachment"] = []
        out.messages = self._messages(conversations, out.rows["attachment"])
        out.conversations = lambda: self._conversation_rows(conversations, tags)
        out.rows["identity"] = self.identity_rows  # filled while conversations and messages are generated
        out.stats["prepare_s"] = round(time.perf_counter() - started, 2)
        return out

    def _agents(self) -> list[tuple[Any, ...]]:
        rows = [(1, "admin@bench.example", "Admin", "admin", "!", True, None, self.start, None)]
        inboxes = list(self.inbox_ids.values())
        for n in range(2, AGENTS + 2):
            first = FIRST[n % len(FIRST)]
            rows.append((n, f"agent{n}@bench.example", f"{first} (agent {n})", "agent", "!", True, None, self.start,
                         None))  # fmt: skip
            # Agent 2 is "me": the first four inboxes. The others work two to four inboxes each.
            works = inboxes[:4] if n == 2 else self.rng.sample(inboxes, self.rng.randint(2, 4))
            for inbox in works:
                self.members.setdefault(inbox, []).append(n)
        for inbox in inboxes:  # every inbox has someone
            if not self.members.get(inbox):
                self.members[inbox] = [3]
        return rows

    def _customers(self) -> list[tuple[Any, ...]]:
        rows = []
        kinds = [k for k, _ in INBOXES]
        weights = [w for _, w in INBOXES]
        self.customer_kind = ["", *self.rng.choices(kinds, weights=weights, k=self.sizes.customers)]
        for c in range(1, self.sizes.customers + 1):
            name = f"{FIRST[c % len(FIRST)]} {LAST[(c // len(FIRST)) % len(LAST)]}"
            email = f"customer{c}@example.com" if self.customer_kind[c] == "email" or c % 3 == 0 else None
            phone = f"+1555{c:07d}" if self.customer_kind[c] in ("sms", "whatsapp") else None
            created = self._when(self.start, self.now)
            rows.append((c, name, email, phone, None, {}, None, created, created))
        return rows

    def _orders(self) -> list[tuple[Any, ...]]:
        rows = []
        rng = self.rng
        for i in range(self.sizes.orders):
            oid = i + 1
            number = ORDER_BASE + i
            customer = self._customer_index() if rng.random() < 0.95 else None
            if customer is not None:
                self.customer_orders.setdefault(customer, []).append(number)
            placed = self._when(self.start, self.now)
            status = rng.choices(("paid", "fulfilled", "cancelled", "refunded"), (0.2, 0.7, 0.05, 0.05))[0]
            shipped = status == "fulfilled"
            item = rng.choice(ITEMS)
            price = f"{rng.randint(9, 300)}.{rng.randint(0, 99):02d}"
            fulfillments = (
                [{"id": f"f{oid}", "status": "in_transit", "carrier": "DHL", "tracking_number": f"JD{oid:012d}"}]
                if shipped else []
            )  # fmt: skip
            rows.append((
                oid, str(number), "bench-shop", "shopify", f"gid://shopify/Order/{oid}", customer,
                f"customer{customer}@example.com" if customer else None, None, status, "EUR", price, price,
                [{"title": item, "quantity": 1, "price": price}], {"city": rng.choice(COUNTRIES).title()}, {},
                fulfillments, "in_transit" if shipped else None, "DHL" if shipped else None,
                f"JD{oid:012d}" if shipped else None,
                f"https://track.example/JD{oid:012d}" if shipped else None,
                placed + timedelta(days=4) if shipped else None, placed, placed, placed, placed,
            ))  # fmt: skip
        return rows

    def _conversations(self) -> tuple[list[_Conv], list[tuple[int, str]]]:
        rng, sizes = self.rng, self.sizes
        kinds = [k for k, _ in INBOXES]
        weights = [w for _, w in INBOXES]
        counts = [1] * sizes.conversations
        spread = [rng.expovariate(1.0) for _ in range(sizes.conversations)]
        for index in rng.choices(range(sizes.conversations), weights=spread, k=max(0, sizes.messages - len(counts))):
            counts[index] += 1
        created = sorted(self._when(self.start, self.now - timedelta(hours=1)) for _ in range(sizes.conversations))
        conversations, tags = [], []
        for i in range(sizes.conversations):
            customer = self._customer_index()
            kind = self.customer_kind[customer] if rng.random() < 0.85 else rng.choices(kinds, weights)[0]
            inbox = self.inbox_ids[kind]
            conv = _Conv(inbox, kind, customer, rng.choice(self.members[inbox]), created[i], counts[i])
            if counts[i] > 3 and rng.random() < 0.05:
                other = rng.choice([k for k in kinds if k != kind])
                conv.second = (self.inbox_ids[other], other)
            conversations.append(conv)
            if rng.random() < 0.3:
                for tag in rng.sample(TAGS, rng.randint(1, 2)):
                    tags.append((i + 1, tag))
        return conversations, tags

    def _schedule(self, conversations: list[_Conv]) -> list[tuple[datetime, int]]:
        """(time, conversation index) of every message, in time order: ids follow time."""
        events = []
        for index, conv in enumerate(conversations):
            when = conv.created
            for _ in range(conv.n):
                events.append((when, index))
                when = min(self.now, when + timedelta(seconds=self.rng.expovariate(1 / 5400)))
        events.sort(key=lambda e: e[0])
        return events

    def _role(self, conv: _Conv) -> str:
        """The next message's direction, given the conversation so far."""
        rng = self.rng
        if conv.seen == 0:
            return "inbound"
        last = conv.seen == conv.n - 1
        if last and (self.now - conv.created).days > 3 and rng.random() < 0.93:
            return "outbound" if rng.random() < 0.8 else "system"  # old threads end with our answer
        r = rng.random()
        if conv.direction == "inbound":
            return "outbound" if r < 0.6 else "inbound" if r < 0.85 else "note" if r < 0.95 else "system"
        return "inbound" if r < 0.75 else "outbound" if r < 0.85 else "note" if r < 0.95 else "system"

    def _messages(self, conversations: list[_Conv], attachments: list[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        rng = self.rng
        for mid, (when, index) in enumerate(self._schedule(conversations), start=1):
            conv = conversations[index]
            role = self._role(conv)
            inbox, kind = conv.inbox, conv.kind
            if conv.second and role == "inbound" and conv.seen >= 2 and rng.random() < 0.5:
                inbox, kind = conv.second
            identity = self._identity(conv.customer, kind)
            author_type, author_id, status, meta = "customer", conv.customer, "received", {}
            external_id, sent_at, delivered_at, read_at, subject = None, None, None, None, None
            if role == "inbound":
                text = self._text(INBOUND, conv.customer)
                external_id = f"{kind}-{mid}"
                if kind == "email" and conv.seen == 0:
                    subject = f"Question about my {VERY_COMMON_WORD}"
                if kind not in conv.channels:
                    conv.channels.append(kind)
                conv.unread += 1
                conv.waiting = conv.waiting or when
                conv.last_inbound = when
            elif role == "outbound":
                kind = conv.channels[-1] if conv.channels else conv.kind
                inbox = self.inbox_ids[kind]
                text = self._text(OUTBOUND, conv.customer)
                bot = rng.random() < 0.1 and not conv.agent_replied
                author_type, author_id = ("bot", None) if bot else ("agent", conv.agent)
                meta = {"bot_name": "Order bot"} if bot else {}
                conv.agent_replied = conv.agent_replied or not bot
                status = rng.choices(("sent", "delivered", "read", "failed"), (0.2, 0.4, 0.38, 0.02))[0]
                external_id = None if status == "failed" else f"out-{mid}"
                sent_at = None if status == "failed" else when
                delivered_at = when if status in ("delivered", "read") else None
                read_at = when if status == "read" else None
                conv.unread, conv.waiting = 0, None
            elif role == "note":
                kind, inbox, identity = conv.kind, conv.inbox, None
                text = rng.choice(NOTES).format(day=rng.choice(DAYS))
                author_type, author_id, status = "agent", conv.agent, "sent"
            else:
                kind, inbox, identity = conv.kind, conv.inbox, None
                text = f"Agent {conv.agent} assigned the conversation to themselves"
                author_type, author_id, status = "system", None, "sent"
            conv.seen += 1
            conv.direction = role if role in ("inbound", "outbound") else conv.direction
            conv.last = (mid, text, role, kind, author_type, when)
            if rng.random() < 0.02:
                attachments.append((len(attachments) + 1, mid, "photo.jpg", "image/jpeg", 48213,
                                    f"sha256/{mid:064x}", None, {}, None, False, "stored", None, when))  # fmt: skip
            yield (mid, index + 1, inbox, kind, role, author_type, author_id, identity, text, None, None, subject,
                   external_id, None, None, status, 1 if role == "outbound" else 0, None,
                   "provider said no" if status == "failed" else None, {}, meta, when, sent_at, delivered_at,
                   read_at, None)  # fmt: skip

    def _conversation_rows(self, conversations: list[_Conv], tags: list[tuple[int, str]]) -> list[tuple[Any, ...]]:
        rng = self.rng
        tags_of: dict[int, list[str]] = {}
        for cid, tag in tags:
            tags_of.setdefault(cid, []).append(tag)
        rows = []
        for index, conv in enumerate(conversations):
            cid = index + 1
            assert conv.last is not None
            mid, text, direction, channel, author_type, last_at = conv.last
            status, resolved_at, snoozed = self._status(conv, last_at)
            assignee = conv.agent if conv.agent_replied or (status == "open" and rng.random() < 0.3) else None
            if status == "resolved":
                conv.unread = 0
            rows.append((
                cid, conv.inbox, conv.customer, status, assignee, None,
                "high" if rng.random() < 0.05 else "none", None, snoozed, f"bench{cid:010d}",
                conv.channels or [conv.kind], tags_of.get(cid, []), conv.unread, conv.n, conv.waiting,
                conv.last_inbound, mid, preview(text), direction, channel, author_type,
                {"handed_off": True} if conv.agent_replied else {}, conv.created, last_at, last_at, resolved_at,
            ))  # fmt: skip
        return rows

    def _status(self, conv: _Conv, last_at: datetime) -> tuple[str, datetime | None, datetime | None]:
        if conv.waiting is not None:
            return "open", None, None  # the customer has the last word: ingest reopens/keeps it open
        age = (self.now - last_at).days
        r = self.rng.random()
        if age > 3:
            return ("resolved", last_at, None) if r < 0.97 else ("open", None, None)
        if r < 0.4:
            return "pending", None, None
        if r < 0.5:
            return "snoozed", None, self.now + timedelta(days=2)
        return ("resolved", last_at, None) if r < 0.85 else ("open", None, None)


def _zipf_cumulative(n: int) -> Iterator[float]:
    total = 0.0
    for rank in range(1, n + 1):
        total += 1.0 / rank
        yield total


def json_text(value: Any) -> str:
    """JSON text for asyncpg's jsonb codec (the frequent empty values without calling json.dumps)."""
    if value == {}:
        return "{}"
    if value == []:
        return "[]"
    return json.dumps(value)
