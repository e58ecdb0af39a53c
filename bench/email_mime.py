"""Score the email parser on the shared MIME samples: what each one must decode to, and how many do."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.email_trimming import email_fixtures
from connectors.base import MalformedPayload
from connectors.email.parser import Mailbox, parse_email
from conversation.types import DeliveryUpdate, InboundMessage

MAILBOX = Mailbox(inbox_id=1, address="support@shop.example.com")


@dataclass(frozen=True, slots=True)
class Expected:
    """What one sample must parse to. `None` fields are not checked; `feature` says what it exercises."""

    feature: str
    event: str = "message"  # message | bounce | malformed
    sender: str | None = None
    name: str | None = None
    subject: str | None = None
    text: str | None = None  # the shown (trimmed) text starts with this
    files: tuple[str, ...] | None = None  # "filename (content/type)" in order
    html: bool | None = None
    auto_reply: bool = False
    forwarded: bool = False
    in_reply_to: str | None = None
    references: tuple[str, ...] | None = None
    bounced: str | None = None  # the Message-ID a delivery report names
    reason: str | None = None  # ... and a part of its reason


F = Expected
EXPECTED: dict[str, Expected] = {
    "cpython/msg_02.txt": F("multipart/digest of message/rfc822 parts", sender="ppp-request@zzz.org",
                            subject="Ppp digest, Vol 1 #2 - 5 msgs", text="Send Ppp mailing list submissions to",
                            files=("[Ppp] testing #1.eml (message/rfc822)", "message.eml (message/rfc822)",
                                   "[Ppp] testing #3.eml (message/rfc822)", "[Ppp] testing #4.eml (message/rfc822)",
                                   "[Ppp] testing #5.eml (message/rfc822)"), forwarded=True),
    "cpython/msg_07.txt": F("base64 image attachment", sender="barry@digicool.com", name="Barry",
                            text="Hi there,\n\nThis is the dingus fish.", files=("dingusfish.gif (image/gif)",)),
    "cpython/msg_08.txt": F("empty parts in four charsets", sender="barry@python.org", name="Barry Warsaw",
                            subject="Lyrics", text="", files=(), html=False),
    "cpython/msg_10.txt": F("7bit, base64 and QP parts, mixed charsets", subject="Lyrics",
                            text="This is a 7bit encoded message.\n\nThis is a Base64 encoded message.", html=True),
    "cpython/msg_15.txt": F("alternative with a broken nested boundary", sender="xx@xx.dk",
                            text="Some removed test.", html=True, files=()),
    "cpython/msg_16.txt": F("DSN whose original is only named in the text", event="bounce",
                            bounced="002001c144a6$8752e060$56104586@oxy.edu", reason="recipient reached disk quota"),
    "cpython/msg_25.txt": F("DSN with a truncated boundary parameter", event="bounce",
                            bounced="01040616033903.00962@server", reason="554 Too many hops"),
    "cpython/msg_33.txt": F("multipart/signed mailing-list post (Precedence: bulk)", name="Anne Person",
                            subject="Re: Limiting Perl CPU Utilization...", text="part 1\n\npart 2", auto_reply=True),
    "cpython/msg_40.txt": F("no headers worth the name: refused, not crashed", event="malformed"),
    "cpython/msg_43.txt": F("DSN from 'MAILER DAEMON <>' (no sender address)", event="bounce",
                            bounced="edab.7804f5cb8070@python.org", reason="550 5.7.1 Message content rejected"),
    "cpython/msg_45.txt": F("multipart/signed: the signature is dropped", sender="foo@bar.baz",
                            text="This is the signed contents.", files=()),
    "cpython/msg_46.txt": F("top-level message/rfc822 (GroupWise forward)", sender="sender@example.net",
                            text="Testing email forwarding with Groupwise 1.2.2010",
                            files=("GroupwiseForwardingTest.eml (message/rfc822)",), forwarded=True),
    "cpython/msg_47.txt": F("alternative with defects", sender="arthur@example.example", text="bar", html=True),
    "django_helpdesk/all-special-chars.eml": F("encoded Czech subject and body", name="Timothy Hobbs",
                                               subject="Testovácí email", text="íářčšáíéřášč"),
    "django_helpdesk/blank-body-with-attachment.eml": F("attachment, empty body, very long subject", text="",
                                                        files=("baf (text/plain)",)),
    "django_helpdesk/forwarded-message.eml": F("forwarded GitHub notification", name="The Sender",
                                               text="This is email body", forwarded=True),
    "django_helpdesk/pgp.eml": F("PGP-signed message that crashed a helpdesk", name="Bug Reporter",
                                 text="hi, thanks for looking into this :)", files=()),
    "django_helpdesk/quoted_printable.eml": F("Czech QP in multipart/alternative", name="Tim hobbs",
                                              subject="Český test",
                                              text="Tohle je test českých písmen odeslaných z gmailu.", html=True),
    "django_helpdesk/utf-nondecodable.eml": F("declared UTF-8 that is not, in a forward", name="John Smith",
                                              subject="Fwd: Cyklozaměstnavatel - změna vyhodnocení",
                                              text="Ahoj Johne,\npodle domluvy bych Tě poprosila", forwarded=True),
    "mikel_mail/attachment_emails/attachment_message_rfc822.eml": F(
        "forwarded message/rfc822 attachment", text="This is the first part.",
        files=("Another PDF.eml (message/rfc822)",), forwarded=True),
    "mikel_mail/attachment_emails/attachment_nonascii_filename.eml": F(
        "non-ASCII attachment name", files=("ciële.txt (text/plain)",)),
    "mikel_mail/attachment_emails/attachment_only_email.eml": F(
        "attachment-only message (application/x-gzip at top level)", name="Ryan Finnie", text="",
        files=("blah.gz (application/x-gzip)",)),
    "mikel_mail/attachment_emails/attachment_pdf.eml": F(
        "emoji in the subject, PDF", subject="Another PDF with 🎉 Unicode chars in it 🍿",
        files=("broken.pdf (application/pdf)",)),
    "mikel_mail/attachment_emails/attachment_with_base64_encoded_name.eml": F(
        "unquoted RFC 2047 filename", files=("This is a test.pdf (application/pdf)",), forwarded=True),
    "mikel_mail/attachment_emails/attachment_with_encoded_name.eml": F(
        "RFC 2231 name whose bytes do not fit its charset", forwarded=True,
        files=("01 Quien Te Dij\ufffdat. Pitbull.mp3 (application/octet-stream)",)),
    "mikel_mail/error_emails/bad_encoded_subject.eml": F("unknown charset in the subject, no sender",
                                                         event="malformed"),
    "mikel_mail/error_emails/content_transfer_encoding_qp_with_space.eml": F(
        "'quoted-printable ' with a trailing space", text="If you're in need of a good RX site", html=True),
    "mikel_mail/error_emails/empty_in_reply_to.eml": F("empty In-Reply-To, truncated body", sender="ak@g.com",
                                                       in_reply_to="", references=()),
    "mikel_mail/error_emails/encoding_madness.eml": F("8bit junk in headers", sender="no-reply@crm.el-example.org",
                                                      text="Body Text"),
    "mikel_mail/error_emails/multiple_references_with_one_invalid.eml": F(
        "References with an invalid id", text="foo", references=("foo@bar.net",)),
    "mikel_mail/error_emails/trademark_character_in_subject.eml": F(
        "raw 8-bit UTF-8 in the subject", subject="GA.comô has a lead for you"),
    "mikel_mail/mime_emails/raw_email2.eml": F("S/MIME signed: smime.p7s dropped", forwarded=True,
                                               text="We should not include these files", files=()),
    "mikel_mail/mime_emails/raw_email_with_nested_attachment.eml": F(
        "attachment nested in S/MIME", name="Jamis Buck", files=("truncated.png (image/png)",)),
    "mikel_mail/mime_emails/sig_only_email.eml": F("multipart/signed with the signature only",
                                                   text="This is random text, not what has been signed below"),
    "mikel_mail/multi_charset/japanese.eml": F("ISO-2022-JP subject and body", name="Mikel Lindsaar",
                                               subject="まみむめも", text="かきくえこ"),
    "mikel_mail/multi_charset/japanese_attachment.eml": F("Japanese attachment name",
                                                          files=("てすと.txt (text/plain)",)),
    "mikel_mail/multi_charset/japanese_attachment_long_name.eml": F(
        "long RFC 2231 Japanese name", subject="まみむめも" * 10,
        files=("かきくけこかきくけこかきくけこかきくけこかきくけこ.txt (text/plain)",)),
    "mikel_mail/multi_charset/japanese_iso_2022.eml": F("ISO-2022-JP body", text="すみません。"),
    "mikel_mail/multi_charset/japanese_shift_jis.eml": F("Shift_JIS body", text="あいうえお"),
    "mikel_mail/multi_charset/ks_c_5601-1987.eml": F("Korean ks_c_5601-1987", text="스티해"),
    "mikel_mail/multipart_report_emails/multi_address_bounce1.eml": F(
        "Gmail DSN, several recipients", event="bounce",
        bounced="118707422.15521266992174819.JavaMail.root@lvmail01", reason="550-5.1.1 The email account"),
    "mikel_mail/multipart_report_emails/report_530.eml": F(
        "sendmail DSN with text/rfc822-headers", event="bounce",
        bounced="200712232303.lBNN3jDq002941@mail12.rrrr.com.au", reason="553 5.3.0"),
    "mikel_mail/plain_emails/raw_email_quoted_with_0d0a.eml": F("CRLF in a quoted-printable body",
                                                                text="A fax has arrived from remote ID ''."),
    "mikel_mail/plain_emails/raw_email_reply.eml": F(
        "a reply: In-Reply-To and References", subject="Re: Test reply email", text="Message body",
        in_reply_to="348F04F142D69C21-291E56D292BC@xxxx.net",
        references=("473FF3B8.9020707@xxx.org", "348F04F142D69C21-291E56D292BC@xxxx.net")),
    "mikel_mail/rfc6532/utf8_headers.eml": F("raw UTF-8 headers (RFC 6532)", sender="jdöe@mächine.example",
                                             name="Jöhn Doe", subject="Säying Hello", text="body"),
}  # fmt: skip


def samples_dir() -> Path:
    return email_fixtures() / "mime_samples"


def _message_problems(msg: InboundMessage, want: Expected) -> list[str]:
    got = {
        "sender": msg.sender.address,
        "name": msg.sender.name,
        "subject": msg.subject or "",
        "html": msg.html is not None,
        "files": tuple(f"{a.filename} ({a.content_type})" for a in msg.attachments),
        "auto_reply": msg.is_auto_reply,
        "forwarded": "forwarded" in msg.meta,
        "in_reply_to": msg.in_reply_to_external_id or "",
        "references": msg.references,
    }
    problems = [
        f"{key}: expected {getattr(want, key)!r}, got {value!r}"
        for key, value in got.items()
        if getattr(want, key) is not None and getattr(want, key) != value
    ]
    if want.text is not None and not (msg.text.startswith(want.text) if want.text else msg.text == ""):
        problems.append(f"text: expected to start with {want.text!r}, got {msg.text[:80]!r}")
    return problems


def problems(name: str, want: Expected) -> list[str]:
    """What differs between the parse of sample `name` and its expectation (empty when it matches)."""
    raw = (samples_dir() / name).read_bytes()
    try:
        parsed = parse_email(raw, MAILBOX)
    except MalformedPayload as exc:
        return [] if want.event == "malformed" else [f"refused as malformed: {exc}"]
    if want.event == "malformed":
        return [f"expected a refusal, got {parsed.event}"]
    if want.event == "bounce":
        update = parsed.items[0] if parsed.items else None
        if not isinstance(update, DeliveryUpdate):
            return [f"expected a bounce, got {parsed.event}"]
        found = [] if update.external_message_id == want.bounced else [f"bounced id {update.external_message_id!r}"]
        return found + ([] if want.reason in (update.error or "") else [f"reason {update.error!r}"])
    message = parsed.items[0] if parsed.items else None
    if not isinstance(message, InboundMessage):
        return [f"expected a message, got {parsed.event} ({parsed.reason})"]
    return _message_problems(message, want)


def score() -> tuple[int, int, dict[str, list[str]]]:
    """(passed, total, failures by sample) over every sample file (one without an expectation fails)."""
    names = sorted(str(p.relative_to(samples_dir())) for p in samples_dir().rglob("*") if p.is_file())
    failures: dict[str, list[str]] = {}
    for name in names:
        want = EXPECTED.get(name)
        found = problems(name, want) if want else ["no expectation recorded for this sample"]
        if found:
            failures[name] = found
    return len(names) - len(failures), len(names), failures


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(prog="python -m bench.email_mime", description=__doc__).parse_args(argv)
    passed, total, failures = score()
    print(f"MIME samples decoded as expected: {passed}/{total}")
    for name, found in failures.items():
        print(f"  FAIL {name}: {'; '.join(found)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
