"""Identity resolution: which customer wrote this, creating or linking profiles (DESIGN.md, decision 2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from conversation.addresses import PHONE_CHANNELS, normalize_address, normalize_email, normalize_phone
from conversation.models import Customer, Identity, MergeSuggestion, utcnow
from conversation.sql import insert_or_ignore
from conversation.types import ChannelKind, ExternalIdentity

_identity = Identity.__table__  # type: ignore[attr-defined]
_customer = Customer.__table__  # type: ignore[attr-defined]
_suggestion = MergeSuggestion.__table__  # type: ignore[attr-defined]


class InvalidAddress(ValueError):
    """A sender address that cannot be normalised for its channel (e.g. an SMS from "abc")."""


@dataclass(frozen=True, slots=True)
class ResolvedSender:
    """The identity and customer behind an inbound sender."""

    identity_id: int
    customer_id: int
    customer_name: str | None
    created_customer: bool = False
    created_identity: bool = False


@dataclass(frozen=True, slots=True)
class ContactKeys:
    """The normalised email/phone an identity vouches for."""

    address: str
    email: str | None
    phone: str | None


def contact_keys(channel_kind: str, sender: ExternalIdentity) -> ContactKeys:
    """Normalise the sender's address and the email/phone it carries."""
    try:
        address = normalize_address(channel_kind, sender.address)
    except ValueError as exc:
        raise InvalidAddress(str(exc)) from exc
    email = address if channel_kind == ChannelKind.EMAIL else normalize_email(sender.email)
    phone = address if channel_kind in PHONE_CHANNELS else normalize_phone(sender.phone)
    return ContactKeys(address=address, email=email, phone=phone)


async def find_identity(session: AsyncSession, channel_kind: str, address: str) -> ResolvedSender | None:
    """The known identity for a normalised (channel, address), with its customer's name."""
    row = (
        await session.exec(
            sa.select(_identity.c.id, _identity.c.customer_id, _customer.c.name)
            .join(_customer, _customer.c.id == _identity.c.customer_id)
            .where(_identity.c.channel_kind == channel_kind, _identity.c.address == address)
        )
    ).first()
    if row is None:
        return None
    return ResolvedSender(identity_id=row[0], customer_id=row[1], customer_name=row[2])


async def find_customer_by_contact(
    session: AsyncSession, email: str | None, phone: str | None, *, verified_only: bool = True
) -> int | None:
    """The customer who owns a verified identity with this email or phone (oldest first)."""
    conditions = []
    if email:
        conditions.append(_identity.c.email == email)
    if phone:
        conditions.append(_identity.c.phone == phone)
    if not conditions:
        return None
    query = sa.select(_identity.c.customer_id).where(sa.or_(*conditions))
    if verified_only:
        query = query.where(_identity.c.verified.is_(True))
    return (await session.exec(query.order_by(_identity.c.id).limit(1))).scalar()


async def _create_customer(session: AsyncSession, sender: ExternalIdentity, keys: ContactKeys, now: datetime) -> int:
    result = await session.exec(
        sa.insert(_customer)
        .values(
            name=sender.name,
            email=keys.email,
            phone=keys.phone,
            avatar_url=sender.avatar_url,
            attributes={},
            created_at=now,
            updated_at=now,
        )
        .returning(_customer.c.id)
    )
    return int(result.scalar_one())


async def _fill_profile_gaps(
    session: AsyncSession, customer_id: int, sender: ExternalIdentity, keys: ContactKeys, now: datetime
) -> None:
    """A linked identity may teach us the customer's name, email or phone; never overwrite."""
    c = _customer.c
    await session.exec(
        sa.update(_customer)
        .where(c.id == customer_id)
        .values(
            name=sa.func.coalesce(c.name, sender.name),
            email=sa.func.coalesce(c.email, keys.email if sender.verified else None),
            phone=sa.func.coalesce(c.phone, keys.phone if sender.verified else None),
            updated_at=now,
        )
    )


async def _suggest_merge(session: AsyncSession, customer_id: int, other_id: int, reason: str, now: datetime) -> None:
    if customer_id == other_id:
        return
    await session.exec(
        insert_or_ignore(session, _suggestion, ["customer_id", "other_customer_id"]).values(
            customer_id=customer_id, other_customer_id=other_id, reason=reason, status="open", created_at=now
        )
    )


#: The reason a same-name suggestion gives (shown to the agent).
SAME_NAME = "same full name"
#: How many same-name customers one new customer is suggested with (the newest): a common name must not
#: flood the sidebar, and past a few the evidence is worth nothing anyway.
SAME_NAME_LIMIT = 3


def full_name(name: str | None) -> str | None:
    """`name` with its whitespace collapsed when it can suggest a merge: at least two words and letters in
    each (a first name alone, a handle or "Visitor 12" says too little), else None."""
    words = (name or "").split()
    if len(words) < 2 or len(" ".join(words)) < 5 or not all(any(ch.isalpha() for ch in w) for w in words):
        return None
    return " ".join(words)


async def _suggest_same_name(session: AsyncSession, customer_id: int, name: str | None, now: datetime) -> None:
    """A new customer named like existing ones: suggest a merge with the newest few (never merge)."""
    key = full_name(name)
    if key is None:
        return
    c = _customer.c
    others = (
        await session.exec(
            sa.select(c.id)  # type: ignore[call-overload]
            .where(sa.func.lower(c.name) == sa.func.lower(key), c.id != customer_id, c.merged_into_id.is_(None))
            .order_by(c.id.desc())
            .limit(SAME_NAME_LIMIT)
        )
    ).scalars()
    for other in list(others):
        await _suggest_merge(session, customer_id, other, SAME_NAME, now)


async def _suggest_bridged(session: AsyncSession, linked_to: int, keys: ContactKeys, now: datetime) -> None:
    """An identity whose email and phone belong to two different customers links to one of them; the
    other becomes a merge suggestion (two existing profiles are never merged automatically)."""
    if not (keys.email and keys.phone):
        return
    for email, phone in ((keys.email, None), (None, keys.phone)):
        other = await find_customer_by_contact(session, email, phone)
        if other is not None and other != linked_to:
            await _suggest_merge(session, linked_to, other, "one verified contact names both customers", now)


async def resolve_sender(
    session: AsyncSession, channel_kind: str, sender: ExternalIdentity, now: datetime | None = None
) -> ResolvedSender:
    """Find or create the identity and customer behind `sender`.

    A new identity whose verified email or phone is already known joins that customer; an unverified
    claim creates a separate customer and a merge suggestion instead (no merges on a guess). Concurrent
    first messages from the same address are safe: the unique (channel, address) constraint decides.
    """
    now = now or utcnow()
    keys = contact_keys(channel_kind, sender)
    known = await find_identity(session, channel_kind, keys.address)
    if known is not None:
        return known

    linked_to = await find_customer_by_contact(session, keys.email, keys.phone) if sender.verified else None
    customer_id = linked_to if linked_to is not None else await _create_customer(session, sender, keys, now)
    if linked_to is not None:
        await _fill_profile_gaps(session, linked_to, sender, keys, now)
        await _suggest_bridged(session, linked_to, keys, now)

    inserted = await session.exec(
        insert_or_ignore(session, _identity, ["channel_kind", "address"])
        .values(
            customer_id=customer_id,
            channel_kind=channel_kind,
            address=keys.address,
            email=keys.email,
            phone=keys.phone,
            display_name=sender.name,
            verified=sender.verified,
            extra=sender.extra or {},
            created_at=now,
            last_seen_at=now,
        )
        .returning(_identity.c.id)
    )
    identity_id = inserted.scalar_one_or_none()
    if identity_id is None:
        # Another delivery created this identity a moment ago: use theirs, drop our fresh customer.
        if linked_to is None:
            await session.exec(sa.delete(_customer).where(_customer.c.id == customer_id))
        existing = await find_identity(session, channel_kind, keys.address)
        if existing is None:  # pragma: no cover - the row that conflicted cannot vanish within a transaction
            raise RuntimeError("identity conflict without an identity")
        return existing

    if not sender.verified and (keys.email or keys.phone):
        claimed = await find_customer_by_contact(session, keys.email, keys.phone)
        if claimed is not None:
            await _suggest_merge(session, customer_id, claimed, "same email or phone (unverified)", now)
    if linked_to is None:
        await _suggest_same_name(session, customer_id, sender.name, now)
    name = sender.name
    if linked_to is not None:
        name = (await session.exec(sa.select(_customer.c.name).where(_customer.c.id == customer_id))).scalar()
    return ResolvedSender(
        identity_id=int(identity_id),
        customer_id=customer_id,
        customer_name=name,
        created_customer=linked_to is None,
        created_identity=True,
    )
