"""Normalising channel addresses: emails lower-cased and validated, phones in E.164."""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from conversation.types import ChannelKind

#: Channels whose address is a phone number.
PHONE_CHANNELS = frozenset({ChannelKind.SMS, ChannelKind.WHATSAPP})


def normalize_email(value: str | None) -> str | None:
    """A syntactically valid email, lower-cased; None when `value` is not one.

    Deliverability is not checked (no DNS at ingest): a customer's address is what they wrote from.
    """
    if not value:
        return None
    candidate = value.strip().strip("<>").strip()
    try:
        result = validate_email(candidate, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError:
        return None
    return result.normalized.lower()


def normalize_phone(value: str | None, default_region: str | None = None) -> str | None:
    """The E.164 form of `value` ("+15555550100"); None when it is not a possible number.

    A number without a country code needs `default_region` (the shop's country), else it is refused:
    guessing a country would link strangers.
    """
    if not value:
        return None
    candidate = value.strip()
    for prefix in ("whatsapp:", "tel:", "sms:"):
        if candidate.lower().startswith(prefix):
            candidate = candidate[len(prefix) :]
    digits = "".join(ch for ch in candidate if ch.isdigit())
    if not digits:
        return None
    if not candidate.startswith("+") and not default_region:
        # WhatsApp and some APIs send international numbers without the plus sign.
        candidate = "+" + digits
    try:
        number = phonenumbers.parse(candidate, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_address(channel_kind: str, address: str) -> str:
    """The canonical form of a channel address, used in `Identity(channel_kind, address)`.

    Raises ValueError when an email or phone channel gets something that is not an email or phone.
    """
    address = address.strip()
    if channel_kind == ChannelKind.EMAIL:
        email = normalize_email(address)
        if email is None:
            raise ValueError(f"not an email address: {address!r}")
        return email
    if channel_kind in PHONE_CHANNELS:
        phone = normalize_phone(address)
        if phone is None:
            raise ValueError(f"not a phone number: {address!r}")
        return phone
    if not address:
        raise ValueError("empty address")
    return address
