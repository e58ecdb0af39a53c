"""MIME decoding that never raises: charsets with fallbacks, RFC 2047 headers, addresses, bodies, files."""

from __future__ import annotations

import codecs
import email.header
import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from email.message import Message
from email.utils import collapse_rfc2231_value, getaddresses
from typing import Any

#: Labels whose bytes are better decoded with another codec: the WHATWG encoding rules (browsers decode
#: latin-1 and ASCII labels as windows-1252) plus the usual supersets (Windows code pages of CJK labels).
_CHARSET_ALIASES = {
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "ansi_x3.4-1968": "cp1252",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "iso_8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "iso-8859-9": "cp1254",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
    "windows-874": "cp874",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "big5": "big5hkscs",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "x-mac-roman": "mac-roman",
    "unicode-1-1-utf-7": "utf-7",
}
#: Encodings tried after the label's own when its strict decode fails (vendor extensions in the wild).
_FALLBACK_CODECS = {
    "iso2022_jp": ("iso2022_jp_ext", "iso2022_jp_2", "iso2022_jp_2004"),
    "euc_jp": ("cp932",),
}
#: Labels that mean "no idea": sniff instead.
_UNKNOWN_LABELS = frozenset({"unknown-8bit", "x-unknown", "unknown", "x-user-defined", "default", "charset", "8bit"})
_LATIN_FAMILY = frozenset({"cp1252", "cp1254", "ascii", "latin_1", "iso8859_15", "cp874", "mac-roman", "mac_roman"})
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HEADER_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_RAW_FILENAME = re.compile(r"""\b(?:file)?name\s*=\s*"?(=\?[^"\s;]{1,400}\?=)""", re.IGNORECASE)
_ID_TOKEN = re.compile(r"<([^<>\s]{1,900})>")
_BARE_ID = re.compile(r"[^\s<>\"(),;:]{1,900}@[^\s<>\"(),;:]{1,300}")
# Internationalised addresses (RFC 6532) are allowed; the domain layer validates them for real.
_ADDRESS = re.compile(r"[^\s@<>()\[\],;:\"]{1,200}@[^\s@<>()\[\],;:\"]{1,253}")
MAX_ID_CHARS = 250
MAX_NAME_CHARS = 200
MAX_DEPTH = 25


# --- text ---------------------------------------------------------------------------------------


def clean_text(text: str) -> str:
    """Text safe for every database: no NUL or control characters, no lone surrogates."""
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        text = text.encode("utf-8", "replace").decode("utf-8")
    return _CONTROL.sub("", text)


def clean_header(text: str) -> str:
    """A one-line header value: controls (CR/LF included) become spaces, whitespace is collapsed."""
    return " ".join(_HEADER_CONTROL.sub(" ", clean_text(text)).split())


def codec_for(label: str | None) -> str | None:
    """The Python codec for a MIME charset label (aliases and WHATWG rules applied), or None."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    if not name or name in _UNKNOWN_LABELS:
        return None
    name = _CHARSET_ALIASES.get(name, name)
    for candidate in (name, name.removeprefix("x-"), name.replace("cp-", "cp").replace("windows-", "cp")):
        try:
            return codecs.lookup(candidate).name
        except (LookupError, ValueError):
            continue
    return None


def _utf8_with_non_ascii(data: bytes) -> bool:
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _mostly_utf8(data: bytes) -> bool:
    """Whether the text is UTF-8 with a few bad bytes: valid multi-byte characters outnumber the bad ones.

    Legacy 8-bit text (cp1252, latin-1) almost never forms valid multi-byte sequences, so it fails this.
    """
    decoded = data.decode("utf-8", "replace")
    bad = decoded.count("\ufffd")
    valid = sum(1 for ch in decoded if ord(ch) > 0x7F and ch != "\ufffd")
    return valid >= bad


def decode_bytes(data: bytes, label: str | None) -> str:
    """Decode body or header bytes by their label, surviving unknown and mislabelled charsets."""
    codec = codec_for(label)
    # Unlabelled or latin-labelled 8-bit text that is valid UTF-8 is UTF-8: the reverse accident
    # (real latin-1 text that happens to be valid multi-byte UTF-8) practically never happens.
    if (codec is None or codec in _LATIN_FAMILY) and _utf8_with_non_ascii(data):
        return clean_text(data.decode("utf-8"))
    for name in (codec, *_FALLBACK_CODECS.get(codec or "", ())):
        if name is None:
            continue
        try:
            return clean_text(data.decode(name))
        except (UnicodeDecodeError, LookupError, ValueError):
            continue
    if codec == "utf-8" and _mostly_utf8(data):
        return clean_text(data.decode("utf-8", "replace"))
    for name in ("utf-8", "cp1252"):
        try:
            return clean_text(data.decode(name))
        except UnicodeDecodeError:
            continue
    return clean_text(data.decode("latin-1"))


def _unescape(text: str) -> str:
    """Raw 8-bit header bytes arrive as surrogate escapes (RFC 6532 UTF-8, or legacy junk)."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    return decode_bytes(text.encode("utf-8", "surrogateescape"), None)


def decode_header_value(raw: Any) -> str:
    """A header's text with RFC 2047 encoded words decoded, unfolded onto one line."""
    if raw is None:
        return ""
    value = str(raw)
    try:
        parts = email.header.decode_header(value)
    except Exception:  # the stdlib raises several kinds on malformed encoded words
        parts = [(value, None)]
    out: list[str] = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            out.append(_unescape(chunk))
        elif charset is None:
            # decode_header hands unencoded runs back as raw-unicode-escape bytes.
            try:
                out.append(_unescape(chunk.decode("raw-unicode-escape")))
            except UnicodeDecodeError:
                out.append(decode_bytes(chunk, None))
        else:
            out.append(decode_bytes(chunk, charset))
    return clean_header("".join(out))


def raw_header(message: Message, name: str) -> str | None:
    """The first raw value of a header, without the policy's (sometimes fragile) parsing."""
    wanted = name.lower()
    for key, value in _raw_items(message):
        if key.lower() == wanted:
            return str(value)
    return None


def raw_headers(message: Message, name: str) -> list[str]:
    wanted = name.lower()
    return [str(value) for key, value in _raw_items(message) if key.lower() == wanted]


def _raw_items(message: Message) -> list[tuple[str, Any]]:
    try:
        return list(message.raw_items())  # type: ignore[attr-defined]
    except Exception:
        return []


# --- addresses and ids --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Address:
    """One mailbox: the address as written and its decoded display name."""

    addr: str
    name: str | None = None


def _plausible(addr: str) -> str | None:
    addr = clean_header(addr).strip("<>.,;: ")
    match = _ADDRESS.fullmatch(addr)
    return addr if match else None


def _display_name(name: str, addr: str) -> str | None:
    name = decode_header_value(name) if "=?" in name else clean_header(_unescape(name))
    name = name.strip().strip("\"'").strip()
    if not name or name.lower() == addr.lower():
        return None
    return name[:MAX_NAME_CHARS]


def parse_addresses(message: Message, name: str) -> list[Address]:
    """Every plausible mailbox in the named headers (all occurrences), decoded, in order."""
    found: list[Address] = []
    for raw in raw_headers(message, name):
        for display, addr in _split_addresses(raw):
            plausible = _plausible(addr)
            if plausible:
                found.append(Address(plausible, _display_name(display, plausible)))
    return found


def _split_addresses(raw: str) -> list[tuple[str, str]]:
    value = _unescape(raw)
    try:
        pairs = getaddresses([value])
    except Exception:
        pairs = []
    pairs = [(n, a) for n, a in pairs if a]
    if pairs:
        return pairs
    # A header the address parser gives up on ("Name <a@b>" with stray quotes): take what looks like one.
    return [("", match.group(0)) for match in _ADDRESS.finditer(value)]


def normalise_id(token: str) -> str | None:
    """A Message-ID without angle brackets, or None. Overlong ids are hashed to fit our columns."""
    token = clean_header(token).strip("<>")
    if not token or " " in token:
        return None
    if len(token) > MAX_ID_CHARS:
        return f"{hashlib.sha256(token.encode()).hexdigest()}@long-id.invalid"
    return token


def message_ids(raw: str | None) -> list[str]:
    """The ids in a Message-ID, In-Reply-To or References header, in order, without duplicates."""
    if not raw:
        return []
    value = _unescape(raw)
    tokens = _ID_TOKEN.findall(value) or _BARE_ID.findall(value)
    seen: dict[str, None] = {}
    for token in tokens:
        ident = normalise_id(token)
        if ident:
            seen.setdefault(ident, None)
    return list(seen)


# --- bodies and attachments ---------------------------------------------------------------------


@dataclass(slots=True)
class MimeFile:
    """An attachment or inline image as found in the message."""

    filename: str
    content_type: str
    content: bytes
    content_id: str | None = None
    inline: bool = False


@dataclass(slots=True)
class MimeContent:
    """The readable content of a message: text and HTML bodies, files, and what the walk noticed."""

    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    files: list[MimeFile] = field(default_factory=list)
    forwarded: bool = False
    encrypted: bool = False
    truncated_structure: bool = False
    #: The bodies of attached messages: shown when the mail itself has none (a bare forward).
    embedded_plain: list[str] = field(default_factory=list)
    embedded_html: list[str] = field(default_factory=list)


_SIGNATURE_TYPES = frozenset(
    {"application/pgp-signature", "application/pkcs7-signature", "application/x-pkcs7-signature"}
)
_BODY_TYPES = frozenset({"text/plain", "text/html"})
_MESSAGE_TYPES = frozenset({"message/rfc822", "message/global"})


def part_bytes(part: Message) -> bytes:
    """A leaf part's decoded payload (base64/quoted-printable undone), never None."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def part_text(part: Message) -> str:
    """A text part decoded by its declared charset (HTML also by its <meta charset>), with fallbacks.

    Line endings come out as LF: bodies travel with CRLF, text is stored with LF.
    """
    data = part_bytes(part)
    label = _param(part, "charset")
    if not label and part.get_content_type() == "text/html":
        sniffed = _META_CHARSET.search(data[:4096])
        label = sniffed.group(1).decode("ascii", "replace") if sniffed else None
    return decode_bytes(data, label).replace("\r\n", "\n").replace("\r", "\n")


def _param(part: Message, name: str) -> str | None:
    try:
        value = part.get_param(name)
    except Exception:
        return None
    if isinstance(value, tuple):  # RFC 2231 (charset, language, value)
        value = collapse_rfc2231_value(value)
    return str(value) if value else None


def _disposition(part: Message) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:
        return None


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if not name:
        name = _param(part, "name")
    if not name:
        name = _raw_filename(part)
    if not name:
        return None
    return safe_filename(decode_header_value(name) if "=?" in name else _unescape(str(name)))


def _raw_filename(part: Message) -> str | None:
    """`filename==?utf-8?B?...?=` (unquoted encoded word) defeats the parameter parser: read it raw."""
    for header in ("content-disposition", "content-type"):
        match = _RAW_FILENAME.search(raw_header(part, header) or "")
        if match:
            return match.group(1).strip()
    return None


def safe_filename(name: str) -> str:
    """A filename without directories or control characters, at most 200 characters."""
    name = clean_header(name).replace("\\", "/").rsplit("/", 1)[-1].strip(" .")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:190] + dot + ext[:9]) if dot and len(ext) < 10 else name[:200]
    return name


def content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "application/octet-stream"


def _content_id(part: Message) -> str | None:
    raw = raw_header(part, "content-id")
    if not raw:
        return None
    ident = clean_header(_unescape(raw)).strip().strip("<>").strip()
    return ident[:MAX_ID_CHARS] or None


def walk_content(message: Message) -> MimeContent:
    """Collect bodies and files from a message of any structure (depth-limited, never raises)."""
    content = MimeContent()
    _walk(message, content, 0, in_related=False)
    return content


def _walk(part: Message, acc: MimeContent, depth: int, *, in_related: bool) -> None:
    if depth > MAX_DEPTH:
        acc.truncated_structure = True
        return
    ctype = content_type(part)
    if ctype in _MESSAGE_TYPES:
        _attach_message(part, acc, depth)
        return
    if ctype.startswith("message/"):
        return  # delivery and read reports: the bounce rules read them, agents do not need them
    if part.is_multipart():
        _walk_multipart(part, acc, depth, ctype)
        return
    if ctype.startswith("multipart/"):
        # A multipart whose boundary is missing or broken: its body is all we have, so show it as text.
        text = part_text(part)
        if text.strip():
            acc.plain.append(text)
        return
    disposition = _disposition(part)
    filename = _filename(part)
    if ctype in _BODY_TYPES and disposition != "attachment" and not filename:
        (acc.plain if ctype == "text/plain" else acc.html).append(part_text(part))
        return
    if ctype in _SIGNATURE_TYPES:
        return  # a cryptographic signature says nothing to an agent
    content_id = _content_id(part)
    acc.files.append(
        MimeFile(
            filename=filename or _fallback_name(ctype, len(acc.files) + 1),
            content_type=ctype,
            content=part_bytes(part),
            content_id=content_id,
            inline=bool(content_id) and disposition != "attachment" and (in_related or disposition == "inline"),
        )
    )


def _walk_multipart(part: Message, acc: MimeContent, depth: int, ctype: str) -> None:
    children = _children(part)
    if ctype == "multipart/alternative":
        _walk_alternative(children, acc, depth)
        return
    if ctype == "multipart/encrypted":
        acc.encrypted = True
    related = ctype == "multipart/related"
    for child in children:
        _walk(child, acc, depth + 1, in_related=related)


def _walk_alternative(children: list[Message], acc: MimeContent, depth: int) -> None:
    """Keep the richest plain and HTML version (the last of each, RFC 2046) and every file."""
    plain: list[str] | None = None
    html: list[str] | None = None
    for child in children:
        sub = MimeContent()
        _walk(child, sub, depth + 1, in_related=False)
        plain = sub.plain if sub.plain else plain
        html = sub.html if sub.html else html
        acc.files.extend(sub.files)
        acc.forwarded |= sub.forwarded
        acc.encrypted |= sub.encrypted
        acc.truncated_structure |= sub.truncated_structure
        acc.embedded_plain.extend(sub.embedded_plain)
        acc.embedded_html.extend(sub.embedded_html)
    acc.plain.extend(plain or [])
    acc.html.extend(html or [])


def _children(part: Message) -> list[Message]:
    try:
        payload = part.get_payload()
    except Exception:
        return []
    return [child for child in payload if isinstance(child, Message)] if isinstance(payload, list) else []


def _attach_message(part: Message, acc: MimeContent, depth: int) -> None:
    """A forwarded or bounced mail travels as a `.eml` file the agent can open."""
    inner = _children(part)
    try:
        data = inner[0].as_bytes() if inner else part_bytes(part)
    except Exception:
        data = part_bytes(part)
    subject = decode_header_value(raw_header(inner[0], "subject")) if inner else ""
    name = safe_filename(f"{subject[:80] or 'message'}.eml")
    acc.files.append(MimeFile(filename=name, content_type="message/rfc822", content=data))
    acc.forwarded = True
    if inner:
        embedded = MimeContent()
        _walk(inner[0], embedded, depth + 1, in_related=False)
        acc.embedded_plain.extend(embedded.plain or embedded.embedded_plain)
        acc.embedded_html.extend(embedded.html or embedded.embedded_html)


def _fallback_name(ctype: str, index: int) -> str:
    extension = mimetypes.guess_extension(ctype) or (".txt" if ctype.startswith("text/") else ".bin")
    stem = "image" if ctype.startswith("image/") else "attachment"
    return f"{stem}-{index}{extension}"
