"""Score the email reply trimmer against the shared Discourse and talon fixtures, and time it."""

from __future__ import annotations

import argparse
import email
import json
import os
import platform
import re
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path

from connectors.email.trimming import TrimmedReply, trim_html_reply, trim_reply

HTML_EXPECTED = "Hi. I am fine.\n\nThanks,\nAlex"
STANDARD_DEFAULT = "Hello"
SMOKE_SIZE = 8
MIN_TIMING_SECONDS = 0.5
LABELS = {
    "discourse_exact": "Discourse, exact (reply level: quotes and signatures removed)",
    "talon_standard": "talon standard_replies, exact (quotation level: signatures kept)",
    "talon_html": "talon html_replies, whitespace-insensitive (quotation level)",
    "talon_standard_reply_level": "talon standard_replies, exact at the reply level (informative)",
    "talon_html_exact": "talon html_replies, exact at the quotation level (informative)",
}
#: Each oracle is scored on the level it measures. Discourse's expected texts drop signatures; talon's
#: fixtures test `quotations.extract_from_plain`/`extract_from_html`, which remove quoted history only
#: and keep signatures by design (talon's tests/text_quotations_test.py, `test_standard_replies`).
LEVEL_NOTE = (
    "levels: Discourse is scored on TrimmedReply.reply (quotes and signatures removed); talon's fixtures on\n"
    "TrimmedReply.reply_with_signature (quotes removed), because talon's own tests measure quotation\n"
    "extraction only (extract_from_plain/extract_from_html keep signatures)."
)


def shared_dir() -> Path:
    """The shared directory next to the repository (``../shared``), or ``$OMNIHUB_SHARED_DIR``."""
    override = os.environ.get("OMNIHUB_SHARED_DIR")
    return Path(override) if override else Path(__file__).resolve().parents[1].parent / "shared"


def email_fixtures() -> Path:
    return shared_dir() / "fixtures" / "email"


def normalise(text: str) -> str:
    """Line endings to ``\\n`` and surrounding whitespace removed, as upstream compares."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def squash_whitespace(text: str) -> str:
    """Remove all whitespace: the comparison talon uses for its HTML fixtures."""
    return re.sub(r"\s+", "", text)


@dataclass(frozen=True, slots=True)
class Case:
    """One input with its expected reply."""

    name: str
    text: str
    expected: str


def discourse_cases() -> list[Case]:
    """The 64 Discourse cases: ``emails/<name>.txt`` and the expected ``trimmed/<name>.txt``."""
    root = email_fixtures() / "discourse_email_reply_trimmer"
    return [
        Case(path.stem, read_text(path), read_text(root / "trimmed" / path.name))
        for path in sorted((root / "emails").glob("*.txt"))
    ]


def read_text(path: Path) -> str:
    # newline="" keeps CRLF endings as they are; the trimmer must cope with them itself.
    with path.open(encoding="utf-8", newline="") as handle:
        return handle.read()


def first_plain_part(message: EmailMessage) -> str:
    """The decoded content of the first ``text/plain`` part (charset fallbacks as in LIBRARIES.md)."""
    part = next((p for p in message.walk() if p.get_content_type() == "text/plain"), None)
    if part is None:
        return ""
    try:
        return str(part.get_content())
    except LookupError:
        payload = part.get_payload(decode=True)
        raw = payload if isinstance(payload, bytes) else b""
        return raw.decode(part.get_content_charset() or "latin-1", "replace")


def standard_cases() -> list[Case]:
    """talon's 12 client replies; the expected text is ``<client>_reply_text`` or ``Hello``."""
    root = email_fixtures() / "mailgun_talon" / "standard_replies"
    cases = []
    for path in sorted(root.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        expected_file = root / f"{path.stem}_reply_text"
        expected = read_text(expected_file) if expected_file.exists() else STANDARD_DEFAULT
        cases.append(Case(path.stem, first_plain_part(message), expected))
    return cases


def html_cases() -> list[Case]:
    """talon's HTML replies from nine clients; every one should give the same reply."""
    root = email_fixtures() / "mailgun_talon" / "html_replies"
    return [Case(path.stem, read_text(path), HTML_EXPECTED) for path in sorted(root.glob("*.html"))]


def first_difference(expected: str, actual: str) -> str:
    """A one-line description of the first line where ``actual`` departs from ``expected``."""
    want, got = expected.split("\n"), actual.split("\n")
    for number, (left, right) in enumerate(zip(want, got, strict=False), start=1):
        if left != right:
            return f"line {number}: expected {left!r}, got {right!r}"
    if len(want) > len(got):
        return f"line {len(got) + 1}: expected {want[len(got)]!r}, got end of reply"
    return f"line {len(want) + 1}: expected end of reply, got {got[len(want)]!r}"


@dataclass(slots=True)
class Score:
    """How many cases of one fixture set the trimmer gets right."""

    passed: int = 0
    total: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)


def reply_level(trimmed: TrimmedReply) -> str:
    """What an agent reads: quoted history and signatures removed."""
    return trimmed.reply


def quotation_level(trimmed: TrimmedReply) -> str:
    """Quoted history removed, signatures kept (what talon's fixtures measure)."""
    return trimmed.reply_with_signature


def score(
    cases: Iterable[Case],
    trim: Callable[[str], TrimmedReply],
    same: Callable[[str, str], bool],
    level: Callable[[TrimmedReply], str] = reply_level,
) -> Score:
    result = Score()
    for case in cases:
        actual = normalise(level(trim(case.text)))
        expected = normalise(case.expected)
        result.total += 1
        if same(expected, actual):
            result.passed += 1
        else:
            result.failures.append(
                {"name": case.name, "first_difference": first_difference(expected, actual)}
            )
    return result


def exact(expected: str, actual: str) -> bool:
    return expected == actual


def whitespace_insensitive(expected: str, actual: str) -> bool:
    return squash_whitespace(expected) == squash_whitespace(actual)


def throughput(texts: list[str], htmls: list[str]) -> float:
    """Emails per second over all inputs, repeated until the measurement is long enough."""
    runs, started = 0, time.perf_counter()
    while True:
        for text in texts:
            trim_reply(text)
        for html in htmls:
            trim_html_reply(html)
        runs += 1
        elapsed = time.perf_counter() - started
        if elapsed >= MIN_TIMING_SECONDS:
            return runs * (len(texts) + len(htmls)) / elapsed


def report(name: str, result: Score) -> None:
    print(f"{name}: {result.passed}/{result.total}")
    for failure in result.failures:
        print(f"  FAIL {failure['name']}: {failure['first_difference']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.email_trimming",
        description="Score connectors.email.trimming on the shared email fixtures and measure throughput.",
    )
    parser.add_argument("--smoke", action="store_true", help=f"only the first {SMOKE_SIZE} cases of each set")
    parser.add_argument("--json", metavar="PATH", type=Path, help="also write the figures as JSON to PATH")
    args = parser.parse_args(argv)
    if not email_fixtures().is_dir():
        parser.error(
            f"no email fixtures at {email_fixtures()} (set OMNIHUB_SHARED_DIR to the shared directory)"
        )

    limit = SMOKE_SIZE if args.smoke else None
    discourse = discourse_cases()[:limit]
    standard = standard_cases()[:limit]
    html = html_cases()[:limit]
    results = {
        "discourse_exact": score(discourse, trim_reply, exact),
        "talon_standard": score(standard, trim_reply, exact, quotation_level),
        "talon_html": score(html, trim_html_reply, whitespace_insensitive, quotation_level),
        "talon_standard_reply_level": score(standard, trim_reply, exact),
        "talon_html_exact": score(html, trim_html_reply, exact, quotation_level),
    }
    print(LEVEL_NOTE)
    for name, result in results.items():
        report(LABELS[name], result)
    rate = throughput([c.text for c in discourse + standard], [c.text for c in html])
    print(f"throughput: {rate:,.0f} emails/s")

    if args.json:
        figures = {
            "command": "python -m bench.email_trimming" + (" --smoke" if args.smoke else ""),
            "python": platform.python_version(),
            "fixtures": str(email_fixtures()),
            "throughput_emails_per_s": round(rate),
            **{name: asdict(result) for name, result in results.items()},
        }
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
