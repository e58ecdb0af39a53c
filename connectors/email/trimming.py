"""Separate the new text of an inbound email reply from its quoted history and signatures."""

# Header patterns are multilingual: Cyrillic and CJK letters and the fullwidth colon are intended.
# ruff: noqa: RUF001

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from html.parser import HTMLParser

__all__ = ["TrimmedReply", "html_to_text", "trim_html_reply", "trim_reply"]


@dataclass(frozen=True, slots=True)
class TrimmedReply:
    """The outcome of trimming one reply.

    Trimming works at two levels. ``reply`` drops quoted history *and* signatures (what an agent
    reads); ``reply_with_signature`` drops only quoted history and keeps signature blocks and
    device footers ("-- ", "Sent from my iPhone"), which is what quotation extractors such as
    talon measure. Both come from the same classification; only the signature rules differ.

    Attributes:
        reply: The text the sender wrote in this message, stripped of surrounding whitespace.
        elided: Everything that was removed (quoted history, signatures, forwarded or embedded mail),
            in input order. Together with ``reply`` it holds every non-whitespace character of the input.
        reply_with_signature: The new text with its signature kept (quoted history removed only).
    """

    reply: str
    elided: str
    reply_with_signature: str


# --------------------------------------------------------------------------------------------------
# Line patterns
# --------------------------------------------------------------------------------------------------

# Quote prefixes: "> " (any depth) and supercite "Name> " as written by Emacs/Gnus users.
_QUOTE_PREFIX = re.compile(r"^(?:[ \t]*(?:>|[A-Za-z][A-Za-z0-9_-]{0,15}>(?=[ \t]|$)))+[ \t]?")
# Zero-width characters that clients sprinkle on otherwise empty lines (BOM, LRM, ZWSP).
_INVISIBLE = "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff"
_FENCE = re.compile(r"^[ \t]*(?:```|~~~)")

# "-- " is the RFC 3676 signature delimiter; many clients drop the trailing space. U+1427 is the
# tracking glyph that Mailtrack/Streak append after the author's text.
_DELIMITER = re.compile(r"^[ \t\xa0]*(?:--|\u1427)[ \t\xa0]*$")
# Outlook's plain-text separator and mailing-list footers are lines of underscores.
_SEPARATOR = re.compile(r"^[ \t*]*_{4,}[ \t*]*$")
# Other horizontal rules only separate history when a header block follows them.
_RULE = re.compile(r"^[ \t*]*(?:-{3,}|={3,}|~{3,}|\*{3,}|\+{3,}|#{3,})[ \t*]*$")

_MARKER_WORDS = re.compile(
    r"original|forward|message|nachricht|mensaje|mensagem|messaggio|bericht|meddelelse|meddelande|"
    r"melding|besked|wiadomo|viesti|zpráva|üzenet|сообщени|повідомлен|邮件|郵件|转发|轉寄",
    re.IGNORECASE,
)
# "-----Original Message-----", "---------- Forwarded message ---------" and translations.
_DASHED_MARKER = re.compile(r"^[ \t*_]*-{2,}[ \t]*(?P<phrase>[^-]{3,60}?)[ \t]*-{2,}[ \t*_]*$")
# Apple Mail and others announce a forward with a sentence instead of dashes.
_FORWARD_SENTENCE = re.compile(
    r"^[ \t*_]*(?:begin forwarded message|anfang der weitergeleiteten nachricht|"
    r"début du message (?:réexpédié|transféré)|inicio del mensaje reenviado|"
    r"início da mensagem (?:reencaminhada|encaminhada)|inizio messaggio inoltrato|"
    r"begin doorgestuurd bericht|vidarebefordrat meddelande|videresendt (?:melding|meddelelse|besked)|"
    r"начало пересылаемого сообщения|forwarded message|original message)"
    r"[ \t\xa0]*[:：]?[ \t*_]*$",
    re.IGNORECASE,
)

# --- attribution lines: "On <date>, <someone> wrote:" and its translations -----------------------
_ON_WORDS = r"(?:on|am|le|el|em|op|den|il|dnia|w\s+dniu|på|dne|в|у|在)"
_ON_START = re.compile(rf"^[ \t>*-]*{_ON_WORDS}\s", re.IGNORECASE)
_VERBS_FINAL = (
    r"wrote|writes|has\s+written|a\s+écrit|escribió|ha\s+escrito|escreveu|ha\s+scritto|scrisse|"
    r"schrieb|hat\s+geschrieben|schreef|geschreven|skrev|skriver|napisał\(a\)|napisała|napisał|pisze|"
    r"napsal\(a\)|napsala|napsal|написал\(а\)|написала|написал|пишет|написав|пише|kirjoitti|írta|yazdı"
)
# Romance/English/Slavic order: the verb closes the line ("... wrote:", "... wrote ----").
_VERB_FINAL = re.compile(
    rf"(?:(?:^|(?<=[\s>\"')\]]))(?:{_VERBS_FINAL})|写道|寫道)\s*(?:[:：]|-{{2,}})[\s*-]*$",
    re.IGNORECASE,
)
# Germanic verb-second order: "Am <date> schrieb <name> <email>:", "<name> schrieb am <date>:".
_VERB_SECOND = re.compile(
    r"(?:^|(?<=\s))(?:schrieb|skrev|schreef|skriver)\s+(?P<tail>.{1,160}?)\s*[:：]\s*$", re.IGNORECASE
)
# Clients that write no verb: "<date> <time> <name> <email>:" (mail.ru, Yandex, Gmail in some locales).
_TIME_THEN_EMAIL = re.compile(r"\d{1,2}:\d{2}.{0,200}?<\s*[^<>\s@]+@[^<>\s]+\s*>\s*[:：]\s*$")
# Older Gmail: "2016-03-03 17:21 GMT+01:00 Some One <a@b.c>:" and "2013/7/20 Some One <a@b.c>".
_ISO_DATE_LEAD = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b.{0,150}?(?:@|GMT[+-]\d)")
_DATE_OR_TIME = re.compile(r"\d{1,2}[:.]\d{2}|\d{1,4}[./-]\d{1,2}|\b(?:19|20)\d{2}\b")
_TIME = re.compile(r"\d{1,2}[:.]\d{2}")
# A wrapped attribution starts like one: "On <...digit...>", a date, or "Name <email".
_ATTRIBUTION_START = re.compile(
    rf"^[ \t>*-]*(?:{_ON_WORDS}\s.*\d|\d|[^\s<>@:][^<>@:]{{0,60}}<)", re.IGNORECASE
)
_MAX_ATTRIBUTION = 300

# --- Outlook-style header blocks ("From: / Sent: / To: / Subject:") --------------------------------
_FIELD = re.compile(r"^[ \t]*[*_]{0,2}(?P<key>[^\W\d_][\w .'-]{0,24}?)[*_]{0,2}[ \t\xa0]*[:：]")
_FROM_KEYS = frozenset(
    {
        # en, de, fr/es/pt, it, nl, da/no, sv, pl, ru, uk
        "from", "von", "de", "da", "van", "fra", "från", "od", "от", "від",
        "发件人", "寄件者", "差出人", "expéditeur", "remitente", "afzender", "mittente", "nadawca",
        "lähettäjä", "feladó",
    }
)  # fmt: skip
_OTHER_KEYS = frozenset(
    {
        "sent", "date", "to", "cc", "bcc", "subject", "reply-to",  # en
        "gesendet", "datum", "an", "betreff", "kopie", "antwort an",  # de
        "envoyé", "à", "objet", "répondre à",  # fr
        "enviado", "enviado el", "enviada", "fecha", "para", "asunto", "responder a",  # es
        "data", "assunto", "enviado em", "enviada em",  # pt
        "inviato", "a", "oggetto", "risposta", "rispondi a",  # it
        "verzonden", "aan", "onderwerp", "antwoord aan",  # nl
        "sendt", "dato", "til", "emne", "svar til",  # da, no
        "skickat", "till", "ämne", "kopia", "svara till",  # sv
        "wysłano", "wysłane", "do", "temat", "dw",  # pl
        "отправлено", "дата", "кому", "тема", "копия",  # ru
        "надіслано", "копія",  # uk
        "发送时间", "日期", "收件人", "主题", "抄送", "寄件日期", "收件者", "主旨", "副本",  # zh
        "送信日時", "宛先", "件名",  # ja
    }
)  # fmt: skip

# The wrapped end of a header's address list: "<bob@x.org>", "Bob Smith <bob@x.org>,".
_ADDRESS_TAIL = re.compile(r"^[ \t]*(?:[^\s<>@:][^<>@:]{0,60})?<[^<>\s@]+@[^<>\s]+>[ \t]*[,;]?[ \t]*$")

# --- device signatures ("Sent from my iPhone") ------------------------------------------------------
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_URL = re.compile(r"<?(?:https?://|mailto:|www\.)[^\s>]*>?")
_DEVICE_WORDS = (
    r"iphone|ipad|ipod|android|mobile|phone|cell|cellphone|smartphone|blackberry|galaxy|samsung|pixel|"
    r"tablet|device|outlook|mail|mailbox|airmail|yahoo|gmail|aol|windows|sparrow|spark|newton|k-9|"
    r"fairemail|aquamail|protonmail|tutanota|huawei|xiaomi|nokia|htc|motorola|oneplus|watch|ios"
)
_DEVICE_WORD = re.compile(rf"\b(?:{_DEVICE_WORDS})\b", re.IGNORECASE)
_SENT_VIA = re.compile(r"^sent\s+(?:from|with|via|by|using)\s+(?P<what>[^,.;!]*)(?P<rest>.*)$", re.IGNORECASE)
_APOLOGY = re.compile(r"excuse|forgive|pardon|sorry|apologi|typo|brevity|autocorrect", re.IGNORECASE)
_POSSESSIVE = re.compile(r"^my\b", re.IGNORECASE)
_FOREIGN_DEVICE = re.compile(
    r"^(?:envoy[ée] (?:de|depuis|avec) (?:mon|ma|un|une)\b|"
    r"enviado (?:desde|de|do|con|com|via) |"
    r"(?:gesendet )?von meine[mr]? .*gesendet|gesendet (?:von|mit) |diese nachricht wurde von .* gesendet|"
    r"(?:verzonden|verstuurd) (?:met|vanaf|van|via) |"
    r"(?:sendt|skickat|lähetetty) (?:fra|från|via) |"
    r"inviato da |wys[łl]an[eo] z |отправлено (?:с|из) |надіслано з |"
    r"(?:从|從)我的.*(?:发送|傳送|發送)|发自我的|.*から送信$|"
    r"(?:get|obtenir|descargar|baixe) (?:microsoft )?outlook (?:for|pour|para) )",
    re.IGNORECASE,
)
# "Someone from mobile", "From My Iphone 6": only hardware words, so "Greetings from Windows" is prose.
_FROM_DEVICE = re.compile(
    r"^(?:[\w.-]+\s+){0,2}from\s+(?:my\s+)?"
    r"(?:iphone|ipad|ipod|android|mobile|phone|cell|cellphone|smartphone|blackberry|tablet|galaxy)\b"
    r"[\w .-]{0,20}$",
    re.IGNORECASE,
)
_MAX_DEVICE = 100
_MAX_DEVICE_WORDS = 6


def _squash(text: str) -> str:
    """Collapse whitespace (including no-break spaces) so patterns see one canonical spacing."""
    return " ".join(text.replace("\xa0", " ").split())


def _is_blank(line: str) -> bool:
    return not line.strip().strip(_INVISIBLE)


def _is_attribution(text: str) -> bool:
    """Whether ``text`` (one logical line) introduces quoted history: "On <date>, <someone> wrote:"."""
    line = _squash(text)
    if not line or len(line) > _MAX_ATTRIBUTION:
        return False
    # Every form below ends with a colon or dashes, or starts with a date: a cheap first filter.
    if not (line.rstrip(" *").endswith((":", "：", "--")) or line[0].isdigit()):
        return False
    evidence = bool("@" in line or _DATE_OR_TIME.search(line) or _ON_START.match(line))
    if _VERB_FINAL.search(line):
        return evidence
    second = _VERB_SECOND.search(line)
    if second:
        tail = second["tail"]
        return evidence and ("@" in tail or tail.lower().startswith("am ") or bool(_ON_START.match(line)))
    return bool(_TIME_THEN_EMAIL.search(line) or _ISO_DATE_LEAD.search(line))


def _is_marker(line: str) -> bool:
    """Whether ``line`` announces an original or forwarded message."""
    if len(line) > _MAX_ATTRIBUTION:
        return False
    dashed = _DASHED_MARKER.match(line)
    if dashed:
        return bool(_MARKER_WORDS.search(dashed["phrase"]))
    return bool(_FORWARD_SENTENCE.match(line))


def _is_device_signature(line: str) -> bool:
    """Whether ``line`` is a client's "Sent from my iPhone" footer, in any of the usual languages."""
    # Footers are short even with a link; the length guard also keeps the link patterns linear.
    if len(line) > 3 * _MAX_DEVICE:
        return False
    text = _URL.sub("", _MD_LINK.sub(r"\1", line)).replace("()", "")
    text = _squash(text).strip("()<>[]*_ ")
    if not text or len(text) > _MAX_DEVICE:
        return False
    sent = _SENT_VIA.match(text)
    if sent:
        # "Sent from my desk, is much easier..." is prose; an apology is still part of the footer.
        what, rest = sent["what"].strip(), sent["rest"]
        # A device or app name is a few words; "my iPhone on Monday and it never arrived" is prose.
        named = len(what.split()) <= _MAX_DEVICE_WORDS
        looks_like_device = named and bool(_POSSESSIVE.match(what) or _DEVICE_WORD.search(what))
        return looks_like_device and (not rest.strip(" .!") or bool(_APOLOGY.search(rest)))
    return bool(_FOREIGN_DEVICE.match(text) or _FROM_DEVICE.match(text))


def _field_key(line: str) -> str | None:
    """The normalised key of an email header field line ("*From:* ..." gives "from"), if any."""
    match = _FIELD.match(line)
    if not match:
        return None
    key = " ".join(match["key"].casefold().split())
    return key if key in _FROM_KEYS or key in _OTHER_KEYS else None


# --------------------------------------------------------------------------------------------------
# Plain text: classify lines, group them into blocks, then decide block by block
# --------------------------------------------------------------------------------------------------


class _Kind(Enum):
    BLANK = "blank"
    TEXT = "text"
    QUOTE = "quote"
    ATTRIBUTION = "attribution"  # "On <date>, <someone> wrote:" (possibly wrapped over several lines)
    FIELD = "field"  # a single "From: ..." line; becomes FIELDS when enough of them stand together
    FIELDS = "fields"  # an Outlook-style header block
    MARKER = "marker"  # "-----Original Message-----", "Begin forwarded message:"
    DELIMITER = "delimiter"  # signature delimiter: everything after it is signature
    SEPARATOR = "separator"  # a line of underscores
    RULE = "rule"  # a line of dashes, equals signs, ...
    DEVICE = "device"  # "Sent from my iPhone"


_BOUNDARIES = frozenset({_Kind.ATTRIBUTION, _Kind.FIELDS, _Kind.MARKER})

# Checked in order on unquoted lines outside code fences; the first match wins.
_LINE_RULES: tuple[tuple[_Kind, Callable[[str], object]], ...] = (
    (_Kind.DELIMITER, _DELIMITER.match),
    (_Kind.SEPARATOR, _SEPARATOR.match),
    (_Kind.MARKER, _is_marker),
    (_Kind.DEVICE, _is_device_signature),
    (_Kind.ATTRIBUTION, _is_attribution),
    (_Kind.FIELD, _field_key),
    (_Kind.RULE, _RULE.match),
)


@dataclass(slots=True)
class _Block:
    kind: _Kind
    start: int  # first line
    stop: int  # one past the last line
    paragraphs: int = 1


def _split_lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _code_mask(lines: list[str]) -> list[bool]:
    """Lines inside (or delimiting) fenced code blocks: their content is never a quote or a header."""
    mask, inside = [], False
    for line in lines:
        fence = bool(_FENCE.match(line))
        mask.append(inside or fence)
        inside ^= fence
    return mask


def _join_wrapped(head: str, tail: str) -> str:
    # A trailing "=" is a quoted-printable soft line break left in by a careless client: no space.
    if head.endswith("="):
        return head[:-1] + tail
    return f"{head} {tail}" if tail else head


def _wrapped_attribution_end(lines: list[str], start: int) -> int | None:
    """End of an attribution that a client wrapped over up to five lines, beginning at ``start``."""
    joined = lines[start].strip()
    if len(joined) > 160 or not _ATTRIBUTION_START.match(joined):
        return None
    unbalanced: int | None = None
    for end in range(start + 1, min(start + 5, len(lines))):
        piece = lines[end].strip()
        if len(piece) > 120 or _starts_own_attribution(piece):
            break
        joined = _join_wrapped(joined, piece)
        # Wrapping makes prose look like a header easily, so demand a time or an address.
        plausible = ("@" in joined or _TIME.search(joined)) and not any(c in joined for c in "?!")
        if plausible and _is_attribution(joined):
            if joined.count("<") <= joined.count(">"):
                return end + 1
            unbalanced = unbalanced or end + 1
    return unbalanced


def _starts_own_attribution(piece: str) -> bool:
    """Whether a would-be continuation line is rather the start of an attribution of its own."""
    if _ON_START.match(piece) and _DATE_OR_TIME.search(piece):
        return True
    if piece[:1].isdigit() and len(piece) > 25:
        return True
    # "info@x.org> wrote:" closes a bracket opened above; a balanced complete header stands alone.
    return piece.count("<") >= piece.count(">") and _is_attribution(piece)


def _attribution_end(lines: list[str], start: int) -> int | None:
    single = _is_attribution(lines[start])
    if single and lines[start].count("<") <= lines[start].count(">"):
        return start + 1
    # "... Some One <" continues on the next line: prefer the complete, bracket-balanced version.
    return _wrapped_attribution_end(lines, start) or (start + 1 if single else None)


def _classify(lines: list[str]) -> list[_Block]:
    """One block per line, except that wrapped attributions span all their lines."""
    code = _code_mask(lines)
    blocks: list[_Block] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        kind, stop = _Kind.TEXT, index + 1
        if _is_blank(line):
            kind = _Kind.BLANK
        elif code[index]:
            kind = _Kind.TEXT
        elif quote := _QUOTE_PREFIX.match(line):
            content = line[quote.end() :]
            kind = _Kind.BLANK if _is_blank(content) else _Kind.QUOTE
            if kind is _Kind.QUOTE and _is_attribution(content):
                kind = _Kind.ATTRIBUTION
        else:
            end = _attribution_end(lines, index)
            if end is not None:
                kind, stop = _Kind.ATTRIBUTION, end
            else:
                kind = next((k for k, test in _LINE_RULES if test(line)), _Kind.TEXT)
        blocks.append(_Block(kind, index, stop))
        index = stop
    return blocks


def _demote_quoted_attributions(blocks: list[_Block], lines: list[str]) -> None:
    # A quoted "On ... wrote:" nested inside a quote belongs to that quote, not to our reply.
    previous: _Kind | None = None
    for block in blocks:
        quoted = bool(_QUOTE_PREFIX.match(lines[block.start]))
        if block.kind is _Kind.ATTRIBUTION and quoted and previous is _Kind.QUOTE:
            block.kind = _Kind.QUOTE
        if block.kind is not _Kind.BLANK:
            previous = block.kind


def _demote_inline_devices(blocks: list[_Block]) -> None:
    # "Sent from my iPhone" ends a paragraph; the same words followed by more prose are prose.
    following: _Kind | None = None
    for block in reversed(blocks):
        if block.kind is _Kind.DEVICE and following is _Kind.TEXT:
            block.kind = _Kind.TEXT
        following = block.kind


def _field_run_end(blocks: list[_Block], start: int) -> int:
    """Index one past the run of field lines starting at ``blocks[start]``."""
    index = start
    while index < len(blocks):
        if blocks[index].kind is _Kind.FIELD:
            index += 1
            continue
        # A long Subject wraps onto one or two following lines that have no key of their own.
        wrapped = 0
        while wrapped < 2 and index + wrapped < len(blocks) and blocks[index + wrapped].kind is _Kind.TEXT:
            wrapped += 1
        after = index + wrapped
        if not wrapped or after >= len(blocks) or blocks[after].kind is not _Kind.FIELD:
            break
        index = after
    return index


def _is_header_block(keys: set[str]) -> bool:
    # Distinct keys, so that a Q&A list ("A: ...", Italian for "To:") does not pass for a header.
    return len(keys) >= 3 or (len(keys) >= 2 and bool(keys & _FROM_KEYS))


def _group_fields(blocks: list[_Block], lines: list[str]) -> list[_Block]:
    """Turn runs of field lines into header blocks, or back into text when they do not qualify."""
    grouped: list[_Block] = []
    index = 0
    while index < len(blocks):
        block = blocks[index]
        if block.kind is not _Kind.FIELD:
            grouped.append(block)
            index += 1
            continue
        end = _field_run_end(blocks, index)
        run = blocks[index:end]
        keys = {_field_key(lines[b.start]) or "" for b in run if b.kind is _Kind.FIELD}
        if _is_header_block(keys):
            # A recipient list wrapped after the last field ("To: Ann, Bob" + "<bob@x.org>") belongs to it.
            while end < len(blocks) and _is_address_tail(blocks[end], lines):
                end += 1
            grouped.append(_Block(_Kind.FIELDS, block.start, blocks[end - 1].stop))
        else:
            # No part of a run qualifies when the whole run does not: demote it all at once.
            for member in run:
                member.kind = _Kind.TEXT
            grouped.extend(run)
        index = end
    return grouped


def _is_address_tail(block: _Block, lines: list[str]) -> bool:
    return block.kind is _Kind.TEXT and bool(_ADDRESS_TAIL.match(lines[block.start]))


def _merge_runs(blocks: list[_Block]) -> list[_Block]:
    """Merge text and quote lines (with the blank lines between them) into paragraph-aware runs."""
    merged: list[_Block] = []
    blank: _Block | None = None
    for block in blocks:
        if block.kind is _Kind.BLANK:
            blank = blank or _Block(_Kind.BLANK, block.start, block.stop)
            blank.stop = block.stop
            continue
        last = merged[-1] if merged else None
        if last and last.kind is block.kind and block.kind in (_Kind.TEXT, _Kind.QUOTE):
            last.stop = block.stop
            last.paragraphs += 1 if blank else 0
        else:
            if blank:
                merged.append(blank)
            merged.append(block)
        blank = None
    if blank:
        merged.append(blank)
    return merged


class _Scan:
    """Walks the blocks once, deciding for each whether it belongs to the reply.

    With ``signatures=False`` the signature rules are off: delimiters, footers and device lines
    count as text the sender wrote, so only quoted history is removed.
    """

    def __init__(self, blocks: list[_Block], lines: list[str], *, signatures: bool = True) -> None:
        self.blocks = blocks
        self.lines = lines
        self.keep = [True] * len(blocks)
        self.seen_text = False
        self.steps = _STEPS if signatures else _QUOTATION_STEPS

    def run(self) -> list[bool]:
        for index, block in enumerate(self.blocks):
            if not self.keep[index]:
                continue
            if self.steps[block.kind](self, index):
                self.keep[index:] = [False] * (len(self.blocks) - index)
                break
        return self.keep

    def next(self, index: int, kind: _Kind | None = None) -> int | None:
        """Index of the next non-blank block after ``index``; None if there is none (or not of ``kind``)."""
        for candidate in range(index + 1, len(self.blocks)):
            found = self.blocks[candidate].kind
            if found is not _Kind.BLANK:
                return candidate if kind is None or found is kind else None
        return None

    def next_kind(self, index: int) -> _Kind | None:
        following = self.next(index)
        return None if following is None else self.blocks[following].kind

    # Each step returns True to cut: the block and everything after it are history or signature.

    def text(self, index: int) -> bool:
        self.seen_text = True
        return False

    def keep_as_is(self, index: int) -> bool:
        return False

    def drop(self, index: int) -> bool:
        self.keep[index] = False
        return False

    def cut(self, index: int) -> bool:
        return True

    def separator(self, index: int) -> bool:
        # Underscores before "From: ..." belong to that header; otherwise they open a footer.
        if self.next_kind(index) in _BOUNDARIES:
            return self.drop(index)
        return True

    def footer_separator(self, index: int) -> bool:
        # Quotation level: underscores still belong to a following header, but a footer stays.
        if self.next_kind(index) in _BOUNDARIES:
            return self.drop(index)
        return False

    def rule(self, index: int) -> bool:
        following = self.next_kind(index)
        if following is None or following in _BOUNDARIES:
            return self.drop(index)
        return False

    def quote(self, index: int) -> bool:
        # Quotes answered below are part of an inline reply; quotes ending the mail are history,
        # unless the mail has nothing else (then the quote is all the sender had to say).
        if self.next_kind(index) is _Kind.TEXT:
            return False
        return self.seen_text

    def boundary(self, index: int) -> bool:
        if self.seen_text:
            if self.blocks[index].kind is _Kind.ATTRIBUTION and self._answered_inline(index):
                return self.drop(index)
            return True
        # Nothing written yet: this is a bottom-posted reply or a bare forward. Drop the header,
        # and the quote right after it when the sender answered it once, below.
        self.keep[index] = False
        quote = self.next(index, _Kind.QUOTE)
        if quote is not None and self._answer(quote) is not None and not self._interleaved(quote):
            self.keep[quote] = False
        return False

    def _answer(self, quote: int) -> int | None:
        """The text block answering the quote at ``quote``, if it holds actual words."""
        answer = self.next(quote, _Kind.TEXT)
        if answer is None:
            return None
        block = self.blocks[answer]
        # Stray punctuation (a "<" left by a broken soft line break) answers nothing.
        words = any(char.isalnum() for line in self.lines[block.start : block.stop] for char in line)
        return answer if words else None

    def _interleaved(self, quote: int) -> bool:
        """Whether the answer to the quote at ``quote`` is itself followed by another quote."""
        answer = self._answer(quote)
        return answer is not None and self.next(answer, _Kind.QUOTE) is not None

    def _answered_inline(self, index: int) -> bool:
        """Whether the quote after this attribution is answered by a substantial reply below it.

        A single paragraph after the quote is far more often the quoted mail's footer or
        signature than an answer, so it takes two paragraphs or a further quote to count.
        """
        quote = self.next(index, _Kind.QUOTE)
        if quote is None:
            return False
        answer = self._answer(quote)
        if answer is None:
            return False
        return self.blocks[answer].paragraphs >= 2 or self._interleaved(quote)


_STEPS: dict[_Kind, Callable[[_Scan, int], bool]] = {
    _Kind.BLANK: _Scan.keep_as_is,
    _Kind.TEXT: _Scan.text,
    _Kind.QUOTE: _Scan.quote,
    _Kind.ATTRIBUTION: _Scan.boundary,
    _Kind.FIELDS: _Scan.boundary,
    _Kind.MARKER: _Scan.boundary,
    _Kind.FIELD: _Scan.text,  # never reached: lone fields are demoted to text
    _Kind.DELIMITER: _Scan.cut,
    _Kind.SEPARATOR: _Scan.separator,
    _Kind.RULE: _Scan.rule,
    _Kind.DEVICE: _Scan.drop,
}
# The quotation level: the same walk with the signature rules off. Signature lines are kept but, as
# at the reply level, do not count as something the sender wrote (a footer over a forward is no reply).
_QUOTATION_STEPS: dict[_Kind, Callable[[_Scan, int], bool]] = {
    **_STEPS,
    _Kind.DELIMITER: _Scan.keep_as_is,
    _Kind.SEPARATOR: _Scan.footer_separator,
    _Kind.DEVICE: _Scan.keep_as_is,
}


def trim_reply(text: str) -> TrimmedReply:
    """Split a plain-text reply into the new text and what was quoted, forwarded or signed.

    The rules are structural and multilingual: quote markers (``>``, supercite ``Name>``),
    attribution lines ("On ... wrote:", "Am ... schrieb", "Le ... a écrit", "... написал:", ...,
    also when wrapped over several lines), Outlook header blocks ("From:/Sent:/To:/Subject:" in
    many languages), "Original/Forwarded message" markers, signature delimiters (``--``,
    ``-- ``, underscores) and device footers ("Sent from my iPhone"). Quotes answered inline are
    kept; quotes that only trail the reply are removed.

    Args:
        text: The decoded ``text/plain`` body of the message.

    Returns:
        The new text and the elided rest. Every kept line is a line of ``text``; no non-whitespace
        character of ``text`` is lost between the two fields. ``reply_with_signature`` is the new
        text at the quotation level (signatures kept).
    """
    lines = _split_lines(text)
    blocks = _classify(lines)
    _demote_quoted_attributions(blocks, lines)
    _demote_inline_devices(blocks)
    blocks = _merge_runs(_group_fields(blocks, lines))
    kept, elided = _partition(blocks, lines, _Scan(blocks, lines).run())
    with_signature, _ = _partition(blocks, lines, _Scan(blocks, lines, signatures=False).run())
    return TrimmedReply(
        reply="\n".join(kept).strip(),
        elided="\n".join(elided).strip(),
        reply_with_signature="\n".join(with_signature).strip(),
    )


def _partition(blocks: list[_Block], lines: list[str], keep: list[bool]) -> tuple[list[str], list[str]]:
    """The kept and the elided lines for one decision per block."""
    kept: list[str] = []
    elided: list[str] = []
    for index, block in enumerate(blocks):
        beside_quote = block.kind is _Kind.BLANK and _beside_kept_quote(blocks, keep, index)
        for line in lines[block.start : block.stop]:
            # A line of bare quote markers (">") goes with the quote it borders, kept or not.
            bare_marker = block.kind is _Kind.BLANK and not _is_blank(line)
            (kept if keep[index] and (beside_quote or not bare_marker) else elided).append(line)
    return kept, elided


def _beside_kept_quote(blocks: list[_Block], keep: list[bool], index: int) -> bool:
    """Whether a kept quote directly precedes or follows the blank block at ``index``."""
    neighbours = (index - 1, index + 1)
    return any(0 <= i < len(blocks) and keep[i] and blocks[i].kind is _Kind.QUOTE for i in neighbours)


# --------------------------------------------------------------------------------------------------
# HTML: find where the quoted history starts, render both parts to text, then trim the text
# --------------------------------------------------------------------------------------------------

_VOID = frozenset(
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
        "track", "wbr",
    }
)  # fmt: skip
# Never displayed. <head> itself is not skipped: when a sloppy client leaves it open, the body
# ends up inside it, and the <meta>/<link> children it normally holds carry no text anyway.
_SKIPPED = frozenset({"script", "style", "title", "template", "xml"})
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "center", "dd", "div", "dl", "dt", "fieldset", "figure",
        "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "li", "main", "nav", "ol", "p", "pre",
        "section", "table", "tbody", "thead", "tfoot", "tr", "td", "th", "ul",
    }
)  # fmt: skip
# Start tags that implicitly close the element on top of the stack (a small part of the HTML
# parsing algorithm, enough for the sloppy markup mail clients produce).
_IMPLIED_CLOSE: dict[str, frozenset[str]] = {
    "p": frozenset({"p"}),
    "li": frozenset({"li", "p"}),
    "tr": frozenset({"tr", "td", "th", "p"}),
    "td": frozenset({"td", "th", "p"}),
    "th": frozenset({"td", "th", "p"}),
    **{tag: frozenset({"p"}) for tag in ("div", "blockquote", "table", "ul", "ol", "pre", "hr", "h1", "h2")},
}
# Containers mail clients wrap quoted history in. Outlook on the web prefixes copied class
# names with "x_" (older Hotmail: "ecx"), so those prefixes are ignored.
_QUOTE_CLASSES = frozenset(
    {
        "gmail_quote",
        "gmail_quote_container",
        "yahoo_quoted",
        "moz-cite-prefix",
        "moz-forward-container",
        "outlookmessageheader",
        "protonmail_quote",
        "zmail_extra",
        "mail-editor-reference-message-container",
    }
)
_QUOTE_IDS = frozenset({"divrplyfwdmsg", "olk_src_body_section", "stopspelling", "appendonsend"})
_BORDER_TOP = re.compile(r"border-top(?:-style)?\s*:[^;]*\bsolid", re.IGNORECASE)
_HTML_SPACE = re.compile(r"[ \t\n\r\f\v]+")
_HR_LINE = "_" * 32  # rendered like Outlook's plain-text separator, which the text rules know


@dataclass(slots=True)
class _Element:
    tag: str
    attrs: dict[str, str]
    children: list[_Element | str]


class _TreeBuilder(HTMLParser):
    """Builds a forgiving element tree with the standard library parser."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Element("#root", {}, [])
        self._stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        closes = _IMPLIED_CLOSE.get(tag, frozenset())
        while len(self._stack) > 1 and self._stack[-1].tag in closes:
            self._stack.pop()
        element = _Element(tag, {name: value or "" for name, value in attrs}, [])
        self._stack[-1].children.append(element)
        if tag not in _VOID:
            self._stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID and self._stack[-1].tag == tag:
            self._stack.pop()

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self._stack) - 1, 0, -1):
            if self._stack[depth].tag == tag:
                del self._stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self._stack[-1].children.append(data)


def _leading_text(element: _Element, limit: int = 200) -> str:
    """The first ``limit`` characters of an element's text, without recursion."""
    parts: list[str] = []
    pending: list[_Element | str] = [element]
    size = 0
    while pending and size < limit:
        node = pending.pop()
        if isinstance(node, str):
            parts.append(node)
            size += len(node)
        elif node.tag not in _SKIPPED:
            pending.extend(reversed(node.children))
    return _squash("".join(parts))


def _class_tokens(element: _Element) -> set[str]:
    tokens = set()
    for token in element.attrs.get("class", "").lower().split():
        for prefix in ("x_", "ecx"):
            token = token.removeprefix(prefix)
        tokens.add(token)
    return tokens


def _starts_history(element: _Element) -> bool:
    """Whether quoted history starts at this element (every later node belongs to it too)."""
    element_id = element.attrs.get("id", "").lower().removeprefix("x_")
    if element_id in _QUOTE_IDS or "yahoo_quoted" in element_id or _class_tokens(element) & _QUOTE_CLASSES:
        return True
    # Outlook and Windows Mail put the "From: ... Sent: ..." header in a div with a top border.
    if element.tag == "div" and _BORDER_TOP.search(element.attrs.get("style", "")):
        return _field_key(_leading_text(element)) is not None
    return False


class _Renderer:
    """Renders an element tree as plain text; blockquotes become "> " quoted lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.history_at: int | None = None  # index of the first line of quoted history
        self._parts: list[str] = []
        self._quote_depth = 0
        self._pre_depth = 0

    def render(self, root: _Element) -> None:
        pending: list[tuple[_Element | str, bool]] = [(root, True)]
        while pending:
            node, entering = pending.pop()
            if isinstance(node, str):
                self._write(node)
            elif entering and node.tag not in _SKIPPED:
                self._enter(node)
                pending.append((node, False))
                pending.extend((child, True) for child in reversed(node.children))
            elif not entering:
                self._leave(node)
        self._break_block()

    def _enter(self, element: _Element) -> None:
        if self.history_at is None and _starts_history(element):
            self._break_block()
            self.history_at = len(self.lines)
        tag = element.tag
        if tag == "br":
            self._end_line()
        elif tag == "hr":
            self._break_block()
            self.lines.append(_HR_LINE)
        elif tag in _BLOCKS:
            self._open_block(element)

    def _open_block(self, element: _Element) -> None:
        self._break_block()
        if element.tag == "p" and "msonormal" not in _class_tokens(element):
            self._blank_line()
        if element.tag == "blockquote":
            self._quote_depth += 1
        elif element.tag == "pre":
            self._pre_depth += 1
        elif element.tag == "li":
            self._parts.append("- ")

    def _leave(self, element: _Element) -> None:
        tag = element.tag
        if tag == "a":
            self._write_link_target(element)
        if tag not in _BLOCKS:
            return
        self._break_block()
        if tag == "blockquote":
            self._quote_depth = max(0, self._quote_depth - 1)
        elif tag == "pre":
            self._pre_depth = max(0, self._pre_depth - 1)
        elif tag == "p" and "msonormal" not in _class_tokens(element):
            # Outlook's MsoNormal paragraphs have no margins; real paragraphs are set apart.
            self._blank_line()

    def _write_link_target(self, element: _Element) -> None:
        # Keep the address of a link whose text hides it: agents need the URL a customer sent.
        href = element.attrs.get("href", "")
        text = _leading_text(element, limit=len(href) + 1)
        if href.startswith(("http://", "https://")) and href.rstrip("/") not in text:
            self._parts.append(f" ({href})")

    def _write(self, data: str) -> None:
        if self._pre_depth:
            head, *rest = data.split("\n")
            self._parts.append(head)
            for piece in rest:
                self._end_line()
                self._parts.append(piece)
            return
        text = _HTML_SPACE.sub(" ", data)
        if not self._parts or self._parts[-1].endswith(" "):
            text = text.lstrip(" ")
        if text:
            self._parts.append(text)

    def _end_line(self) -> None:
        content = "".join(self._parts).replace("\xa0", " ").rstrip()
        self._parts = []
        prefix = ">" * self._quote_depth
        self.lines.append(f"{prefix} {content}" if prefix and content else prefix + content)

    def _break_block(self) -> None:
        # A block holding only a no-break space is how Outlook writes an empty paragraph: a
        # visible blank line. Ordinary whitespace between tags is not.
        if "".join(self._parts).strip(" "):
            self._end_line()
        self._parts = []

    def _blank_line(self) -> None:
        if self.lines and self.lines[-1].strip(">"):
            self.lines.append(">" * self._quote_depth)


def _tidy(text: str) -> str:
    """Collapse the runs of blank lines that nested HTML blocks leave behind."""
    return re.sub(r"\n(?:[ \t]*\n){2,}", "\n\n", text).strip()


def trim_html_reply(html: str) -> TrimmedReply:
    """Split an HTML reply into the new text and what was quoted, forwarded or signed.

    Quoted history is recognised by the containers mail clients put it in (Gmail ``gmail_quote``,
    Outlook ``divRplyFwdMsg``/``OLK_SRC_BODY_SECTION`` and top-bordered header blocks, Thunderbird
    ``moz-cite-prefix``, Yahoo ``yahoo_quoted``, Hotmail ``stopSpelling``), by ``<blockquote>``
    (rendered as ``>`` quotes, so inline answers survive) and by ``<hr>`` separators. The rest is
    rendered as plain text and trimmed with the plain-text rules of :func:`trim_reply`.

    Args:
        html: The decoded ``text/html`` body of the message.

    Returns:
        The new text, as plain text, and the elided rest, also as plain text.
    """
    renderer = _render(html)
    cut = len(renderer.lines) if renderer.history_at is None else renderer.history_at
    before = "\n".join(renderer.lines[:cut])
    history = "\n".join(renderer.lines[cut:])
    trimmed = trim_reply(before)
    if not trimmed.reply and history.strip():
        # A bare forward: the history is all there is, so trim it like a forwarded plain mail.
        trimmed = trim_reply(f"{before}\n{history}")
        history = ""
    elided = "\n".join(part for part in (trimmed.elided, history) if part.strip())
    return TrimmedReply(
        reply=_tidy(trimmed.reply),
        elided=_tidy(elided),
        reply_with_signature=_tidy(trimmed.reply_with_signature),
    )


def _render(html: str) -> _Renderer:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    renderer = _Renderer()
    renderer.render(builder.root)
    return renderer


def html_to_text(html: str) -> str:
    """The whole of an HTML body as plain text (blockquotes as ``>`` quotes, link targets kept).

    The same rendering :func:`trim_html_reply` trims, for mail that has no ``text/plain`` part.
    """
    return _tidy("\n".join(_render(html).lines))
