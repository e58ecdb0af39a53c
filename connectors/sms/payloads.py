"""Typed shapes of Twilio's messaging webhooks (only the fields we read) and Twilio error meanings.

Twilio posts `application/x-www-form-urlencoded` bodies whose keys are PascalCase; media come as
numbered keys (`MediaUrl0`, `MediaContentType0`, ...) and are read from the form directly.
Twilio adds parameters without notice, so unknown keys are ignored here (but still signed).
"""

from __future__ import annotations

import msgspec


class TwilioInboundMessage(msgspec.Struct, rename="pascal", forbid_unknown_fields=False):
    """An incoming message webhook (SMS, MMS or WhatsApp through Twilio).

    https://www.twilio.com/docs/messaging/guides/webhook-request
    """

    message_sid: str = ""
    sms_message_sid: str = ""
    sms_sid: str = ""
    account_sid: str = ""
    messaging_service_sid: str = ""
    from_: str = ""
    to: str = ""
    body: str = ""
    num_media: str = ""
    num_segments: str = ""
    sms_status: str = ""
    # STOP/START/HELP keyword replies under Advanced Opt-Out (Twilio has already applied them).
    opt_out_type: str = ""
    # WhatsApp through Twilio only.
    profile_name: str = ""
    wa_id: str = ""
    original_replied_message_sid: str = ""
    # Shared locations (WhatsApp): the body is empty and these four are set.
    latitude: str = ""
    longitude: str = ""
    address: str = ""
    label: str = ""


class TwilioStatusCallback(msgspec.Struct, rename="pascal", forbid_unknown_fields=False):
    """A status callback for one of our outbound messages.

    https://www.twilio.com/docs/messaging/guides/outbound-message-status-in-status-callbacks
    """

    message_sid: str = ""
    sms_sid: str = ""
    message_status: str = ""
    sms_status: str = ""
    error_code: str = ""
    error_message: str = ""
    account_sid: str = ""
    messaging_service_sid: str = ""
    from_: str = ""
    to: str = ""
    channel_prefix: str = ""
    raw_dlr_done_date: str = ""


#: What the common delivery and send errors mean, for the agent (https://www.twilio.com/docs/api/errors).
ERROR_MEANINGS: dict[str, str] = {
    "20003": "Authentication failed: check the inbox's Account SID and Auth Token",
    "20429": "Too many requests: Twilio is rate limiting this account",
    "21211": "Invalid 'To' phone number",
    "21408": "Sending to this country is not enabled in the Twilio geo permissions",
    "21606": "The 'From' number cannot send messages to this destination",
    "21608": "Trial accounts can only send to verified numbers",
    "21610": "The recipient has opted out (replied STOP); they must text START to receive messages again",
    "21612": "The 'To' number cannot be reached from this 'From' number",
    "21614": "The 'To' number is not a mobile number",
    "21617": "The message body exceeds 1600 characters",
    "21635": "The 'To' number is a landline",
    "30001": "Queue overflow: too many messages queued for this sender",
    "30002": "The Twilio account is suspended",
    "30003": "Unreachable destination handset: the phone is off or out of coverage",
    "30004": "Message blocked: the recipient or their carrier blocks messages from this sender",
    "30005": "Unknown destination handset: the number does not exist or is no longer in service",
    "30006": "Landline or unreachable carrier: the number cannot receive text messages",
    "30007": "Message filtered by the carrier (spam or content rules)",
    "30008": "Unknown error from the carrier",
    "30019": "Content size exceeds the carrier's limit",
    "30032": "Toll-free number not verified",
    "30034": "Sender number not registered for US A2P 10DLC",
    "63003": "WhatsApp: the recipient is not a WhatsApp user or the address is invalid",
    "63016": "WhatsApp: the 24-hour customer service window is closed; only an approved template can be sent",
}
