"""The widget script stays small, renders only text, and speaks every language it promises."""

from __future__ import annotations

import re
from pathlib import Path

import connectors.webchat

SCRIPT = (Path(connectors.webchat.__file__).parent / "static" / "widget.js").read_text(encoding="utf-8")


def _minified_equivalent(source: str) -> str:
    """Without comments and indentation: roughly what a minifier keeps (names stay as they are)."""
    source = re.sub(r"/\*.*?\*/", "", source, flags=re.S)
    lines = (re.sub(r"^\s+|\s*//\s.*$", "", line) for line in source.splitlines())
    return "\n".join(line for line in lines if line)


def test_under_30_kb() -> None:
    assert len(_minified_equivalent(SCRIPT).encode()) < 30 * 1024


def test_message_content_is_only_ever_text() -> None:
    code = _minified_equivalent(SCRIPT)
    assert "innerHTML" not in code and "insertAdjacentHTML" not in code and "document.write" not in code
    assert "eval(" not in code and "new Function" not in code


def test_every_language_has_every_string() -> None:
    keys = re.search(r"var K = \[(.*?)\];", SCRIPT, flags=re.S)
    assert keys is not None
    count = len(re.findall(r'"[^"]*"', keys.group(1)))
    for lang in ("en", "nl", "da", "de", "ru", "es", "fr", "pt"):
        row = re.search(rf"^\s+{lang}: \[(.*)\],?$", SCRIPT, flags=re.M)
        assert row is not None, lang
        assert len(re.findall(r'"(?:[^"\\]|\\.)*"', row.group(1))) == count, lang


def test_the_page_api_of_the_contract() -> None:
    for method in ("open:", "close:", "send:", "setUser:", "on:"):
        assert method in SCRIPT
    assert "window.Omnihub = api" in SCRIPT and "attachShadow" in SCRIPT
