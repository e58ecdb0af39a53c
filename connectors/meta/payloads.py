"""Typed shapes of the Meta webhook bodies and Graph API answers we read (WhatsApp Cloud API and Messenger).

Only the fields the connectors use are declared; msgspec ignores the rest, so new fields Meta adds never break
parsing. Each shape is converted from already-decoded JSON with `msgspec.convert` one item at a time, so a bad
item is reported with a precise path.

References:
- WhatsApp: https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components
- Messenger: https://developers.facebook.com/docs/messenger-platform/reference/webhook-events
"""

from __future__ import annotations

import msgspec

# --------------------------------------------------------------------------------------------------
# WhatsApp Cloud API: {"object": "whatsapp_business_account", "entry": [{"changes": [{"field", "value"}]}]}
# --------------------------------------------------------------------------------------------------


class WhatsAppProfile(msgspec.Struct):
    """`contacts[].profile`: the name the customer set in WhatsApp (and, from 2026, a username)."""

    name: str | None = None
    username: str | None = None


class WhatsAppContact(msgspec.Struct):
    """`value.contacts[]`: who sent the messages of this change."""

    wa_id: str | None = None
    user_id: str | None = None  # business-scoped user id (BSUID), since April 2026
    profile: WhatsAppProfile | None = None


class WhatsAppMetadata(msgspec.Struct):
    """`value.metadata`: which of the business's numbers received the change."""

    phone_number_id: str
    display_phone_number: str | None = None


class WhatsAppErrorData(msgspec.Struct):
    """`errors[].error_data`."""

    details: str | None = None


class WhatsAppError(msgspec.Struct):
    """An error object, on a message (`unsupported`), on a status (`failed`) or on the whole value."""

    code: int | None = None
    title: str | None = None
    message: str | None = None
    error_data: WhatsAppErrorData | None = None


class WhatsAppContext(msgspec.Struct):
    """`messages[].context`: the message this one replies to, or forwarding flags."""

    id: str | None = None
    from_: str | None = msgspec.field(default=None, name="from")
    forwarded: bool = False
    frequently_forwarded: bool = False


class WhatsAppText(msgspec.Struct):
    """`type: text`."""

    body: str


class WhatsAppMedia(msgspec.Struct):
    """`type: image | video | audio | document | sticker`: a media id to download through the Graph API."""

    id: str | None = None
    mime_type: str | None = None
    sha256: str | None = None
    caption: str | None = None
    filename: str | None = None
    url: str | None = None
    voice: bool = False
    animated: bool = False


class WhatsAppLocation(msgspec.Struct):
    """`type: location`."""

    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None
    url: str | None = None


class WhatsAppCardName(msgspec.Struct):
    """`contacts[].name` of a shared contact card."""

    formatted_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None


class WhatsAppCardPhone(msgspec.Struct):
    """A phone on a shared contact card."""

    phone: str | None = None
    wa_id: str | None = None
    type: str | None = None


class WhatsAppCardEmail(msgspec.Struct):
    """An email on a shared contact card."""

    email: str | None = None
    type: str | None = None


class WhatsAppCard(msgspec.Struct):
    """`type: contacts`: one shared contact card."""

    name: WhatsAppCardName | None = None
    phones: list[WhatsAppCardPhone] = []
    emails: list[WhatsAppCardEmail] = []


class WhatsAppReply(msgspec.Struct):
    """`interactive.button_reply` / `interactive.list_reply`."""

    id: str | None = None
    title: str | None = None
    description: str | None = None


class WhatsAppFlowReply(msgspec.Struct):
    """`interactive.nfm_reply`: a WhatsApp Flow was submitted."""

    name: str | None = None
    body: str | None = None
    response_json: str | None = None


class WhatsAppInteractive(msgspec.Struct):
    """`type: interactive`: the customer tapped a reply button, a list row or submitted a flow."""

    type: str
    button_reply: WhatsAppReply | None = None
    list_reply: WhatsAppReply | None = None
    nfm_reply: WhatsAppFlowReply | None = None


class WhatsAppButton(msgspec.Struct):
    """`type: button`: a quick-reply button of a template message."""

    text: str | None = None
    payload: str | None = None


class WhatsAppProductItem(msgspec.Struct):
    """One line of an `order` message."""

    product_retailer_id: str | None = None
    quantity: int | float | str | None = None
    item_price: int | float | str | None = None
    currency: str | None = None


class WhatsAppOrder(msgspec.Struct):
    """`type: order`: a cart sent from the business's catalog."""

    catalog_id: str | None = None
    text: str | None = None
    product_items: list[WhatsAppProductItem] = []


class WhatsAppReferral(msgspec.Struct):
    """`messages[].referral`: the customer came from a click-to-WhatsApp ad or post."""

    source_url: str | None = None
    source_type: str | None = None
    source_id: str | None = None
    headline: str | None = None
    body: str | None = None
    ctwa_clid: str | None = None


class WhatsAppUnsupported(msgspec.Struct):
    """`unsupported`: what kind of content the Cloud API could not deliver (e.g. a poll)."""

    type: str | None = None


class WhatsAppContent(msgspec.Struct):
    """The content part of a message: also the shape of `edit.message`, which has no id or sender."""

    type: str
    context: WhatsAppContext | None = None
    text: WhatsAppText | None = None
    image: WhatsAppMedia | None = None
    video: WhatsAppMedia | None = None
    audio: WhatsAppMedia | None = None
    document: WhatsAppMedia | None = None
    sticker: WhatsAppMedia | None = None
    location: WhatsAppLocation | None = None
    contacts: list[WhatsAppCard] = []
    interactive: WhatsAppInteractive | None = None
    button: WhatsAppButton | None = None
    order: WhatsAppOrder | None = None
    unsupported: WhatsAppUnsupported | None = None
    errors: list[WhatsAppError] = []


class WhatsAppEdit(msgspec.Struct):
    """`type: edit`: the customer edited `original_message_id`; `message` is the new content."""

    original_message_id: str
    message: WhatsAppContent


class WhatsAppMessage(WhatsAppContent, kw_only=True):
    """`value.messages[]`: one customer message."""

    id: str
    timestamp: str | int
    from_: str | None = msgspec.field(default=None, name="from")
    from_user_id: str | None = None
    referral: WhatsAppReferral | None = None
    edit: WhatsAppEdit | None = None


class WhatsAppStatus(msgspec.Struct):
    """`value.statuses[]`: what happened to one of our outbound messages."""

    id: str
    status: str
    timestamp: str | int = 0
    recipient_id: str | None = None
    recipient_type: str | None = None
    errors: list[WhatsAppError] = []


class WhatsAppValue(msgspec.Struct):
    """`changes[].value` of the `messages` field."""

    messaging_product: str | None = None
    metadata: WhatsAppMetadata | None = None
    contacts: list[WhatsAppContact] = []
    messages: list[WhatsAppMessage] = []
    statuses: list[WhatsAppStatus] = []
    errors: list[WhatsAppError] = []


# --------------------------------------------------------------------------------------------------
# Messenger Platform: {"object": "page", "entry": [{"id": PAGE_ID, "messaging": [event, ...]}]}
# --------------------------------------------------------------------------------------------------


class MessengerUser(msgspec.Struct):
    """`sender` / `recipient`: a PSID or the page id (`user_ref` for checkbox-plugin users)."""

    id: str | None = None
    user_ref: str | None = None


class MessengerCoordinates(msgspec.Struct):
    """`payload.coordinates` of a shared location."""

    lat: float
    long: float


class MessengerAttachmentPayload(msgspec.Struct):
    """`attachments[].payload`."""

    url: str | None = None
    title: str | None = None
    coordinates: MessengerCoordinates | None = None
    sticker_id: int | str | None = None


class MessengerAttachment(msgspec.Struct):
    """`message.attachments[]`: image, video, audio, file, sticker, location, fallback, reel, ..."""

    type: str
    payload: MessengerAttachmentPayload | None = None
    title: str | None = None
    url: str | None = None


class MessengerQuickReply(msgspec.Struct):
    """`message.quick_reply`: the developer payload of a tapped quick reply."""

    payload: str | None = None


class MessengerReplyTo(msgspec.Struct):
    """`message.reply_to`: the message the customer swiped to answer."""

    mid: str | None = None


class MessengerMessage(msgspec.Struct):
    """`message` of a `messages` event (also of `message_echoes`, with `is_echo`)."""

    mid: str
    text: str | None = None
    attachments: list[MessengerAttachment] = []
    quick_reply: MessengerQuickReply | None = None
    reply_to: MessengerReplyTo | None = None
    is_echo: bool = False


class MessengerEdit(msgspec.Struct):
    """`message_edit`: the new text of an earlier customer message."""

    mid: str
    text: str | None = None
    num_edit: int | str | None = None


class MessengerDelivery(msgspec.Struct):
    """`delivery`: `mids` delivered (may be absent) and a watermark (ms) before which all were delivered."""

    mids: list[str] = []
    watermark: int | None = None


class MessengerRead(msgspec.Struct):
    """`read`: everything the page sent up to `watermark` (ms) was read."""

    watermark: int


class MessengerPostback(msgspec.Struct):
    """`postback`: a postback button, Get Started or persistent-menu item was tapped."""

    mid: str | None = None
    title: str | None = None
    payload: str | None = None


class MessengerEvent(msgspec.Struct):
    """`entry[].messaging[]`: one event; exactly one of the optional parts is set."""

    sender: MessengerUser | None = None
    recipient: MessengerUser | None = None
    timestamp: int | str | None = None
    message: MessengerMessage | None = None
    message_edit: MessengerEdit | None = None
    delivery: MessengerDelivery | None = None
    read: MessengerRead | None = None
    postback: MessengerPostback | None = None


# --------------------------------------------------------------------------------------------------
# Graph API answers
# --------------------------------------------------------------------------------------------------


class GraphErrorBody(msgspec.Struct):
    """`{"error": {...}}`: https://developers.facebook.com/docs/graph-api/guides/error-handling"""

    message: str | None = None
    type: str | None = None
    code: int | None = None
    error_subcode: int | None = None
    error_user_msg: str | None = None
    error_data: WhatsAppErrorData | str | None = None
    is_transient: bool = False
    fbtrace_id: str | None = None


class GraphError(msgspec.Struct):
    """The envelope of a Graph API error answer."""

    error: GraphErrorBody


class WhatsAppSentMessage(msgspec.Struct):
    """`messages[]` of a WhatsApp send answer."""

    id: str


class WhatsAppSendAnswer(msgspec.Struct):
    """`POST /{phone_number_id}/messages` answer."""

    messages: list[WhatsAppSentMessage]


class WhatsAppMediaInfo(msgspec.Struct):
    """`GET /{media_id}` answer: a short-lived download URL (needs the bearer token)."""

    url: str
    mime_type: str | None = None
    file_size: int | str | None = None
    id: str | None = None


class WhatsAppUploadAnswer(msgspec.Struct):
    """`POST /{phone_number_id}/media` answer."""

    id: str


class MessengerSendAnswer(msgspec.Struct):
    """`POST /me/messages` answer."""

    message_id: str
    recipient_id: str | None = None


class MessengerProfile(msgspec.Struct):
    """`GET /{psid}?fields=first_name,last_name,profile_pic` answer."""

    id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    profile_pic: str | None = None
