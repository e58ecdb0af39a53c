"""Tests for the email reply trimmer: fixture oracles, content preservation, languages and properties."""

# Samples are multilingual: Cyrillic and CJK letters and fullwidth punctuation are intended.
# ruff: noqa: RUF001

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.email_trimming import (
    Case,
    discourse_cases,
    email_fixtures,
    exact,
    html_cases,
    normalise,
    quotation_level,
    score,
    standard_cases,
    whitespace_insensitive,
)
from connectors.email.trimming import TrimmedReply, trim_html_reply, trim_reply

# Cases we do not pass, each with the reason. They are asserted to still fail, so a fix forces an
# update here and nothing is skipped silently. (None at the level each oracle measures.)
KNOWN_FAILURES: dict[str, str] = {}

# The scores recorded in bench/RESULTS.md; the score test fails if a change lowers one of them.
# Discourse is scored on `reply` (quotes and signatures removed); talon's sets on `reply_with_signature`
# (quotes removed only), because talon's own tests measure quotation extraction, which keeps signatures.
RECORDED_SCORES = {"discourse": 64, "standard": 12, "html": 9}

DISCOURSE = {f"discourse/{case.name}": case for case in discourse_cases()}
STANDARD = {f"standard/{case.name}": case for case in standard_cases()}
HTML = {f"html/{case.name}": case for case in html_cases()}
MAIL_PARSER_REPLY = sorted((email_fixtures() / "mail_parser_reply" / "emails").glob("*.txt"))


def check_case(case_id: str, actual: str, expected: str, *, whitespace_matters: bool = True) -> None:
    same = exact if whitespace_matters else whitespace_insensitive
    if case_id in KNOWN_FAILURES:
        assert not same(normalise(expected), normalise(actual)), (
            f"{case_id} passes now: update KNOWN_FAILURES"
        )
    else:
        assert normalise(actual) == normalise(expected) if whitespace_matters else same(expected, actual)


@pytest.mark.parametrize("case_id", sorted(DISCOURSE))
def test_discourse_case(case_id: str) -> None:
    case = DISCOURSE[case_id]
    check_case(case_id, trim_reply(case.text).reply, case.expected)


@pytest.mark.parametrize("case_id", sorted(STANDARD))
def test_talon_standard_case(case_id: str) -> None:
    case = STANDARD[case_id]
    check_case(case_id, trim_reply(case.text).reply_with_signature, case.expected)


@pytest.mark.parametrize("case_id", sorted(HTML))
def test_talon_html_case(case_id: str) -> None:
    case = HTML[case_id]
    check_case(case_id, trim_html_reply(case.text).reply_with_signature, case.expected, whitespace_matters=False)


def test_the_two_levels_differ_only_by_the_signature() -> None:
    # talon's iphone and sparrow replies keep their signature at the quotation level; an agent reads
    # them without it, as the Discourse oracle (signatures, usenet, embedded_email_polish_1) wants.
    iphone, sparrow = STANDARD["standard/iphone"], STANDARD["standard/sparrow"]
    assert trim_reply(iphone.text).reply == "Hello"
    assert trim_reply(iphone.text).reply_with_signature == "Hello\n\nSent from my iPhone"
    assert trim_reply(sparrow.text).reply == "Hello"
    assert trim_reply(sparrow.text).reply_with_signature.endswith("-- \nxxx\nSent with Sparrow (http://www.sparrowmailapp.com/?sig)")


def test_known_failures_name_existing_cases() -> None:
    assert set(KNOWN_FAILURES) <= DISCOURSE.keys() | STANDARD.keys() | HTML.keys()


def test_scores_do_not_drop() -> None:
    assert score(DISCOURSE.values(), trim_reply, exact).passed >= RECORDED_SCORES["discourse"]
    standard = score(STANDARD.values(), trim_reply, exact, quotation_level)
    assert standard.passed >= RECORDED_SCORES["standard"]
    html = score(HTML.values(), trim_html_reply, whitespace_insensitive, quotation_level)
    assert html.passed >= RECORDED_SCORES["html"]


# --- nothing is lost ------------------------------------------------------------------------------


def non_whitespace(text: str) -> Counter[str]:
    return Counter(re.sub(r"\s", "", text))


def assert_text_preserved(text: str, trimmed: TrimmedReply) -> None:
    assert non_whitespace(trimmed.reply + trimmed.elided) == non_whitespace(text)


class VisibleText(HTMLParser):
    """The text a reader sees in an HTML document (what the trimmer must not lose)."""

    hidden_tags = frozenset({"script", "style", "title", "template", "xml"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hidden += tag in self.hidden_tags

    def handle_endtag(self, tag: str) -> None:
        self.hidden -= tag in self.hidden_tags and self.hidden > 0

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


def assert_html_preserved(html: str, trimmed: TrimmedReply) -> None:
    missing = non_whitespace(visible_text(html)) - non_whitespace(trimmed.reply + trimmed.elided)
    assert not missing


@pytest.mark.parametrize("case", [*DISCOURSE.values(), *STANDARD.values()], ids=lambda case: case.name)
def test_reply_and_elided_keep_all_text(case: Case) -> None:
    assert_text_preserved(case.text, trim_reply(case.text))


@pytest.mark.parametrize(
    "path",
    [*sorted((email_fixtures() / "mailgun_talon").rglob("*.html"))],
    ids=lambda path: path.name,
)
def test_html_reply_and_elided_keep_all_text(path: Path) -> None:
    html = path.read_text(encoding="utf-8")
    assert_html_preserved(html, trim_html_reply(html))


def test_trimmed_reply_is_frozen() -> None:
    trimmed = trim_reply("Hello")
    with pytest.raises(dataclasses.FrozenInstanceError):
        trimmed.reply = "changed"  # type: ignore[misc]


# --- robustness on other real replies ---------------------------------------------------------------

# For the non-English samples: (fragments of the quoted header that must be gone, a phrase of the
# new text that must stay).
NON_ENGLISH = {
    "email_3_1": (("schrieb John Doe",), "First reply."),
    "email_danish_1": (("skrev Peter Petersen",), "Tak for din mail"),
    "email_danish_2": (("Fra: Hanne Hansen", "Emne:"), "Jeg har modtaget filerne"),
    "email_danish_3": (("skrev Peter Petersen",), "Svar."),
    "email_danish_4": (("Oprindelig meddelelse", "Fra: Peter"), "Svar."),
    "email_ja_1_2": (("田中太郎 <taro.tanaka@example.com>:",), "お世話になっております"),
    "email_nl_1_2": (("*Van:*", "*Onderwerp:*"), "Outlook met een antwoord"),
    "email_pl_1_1": (("Od: Jan Kowalski", "Wysłano:"), "Jak się masz?"),
    "email_pl_1_2": (("Od: Jan Kowalski", "napisał(a):"), "Jak się masz?"),
    "email_pl_1_3": (("Od: Jan Kowalski", "Wysłano:"), "Cześć Anno"),
    "email_sv_anon_1": (("skrev Person B",), "Berättar gärna"),
    "email_swedish_1": (("skrev Person A",), "Ursäkta mitt sena svar"),
    "email_swedish_2": (("skrev:",), "It's amazing"),
    "multiline_on_de": (("schrieb",), "Am heutigen Tage"),
}


@pytest.mark.parametrize("path", MAIL_PARSER_REPLY, ids=lambda path: path.stem)
def test_mail_parser_reply_samples(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    trimmed = trim_reply(text)
    assert_text_preserved(text, trimmed)
    if path.stem in NON_ENGLISH:
        gone, kept = NON_ENGLISH[path.stem]
        assert kept in trimmed.reply
        for fragment in gone:
            assert fragment not in trimmed.reply


def test_non_english_samples_exist() -> None:
    assert set(NON_ENGLISH) <= {path.stem for path in MAIL_PARSER_REPLY}


# --- rules, language by language ----------------------------------------------------------------------

REPLY = "Yes, Monday works.\n\nBob"
ATTRIBUTIONS = {
    "en": "On Mon, Jan 6, 2025 at 9:15 AM, Ann Smith <ann@example.com> wrote:",
    "en-thunderbird": "On 06/01/2025 09:15, Ann Smith wrote:",
    "en-wrapped": "On Mon, Jan 6, 2025 at 9:15 AM Ann Smith <\nann@example.com> wrote:",
    "nl": "Op ma 6 jan. 2025 om 09:15 schreef Ann Smith <ann@example.com>:",
    "nl-apple": "Op 6 jan. 2025 om 09:15 heeft Ann Smith <ann@example.com> het volgende geschreven:",
    "da": "Den man. 6. jan. 2025 kl. 09.15 skrev Ann Smith <ann@example.com>:",
    "de": "Am Mo., 6. Jan. 2025 um 09:15 Uhr schrieb Ann Smith <ann@example.com>:",
    "de-thunderbird": "Am 06.01.25 um 09:15 schrieb Ann Smith:",
    "de-wrapped": "Ann Smith <ann@example.com> schrieb am Mo., 6. Jan.\n2025, 09:15:",
    "ru": "6 января 2025 г., в 09:15, Ann Smith написал:",
    "ru-gmail": "пн, 6 янв. 2025 г. в 09:15, Ann Smith <ann@example.com>:",
    "es": "El lun, 6 ene 2025 a las 9:15, Ann Smith (<ann@example.com>) escribió:",
    "fr": "Le lun. 6 janv. 2025 à 09:15, Ann Smith <ann@example.com> a écrit :",
    "fr-wrapped": "Le lun. 6 janv. 2025 à 09:15, Ann Smith\n<ann@example.com>\na écrit :",
    "pt": "Em seg., 6 de jan. de 2025 às 09:15, Ann Smith <ann@example.com> escreveu:",
    "it": "Il giorno lun 6 gen 2025 alle ore 09:15 Ann Smith <ann@example.com> ha scritto:",
    "sv": "Den mån 6 jan. 2025 kl 09:15 skrev Ann Smith <ann@example.com>:",
    "no": "man. 6. jan. 2025 kl. 09:15 skrev Ann Smith <ann@example.com>:",
    "pl": "pon., 6 sty 2025 o 09:15 Ann Smith <ann@example.com> napisał(a):",
    "pl-thunderbird": "W dniu 6.01.2025 o 09:15, Ann Smith pisze:",
    "uk": "пн, 6 січ. 2025 р. о 09:15 Ann Smith <ann@example.com> пише:",
    "zh": "在 2025年1月6日 周一 09:15，Ann Smith <ann@example.com> 写道：",
    "ja": "2025年1月6日(月) 9:15 Ann Smith <ann@example.com>:",
    "cs": "Dne po 6. 1. 2025 9:15 Ann Smith <ann@example.com> napsal(a):",
}


@pytest.mark.parametrize("language", sorted(ATTRIBUTIONS))
@pytest.mark.parametrize("quoted", [True, False], ids=["quoted", "unquoted"])
def test_attribution_ends_the_reply(language: str, quoted: bool) -> None:
    history = "> Can you ship on Monday?\n> Ann" if quoted else "Can you ship on Monday?\nAnn"
    text = f"{REPLY}\n\n{ATTRIBUTIONS[language]}\n\n{history}\n"
    trimmed = trim_reply(text)
    assert trimmed.reply == REPLY
    assert trimmed.elided.startswith(ATTRIBUTIONS[language].split("\n")[0])


HEADER_BLOCKS = {
    "en": ("From: Ann", "Sent: Monday, January 6, 2025 9:15 AM", "To: Bob", "Subject: Order"),
    "de": ("Von: Ann", "Gesendet: Montag, 6. Januar 2025 09:15", "An: Bob", "Betreff: Bestellung"),
    "fr": ("De : Ann", "Envoyé : lundi 6 janvier 2025 09:15", "À : Bob", "Objet : Commande"),
    "es": ("De: Ann", "Enviado el: lunes, 6 de enero de 2025 9:15", "Para: Bob", "Asunto: Pedido"),
    "pt": ("De: Ann", "Enviado: segunda-feira, 6 de janeiro de 2025 09:15", "Para: Bob", "Assunto: Pedido"),
    "nl": ("Van: Ann", "Verzonden: maandag 6 januari 2025 09:15", "Aan: Bob", "Onderwerp: Bestelling"),
    "da": ("Fra: Ann", "Sendt: 6. januar 2025 09:15", "Til: Bob", "Emne: Ordre"),
    "ru": ("От: Ann", "Отправлено: 6 января 2025 г. 9:15", "Кому: Bob", "Тема: Заказ"),
    "it": ("Da: Ann", "Inviato: lunedì 6 gennaio 2025 09:15", "A: Bob", "Oggetto: Ordine"),
    "sv": ("Från: Ann", "Skickat: den 6 januari 2025 09:15", "Till: Bob", "Ämne: Order"),
    "pl": ("Od: Ann", "Wysłano: poniedziałek, 6 stycznia 2025 09:15", "Do: Bob", "Temat: Zamówienie"),
    "uk": ("Від: Ann", "Надіслано: 6 січня 2025 р. 9:15", "Кому: Bob", "Тема: Замовлення"),
    "zh": ("发件人: Ann", "发送时间: 2025年1月6日 9:15", "收件人: Bob", "主题: 订单"),
}


@pytest.mark.parametrize("language", sorted(HEADER_BLOCKS))
@pytest.mark.parametrize(
    "separator", ["", "________________________________\n", "-----Original Message-----\n"]
)
def test_outlook_header_block_ends_the_reply(language: str, separator: str) -> None:
    fields = "\n".join(HEADER_BLOCKS[language])
    trimmed = trim_reply(f"Yes, Monday works.\n\n{separator}{fields}\n\nCan you ship on Monday?\n")
    assert trimmed.reply == "Yes, Monday works."


@pytest.mark.parametrize(
    "marker",
    [
        "-----Ursprüngliche Nachricht-----",
        "-----Message d'origine-----",
        "-----Mensaje original-----",
        "-----Mensagem original-----",
        "-----Oorspronkelijk bericht-----",
        "-----Oprindelig meddelelse-----",
        "-----Исходное сообщение-----",
        "---------- Forwarded message ---------",
        "---------- Weitergeleitete Nachricht ---------",
        "Begin forwarded message:",
        "Début du message réexpédié :",
    ],
)
def test_original_and_forward_markers_end_the_reply(marker: str) -> None:
    assert trim_reply(f"See below.\n\n{marker}\nThe old mail.\n").reply == "See below."


def test_forward_without_comment_keeps_the_forwarded_text() -> None:
    header = "---------- Forwarded message ---------\nFrom: Ann <ann@example.com>\nDate: Mon\nTo: Bob"
    assert trim_reply(f"{header}\n\nThe order.").reply == "The order."


@pytest.mark.parametrize(
    "footer",
    [
        "Sent from my iPhone",
        "Sent from my Samsung Galaxy, please excuse typos",
        "Enviado desde mi iPhone",
        "Enviado do meu iPhone",
        "Envoyé de mon iPhone",
        "Von meinem iPhone gesendet",
        "Verstuurd vanaf mijn iPhone",
        "Sendt fra min iPhone",
        "Skickat från min iPhone",
        "Inviato da iPhone",
        "Отправлено с iPhone",
        "发自我的iPhone",
        "Get Outlook for Android",
    ],
)
def test_device_footers_are_removed(footer: str) -> None:
    trimmed = trim_reply(f"Thanks!\n\n{footer}\n")
    assert trimmed.reply == "Thanks!"
    assert trimmed.elided == footer


@pytest.mark.parametrize(
    "prose",
    [
        "Sent from my desk, which is much easier than my phone.",
        "Sent from a friend of mine.",
        "Greetings from Windows support",
        "Sent from my iPhone on Monday and it never arrived",
    ],
)
def test_prose_that_resembles_a_footer_is_kept(prose: str) -> None:
    assert trim_reply(f"Hello\n\n{prose}").reply == f"Hello\n\n{prose}"


@pytest.mark.parametrize("delimiter", ["--", "-- ", "________________________________"])
def test_signature_delimiters_end_the_reply(delimiter: str) -> None:
    trimmed = trim_reply(f"Thanks!\n{delimiter}\nBob Smith\nACME Corp")
    assert trimmed.reply == "Thanks!"
    assert "Bob Smith" in trimmed.elided


def test_dashes_inside_a_sentence_are_not_a_delimiter() -> None:
    text = "Here is a fix -- not a signature.\n\nkthxbai"
    assert trim_reply(text).reply == text


def test_inline_answers_keep_their_quotes() -> None:
    text = (
        "Hi Ann,\n\nOn Mon, Jan 6, 2025 at 9:15 AM, Ann <ann@example.com> wrote:\n"
        "> Can you ship on Monday?\n\nYes.\n\n> And the invoice?\n\nAttached.\n\nBob"
    )
    assert trim_reply(text).reply == text.replace(
        "On Mon, Jan 6, 2025 at 9:15 AM, Ann <ann@example.com> wrote:\n", ""
    )


def test_a_forward_header_with_a_wrapped_recipient_list_is_all_header() -> None:
    # Thunderbird wraps "To:" after a name; the address on its own line still belongs to the header.
    text = (
        "-------- Forwarded Message --------\nSubject: Order\nDate: Thu, 9 Jan 2020 16:24:28 +0100\n"
        "From: Nikola <nikola@example.cz>\nTo: John Smith <john@example.cz>, Jiri Houdek\n<jiri@example.cz>\n\n"
        "Please change the order."
    )
    assert trim_reply(text).reply == "Please change the order."


def test_bottom_posted_reply_drops_the_quote_above() -> None:
    text = "On 06/01/2025 09:15, Ann wrote:\n> Can you ship on Monday?\n\nYes, Monday works."
    assert trim_reply(text).reply == "Yes, Monday works."


def test_quote_only_message_keeps_the_quote() -> None:
    assert trim_reply("> Only a quote.").reply == "> Only a quote."


def test_fenced_code_is_never_a_quote_or_delimiter() -> None:
    text = "Try this:\n\n```\n> not a quote\n--\n____\n```\n\nDoes it work?"
    assert trim_reply(text).reply == text


def test_supercite_quotes_are_quotes() -> None:
    assert trim_reply("Agreed.\n\nAnn> Shall we ship?\nAnn> Monday?").reply == "Agreed."


def test_line_endings_are_normalised() -> None:
    assert trim_reply("One\r\nTwo\rThree\r\n").reply == "One\nTwo\nThree"


def test_empty_input() -> None:
    assert trim_reply("") == TrimmedReply(reply="", elided="", reply_with_signature="")
    assert trim_html_reply("") == TrimmedReply(reply="", elided="", reply_with_signature="")


# --- HTML ---------------------------------------------------------------------------------------------


def test_html_blockquote_answered_inline_is_kept() -> None:
    html = "<div>Hi</div><blockquote type='cite'>Ship Monday?</blockquote><div>Yes.</div><div>Bob</div>"
    assert trim_html_reply(html).reply == "Hi\n> Ship Monday?\nYes.\nBob"


def test_html_forward_without_comment_keeps_the_forwarded_text() -> None:
    html = (
        '<div class="gmail_quote"><div>---------- Forwarded message ---------<br>From: Ann &lt;a@b.c&gt;'
        "<br>Date: Mon<br>To: Bob</div><br><div>The order.</div></div>"
    )
    assert trim_html_reply(html).reply == "The order."


def test_html_is_rendered_as_text() -> None:
    html = (
        "<html><head><title>t</title><style>p{}</style></head><body><p>One &amp; two</p>"
        "<ul><li>a</li><li>b</li></ul><p>See <a href='https://example.com/x'>this page</a></p>"
        "<pre>  keep\n  spacing</pre></body></html>"
    )
    expected = "One & two\n\n- a\n- b\n\nSee this page (https://example.com/x)\n\n  keep\n  spacing"
    assert trim_html_reply(html).reply == expected


def test_html_without_closing_head_keeps_its_body_text() -> None:
    assert trim_html_reply("<html><head><meta charset='utf-8'><body><div>Hello</div>").reply == "Hello"


# --- properties ---------------------------------------------------------------------------------------

FRAGMENTS = [
    "Thanks, that works.",
    "",
    "  ",
    "> quoted line",
    ">",
    "> > nested",
    "C> supercite",
    "On Mon, 6 Jan 2025 at 09:15, Ann <ann@example.com> wrote:",
    "On Mon, 6 Jan 2025 at 09:15, Ann <",
    "ann@example.com> wrote:",
    "Am 06.01.25 um 09:15 schrieb Ann:",
    "2016-03-03 17:21 GMT+01:00 Ann",
    "-- ",
    "--",
    "______",
    "-----",
    "-----Original Message-----",
    "Begin forwarded message:",
    "Sent from my iPhone",
    "From: Ann",
    "Sent: Monday",
    "To: Bob",
    "Subject: x",
    "```",
    "    code",
    "<",
    "\r",
    "\u1427",
    "\ufeff",
]
emailish = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=30)), max_size=40).map("\n".join)
htmlish = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "<div>", "</div>", "<p>", "</p>", "<br>", "<hr>", "<blockquote>", "</blockquote>",
                '<div class="gmail_quote">', '<div id="divRplyFwdMsg">', '<div style="border-top:solid 1px">',
                "<pre>", "</pre>", "<ul><li>", "</li></ul>", "<a href='https://x.example'>", "</a>",
                "<table><tr><td>", "</td></tr></table>", "From: Ann<br>Sent: Mon<br>To: Bob",
                "On Mon, 6 Jan 2025 at 09:15, Ann <ann@example.com> wrote:", "&nbsp;", "&lt;",
            ]
        ),
        st.text(alphabet=st.characters(blacklist_characters="<>&"), max_size=20),
    ),
    max_size=40,
).map("".join)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(), emailish))
def test_trim_reply_properties(text: str) -> None:
    trimmed = trim_reply(text)
    assert_text_preserved(text, trimmed)
    assert trimmed.reply == trimmed.reply.strip()
    for line in trimmed.reply.split("\n") + trimmed.reply_with_signature.split("\n"):
        assert line in text
    # Turning the signature rules off never removes more.
    assert non_whitespace(trimmed.reply) <= non_whitespace(trimmed.reply_with_signature)


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(), htmlish))
def test_trim_html_reply_properties(html: str) -> None:
    trimmed = trim_html_reply(html)
    assert_html_preserved(html, trimmed)
    assert trimmed.reply == trimmed.reply.strip()
