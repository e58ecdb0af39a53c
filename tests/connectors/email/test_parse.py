"""The email parser: threading fields, charsets, bodies, files, caps, auto-replies, bounces and loops."""

# Samples are multilingual: Cyrillic and accented letters are intended.
# ruff: noqa: RUF001

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from connectors.base import MalformedPayload
from connectors.email.parser import Limits, Mailbox, ParsedEmail, parse_email
from connectors.email.signals import LOOP_HEADER, loop_token
from conversation.types import DeliveryStatus, DeliveryUpdate, InboundMessage
from tests.connectors.email.mail import CUSTOMER, SHOP, build, dsn, raw_mime

MAILBOX = Mailbox(inbox_id=7, address=SHOP)
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
TOKEN = "0123456789abcdef0123"


def inbound(raw: bytes, mailbox: Mailbox = MAILBOX, **kwargs: object) -> InboundMessage:
    parsed = parse_email(raw, mailbox, now=NOW, **kwargs)  # type: ignore[arg-type]
    assert parsed.event == "message", parsed.reason
    (item,) = parsed.items
    assert isinstance(item, InboundMessage)
    return item


# --- threading fields -----------------------------------------------------------------------------


def test_a_reply_is_trimmed_and_threaded() -> None:
    raw = build(
        subject="=?utf-8?q?Re=3A_Bestellung_f=C3=BCr_J=C3=B6rg?=",
        from_='"=?utf-8?q?J=C3=B6rg_M=C3=BCller?=" <Joerg@Customer.example.org>',
        text=(
            "Danke, das hilft!\n\nAm 01.03.2026 um 10:00 schrieb Shop <support@shop.example.com>:\n"
            "> Ihre Bestellung ist unterwegs.\n"
        ),
        message_id="<reply-2@customer.example.org>",
        in_reply_to="<omnihub.42.abc@shop.example.com>",
        references="<m1@customer.example.org> <omnihub.42.abc@shop.example.com>",
    )
    msg = inbound(raw)
    assert msg.text == "Danke, das hilft!"
    assert msg.full_text is not None and "Ihre Bestellung ist unterwegs." in msg.full_text
    assert msg.subject == "Re: Bestellung für Jörg"
    assert msg.sender.address == "Joerg@Customer.example.org" and msg.sender.name == "Jörg Müller"
    assert msg.sender.email == msg.sender.address
    assert msg.external_message_id == "reply-2@customer.example.org"
    assert msg.in_reply_to_external_id == "omnihub.42.abc@shop.example.com"
    assert msg.references == ("m1@customer.example.org", "omnihub.42.abc@shop.example.com")
    assert msg.external_thread_ref == "m1@customer.example.org"
    assert msg.inbox_id == 7 and msg.sent_at == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    assert msg.is_auto_reply is False and msg.thread_token is None


def test_in_reply_to_missing_from_references_is_appended_last() -> None:
    raw = build(in_reply_to="<b@x.example>", references="<a@x.example>")
    assert inbound(raw).references == ("a@x.example", "b@x.example")


def test_junk_in_threading_headers_is_ignored() -> None:
    raw = raw_mime(
        "From: ada@customer.example.org\nTo: support@shop.example.com\nSubject: x\n"
        "Message-ID: <ok@x.example>\nIn-Reply-To: \nReferences: <a@x.example> not-an-id <b@x.example>",
        "hi",
    )
    msg = inbound(raw)
    assert msg.in_reply_to_external_id is None
    assert msg.references == ("a@x.example", "b@x.example")


def test_a_message_without_message_id_gets_a_stable_synthetic_one() -> None:
    raw = build(message_id=None)
    first, second = inbound(raw), inbound(raw)
    assert first.external_message_id == second.external_message_id
    assert first.external_message_id.endswith("@message-id.invalid")
    assert first.meta["message_id_synthesized"] is True
    assert inbound(build(message_id=None, text="other")).external_message_id != first.external_message_id


def test_overlong_message_ids_fit_the_column() -> None:
    long_id = "<" + "x" * 400 + "@example.org>"
    msg = inbound(build(message_id=long_id, in_reply_to=long_id.replace("x", "y")))
    assert len(msg.external_message_id) <= 250 and len(msg.in_reply_to_external_id or "") <= 250


@pytest.mark.parametrize("header", ["To", "Cc", "Delivered-To", "X-Original-To"])
def test_the_plus_address_token_is_found_in_any_recipient_header(header: str) -> None:
    headers = {header: f"support+{TOKEN}@shop.example.com"} if header != "To" else {}
    to = f"Shop <support+{TOKEN}@shop.example.com>" if header == "To" else SHOP
    msg = inbound(build(to=to, headers=headers, in_reply_to="<x@y.example>"))
    assert msg.thread_token == TOKEN


def test_tokens_of_other_mailboxes_or_domains_are_not_ours() -> None:
    raw = build(to=f"sales+{TOKEN}@shop.example.com, support+{TOKEN}@other.example.net")
    assert inbound(raw).thread_token is None


def test_the_subject_token_is_a_last_resort() -> None:
    subject = f"Re: Your order [#{TOKEN}]"
    assert inbound(build(subject=subject)).thread_token == TOKEN
    assert inbound(build(subject=subject, in_reply_to="<x@y.example>")).thread_token is None


# --- headers and charsets -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "data", "expected"),
    [
        ("iso-8859-1", "Grüße aus Köln".encode("latin-1"), "Grüße aus Köln"),
        ("iso-8859-1", "“quoted” – dash".encode("cp1252"), "“quoted” – dash"),  # WHATWG: latin-1 means cp1252
        ("iso-8859-1", "Grüße in UTF-8".encode(), "Grüße in UTF-8"),  # mislabelled UTF-8
        ("us-ascii", "naïve café".encode(), "naïve café"),
        ("x-unknown-charset", "Привет".encode(), "Привет"),
        ("koi8-r", "Привет, где мой заказ?".encode("koi8-r"), "Привет, где мой заказ?"),
        ("shift_jis", "注文はどこですか".encode("shift_jis"), "注文はどこですか"),
        ("gb2312", "我的订单在哪里".encode("gb18030"), "我的订单在哪里"),
        ("windows-1251", "Здравствуйте".encode("cp1251"), "Здравствуйте"),
    ],
)
def test_every_charset_decodes(label: str, data: bytes, expected: str) -> None:
    headers = (
        "From: ada@customer.example.org\nTo: support@shop.example.com\nSubject: x\nMessage-ID: <c@x.example>\n"
        f'MIME-Version: 1.0\nContent-Type: text/plain; charset="{label}"\nContent-Transfer-Encoding: 8bit'
    )
    assert inbound(raw_mime(headers, "", data)).text == expected


def test_declared_utf8_with_a_bad_byte_keeps_the_rest() -> None:
    headers = (
        "From: ada@customer.example.org\nTo: support@shop.example.com\nSubject: x\n"
        'Content-Type: text/plain; charset="utf-8"\nContent-Transfer-Encoding: 8bit'
    )
    text = inbound(raw_mime(headers, "", "Ahoj Johne, děkuji ".encode() + b"\xff" + " změna".encode())).text
    assert text.startswith("Ahoj Johne, děkuji") and text.endswith("změna")


def test_quoted_printable_and_base64_bodies() -> None:
    qp = raw_mime(
        "From: ada@customer.example.org\nTo: support@shop.example.com\nSubject: x\n"
        'Content-Type: text/plain; charset="utf-8"\nContent-Transfer-Encoding: quoted-printable',
        "Gr=C3=BC=C3=9Fe, ein sehr langer Satz der um=\n gebrochen wurde",
    )
    assert inbound(qp).text == "Grüße, ein sehr langer Satz der um gebrochen wurde"
    b64 = raw_mime(
        "From: ada@customer.example.org\nTo: support@shop.example.com\nSubject: x\n"
        'Content-Type: text/plain; charset="utf-8"\nContent-Transfer-Encoding: base64',
        base64.b64encode("Olá, onde está o meu pedido?".encode()).decode(),
    )
    assert inbound(b64).text == "Olá, onde está o meu pedido?"


def test_html_charset_may_come_from_its_meta_tag() -> None:
    html = '<html><head><meta charset="windows-1252"></head><body><p>“Hi” there</p></body></html>'
    headers = (
        "From: ada@customer.example.org\nTo: support@shop.example.com\nSubject: x\n"
        "Content-Type: text/html\nContent-Transfer-Encoding: 8bit"
    )
    assert inbound(raw_mime(headers, "", html.encode("cp1252"))).text == "“Hi” there"


def test_raw_utf8_headers_rfc6532() -> None:
    raw = raw_mime(
        'From: "Jöhn Doe" <john@exämple.example>\nTo: support@shop.example.com\nSubject: Säying Hello', "body"
    )
    msg = inbound(raw)
    assert (msg.subject, msg.sender.name, msg.sender.address) == ("Säying Hello", "Jöhn Doe", "john@exämple.example")


# --- bodies and files -------------------------------------------------------------------------------


def test_alternative_keeps_text_and_html() -> None:
    msg = inbound(build(text="Plain version", html="<p>HTML <b>version</b><script>alert(1)</script></p>"))
    assert msg.text == "Plain version"
    assert msg.html is not None and "<b>version</b>" in msg.html  # sanitised at ingest (conversation.html)


def test_html_only_mail_gets_text_derived_and_trimmed() -> None:
    html = (
        "<div>Thanks, got it!</div><div class='gmail_quote'><div>On Mon, Mar 2, 2026 at 9:00 AM Shop "
        "&lt;support@shop.example.com&gt; wrote:</div><blockquote>Your order shipped.</blockquote></div>"
    )
    msg = inbound(build(text=None, html=html))
    assert msg.text == "Thanks, got it!"
    assert msg.full_text is not None and "Your order shipped." in msg.full_text


def test_inline_images_and_attachments_carry_their_bytes() -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20
    raw = build(
        html='<p>See <img src="cid:logo@x"></p>',
        inline_images=(("logo@x", "image/png", png),),
        attachments=(("Rechnung März.pdf", "application/pdf", b"%PDF-1.4 test"),),
    )
    msg = inbound(raw)
    by_name = {a.filename: a for a in msg.attachments}
    image = next(a for a in msg.attachments if a.content_id == "logo@x")
    assert image.inline is True and image.content == png and image.content_type == "image/png"
    pdf = by_name["Rechnung März.pdf"]
    assert pdf.inline is False and pdf.content == b"%PDF-1.4 test" and pdf.size == len(b"%PDF-1.4 test")
    assert msg.html is not None and "cid:logo@x" in msg.html  # the hub links it after insert


def test_a_forwarded_message_travels_as_an_eml_attachment() -> None:
    inner = build(subject="Original question", message_id="<inner@x.example>")
    outer = raw_mime(
        "From: ada@customer.example.org\nTo: support@shop.example.com\nSubject: Fwd: Original question\n"
        'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B"',
        "--B\nContent-Type: text/plain\n\nSee below.\n--B\nContent-Type: message/rfc822\n\n"
        + inner.decode().replace("\r\n", "\n")
        + "\n--B--\n",
    )
    msg = inbound(outer)
    assert msg.text == "See below."
    (eml,) = msg.attachments
    assert eml.filename == "Original question.eml" and eml.content_type == "message/rfc822"
    assert b"inner@x.example" in (eml.content or b"")
    assert msg.meta["forwarded"] == {}


def test_a_forward_names_its_original_sender() -> None:
    text = (
        "Can you help this customer?\n\n---------- Forwarded message ---------\n"
        "From: Grace Hopper <grace@navy.example.mil>\nDate: Mon, 2 Mar 2026\nSubject: Broken\nTo: a@b.example\n\n"
        "It is broken."
    )
    msg = inbound(build(subject="Fwd: Broken", text=text))
    assert msg.meta["forwarded"] == {"from": "grace@navy.example.mil", "name": "Grace Hopper"}


def test_size_caps_drop_with_a_clear_note() -> None:
    limits = Limits(max_attachment_bytes=10, max_attachments=2, max_text_chars=50)
    mailbox = Mailbox(inbox_id=7, address=SHOP, limits=limits)
    raw = build(
        text="x" * 80,
        attachments=(("small.txt", "text/plain", b"ok"), ("big.bin", "application/zip", b"z" * 11),
                     ("third.txt", "text/plain", b"3")),
    )  # fmt: skip
    msg = inbound(raw, mailbox)
    small, big = msg.attachments
    assert small.content == b"ok" and small.status == "stored"
    assert big.content is None and big.status == "too_large" and big.size == 11
    assert "[Omnihub: attachment “big.bin” (1 KB) was not kept: larger than 1 KB]" in msg.text
    assert "1 more attachment(s) were not kept (limit 2)" in msg.text
    assert "the text was cut after 50 characters" in msg.text
    assert msg.meta["notes"] and msg.full_text is not None and len(msg.full_text) < 80 + 300


def test_a_message_fetched_without_its_body_says_so() -> None:
    msg = inbound(build(text=""), original_size=40 * 1024 * 1024)
    assert "the message (40.0 MB) was too large: only its headers were fetched" in msg.text


def test_the_raw_message_is_kept_exactly() -> None:
    raw = build()
    record = inbound(raw).raw
    assert base64.b64decode(record["mime_b64"]) == raw and record["size"] == len(raw)


def test_dates_are_aware_and_sane() -> None:
    future = build(date=datetime(2099, 1, 1, tzinfo=UTC))
    assert inbound(future).sent_at == NOW
    missing = raw_mime("From: ada@customer.example.org\nTo: support@shop.example.com\nSubject: x", "hi")
    assert inbound(missing).sent_at == NOW


def test_encrypted_mail_says_it_cannot_be_shown() -> None:
    raw = raw_mime(
        "From: ada@customer.example.org\nTo: support@shop.example.com\nSubject: secret\nMIME-Version: 1.0\n"
        'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="E"',
        "--E\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n--E\nContent-Type: application/octet-stream\n\n"
        "-----BEGIN PGP MESSAGE-----\nabc\n-----END PGP MESSAGE-----\n--E--\n",
    )
    assert "the message is encrypted and cannot be shown" in inbound(raw).text


# --- auto-replies ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "subject", "text", "reason"),
    [
        ({"Auto-Submitted": "auto-replied"}, "Re: order", "I am away.", "Auto-Submitted: auto-replied"),
        ({"X-Autoreply": "yes"}, "Re: order", "Away.", "x-autoreply header"),
        ({"Precedence": "bulk"}, "Newsletter", "News.", "Precedence: bulk"),
        ({}, "Automatic reply: Where is my order?", "I am out.", "auto-reply subject"),
        ({}, "Automatische Antwort: Bestellung", "Ich bin nicht da.", "auto-reply subject"),
        ({}, "Réponse automatique : commande", "Absent.", "auto-reply subject"),
        ({}, "Автоматический ответ: заказ", "Нет.", "auto-reply subject"),
        ({}, "Re: order", "I am out of the office until Monday. For urgent matters contact bob@x.example.",
         "vacation message"),
        ({}, "Re: Bestellung", "Ich bin bis 10.03. nicht im Büro. In dringenden Fällen wenden Sie sich an ...",
         "vacation message"),
        ({}, "Re: bestelling", "Ik ben afwezig tot maandag. Dit is een automatisch antwoord.", "vacation message"),
        ({}, "Re: ordre", "Jeg er på ferie. Dette er et automatisk svar.", "vacation message"),
        ({}, "Re: pedido", "Estoy de vacaciones. Esta es una respuesta automática.", "vacation message"),
        ({}, "Re: pedido", "Estou de férias. Em caso de urgência ligue para 555.", "vacation message"),
        ({}, "Re: commande", "Je suis absent jusqu'au 5. En cas d'urgence appelez le 555.", "vacation message"),
        ({}, "Re: заказ", "Я в отпуске до 10 марта. По срочным вопросам пишите bob@x.example.", "vacation message"),
    ],
)  # fmt: skip
def test_auto_replies_are_recognised(headers: dict[str, str], subject: str, text: str, reason: str) -> None:
    msg = inbound(build(subject=subject, text=text, headers=headers))
    assert msg.is_auto_reply is True and msg.meta["auto_reply_reason"] == reason


@pytest.mark.parametrize(
    "text",
    [
        "I am on vacation until the 5th, please hold my package until then.",
        "Ich bin im Urlaub, bitte schicken Sie die Bestellung später.",
        "Please reply when I return from my trip, no rush.",
    ],
)
def test_customers_writing_about_their_holidays_are_people(text: str) -> None:
    msg = inbound(build(subject="Re: order 1001", text=text, headers={"Auto-Submitted": "no"}))
    assert msg.is_auto_reply is False


# --- bounces ----------------------------------------------------------------------------------------


def test_a_dsn_fails_the_message_it_reports() -> None:
    parsed = parse_email(dsn("omnihub.42.abc@shop.example.com"), MAILBOX, now=NOW)
    assert parsed.event == "bounce"
    (update,) = parsed.items
    assert isinstance(update, DeliveryUpdate)
    assert update.external_message_id == "omnihub.42.abc@shop.example.com"
    assert update.status is DeliveryStatus.FAILED and update.inbox_id == 7 and update.occurred_at == NOW
    assert update.error == (
        "bounced: ada@customer.example.org: 550 5.1.1 <ada@customer.example.org>: Recipient address rejected: "
        "User unknown"
    )


def test_delayed_and_anonymous_reports_are_ignored() -> None:
    delayed = parse_email(dsn("a@shop.example.com", action="delayed", status="4.4.1"), MAILBOX, now=NOW)
    assert (delayed.event, delayed.items) == ("dsn.delayed", ())
    delivered = parse_email(dsn("a@shop.example.com", action="delivered", status="2.0.0"), MAILBOX, now=NOW)
    assert delivered.event == "delivery_report" and delivered.items[0].status is DeliveryStatus.DELIVERED  # type: ignore[union-attr]
    anonymous = dsn("x@y", diagnostic="smtp; 550 no").replace(b"Message-ID: <x@y>\r\n", b"")
    assert parse_email(anonymous, MAILBOX, now=NOW).event == "bounce.unmatched"


def test_a_classic_bounce_with_the_original_attached() -> None:
    original = build(from_=SHOP, to=CUSTOMER, message_id="<omnihub.9.x@shop.example.com>")
    raw = raw_mime(
        "From: MAILER-DAEMON@mx.example.net\nTo: support@shop.example.com\nSubject: Mail delivery failed\n"
        'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B"',
        "--B\nContent-Type: text/plain\n\nThis message was created automatically.\n\n"
        "  ada@customer.example.org\n    host mx.customer.example.org [192.0.2.1]\n"
        "550 5.1.1 mailbox unavailable\n--B\nContent-Type: message/rfc822\n\n"
        + original.decode().replace("\r\n", "\n")
        + "\n--B--\n",
    )
    parsed = parse_email(raw, MAILBOX, now=NOW)
    (update,) = parsed.items
    assert isinstance(update, DeliveryUpdate) and update.external_message_id == "omnihub.9.x@shop.example.com"
    assert update.error == "bounced: 550 5.1.1 mailbox unavailable"


# --- loops and senders ----------------------------------------------------------------------------


@pytest.mark.parametrize("sender", [SHOP, "Support <SUPPORT@shop.example.com>", f"support+{TOKEN}@shop.example.com"])
def test_mail_from_our_own_address_is_refused(sender: str) -> None:
    parsed = parse_email(build(from_=sender), MAILBOX, now=NOW)
    assert parsed == ParsedEmail("loop", reason=parsed.reason) and "our own address" in (parsed.reason or "")


def test_mail_carrying_our_loop_header_is_refused_but_not_another_hubs() -> None:
    ours = build(headers={LOOP_HEADER: loop_token(SHOP)})
    assert parse_email(ours, MAILBOX, now=NOW).event == "loop"
    theirs = build(headers={LOOP_HEADER: loop_token("help@other-shop.example.net")})
    assert parse_email(theirs, MAILBOX, now=NOW).event == "message"


def test_aliases_are_ours_too() -> None:
    mailbox = Mailbox(inbox_id=7, address=SHOP, aliases=frozenset({"help@shop.example.com"}))
    assert parse_email(build(from_="help@shop.example.com"), mailbox, now=NOW).event == "loop"


def test_a_contact_form_sent_from_our_address_belongs_to_the_reply_to_customer() -> None:
    raw = build(from_=SHOP, headers={"Reply-To": f"Ada <{CUSTOMER}>"}, subject="Contact form")
    msg = inbound(raw)
    assert msg.sender.address == CUSTOMER and msg.sender.name == "Ada"


def test_without_any_sender_the_message_is_malformed() -> None:
    with pytest.raises(MalformedPayload, match="no sender"):
        parse_email(raw_mime("To: support@shop.example.com\nSubject: =?NONE?B?VEVTVA=?=", "TEST"), MAILBOX)
    with pytest.raises(MalformedPayload, match="empty"):
        parse_email(b"  \r\n", MAILBOX)
