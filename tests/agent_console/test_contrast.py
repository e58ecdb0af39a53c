"""WCAG AA contrast of the console's colour tokens, in the light and the dark theme.

Text needs 4.5:1 against what it is drawn on; icons, input borders and focus rings need 3:1
(WCAG 2.2, 1.4.3 and 1.4.11). The pairs below are the ones the stylesheet actually draws.
"""

from __future__ import annotations

import re

import pytest

from tests.paths import REPO

CSS = (REPO / "agent_console" / "static" / "console.css").read_text()

TEXT_PAIRS = [
    *[("text", bg) for bg in ("bg", "bg-subtle", "bg-muted", "bg-hover", "bg-selected", "in-bg", "out-bg",
                              "note-bg", "bot-bg", "warn-soft", "danger-soft", "ok-soft", "accent-soft")],
    *[("text-muted", bg) for bg in ("bg", "bg-subtle", "bg-muted", "bg-hover", "bg-selected")],
    *[("text-faint", bg) for bg in ("bg", "bg-subtle", "bg-hover", "bg-selected")],
    ("accent-fg", "accent"), ("accent-fg", "accent-hover"),
    *[("accent-text", bg) for bg in ("bg", "bg-subtle", "accent-soft", "bg-selected")],
    ("note-text", "note-bg"), ("note-bg", "note-text"), ("bot-text", "bot-bg"),
    ("danger", "bg"), ("danger", "danger-soft"), ("warn", "warn-soft"), ("warn", "bg"), ("ok", "ok-soft"),
    ("pr-urgent", "danger-soft"), ("pr-high", "warn-soft"), ("pr-medium", "warn-soft"), ("pr-low", "ok-soft"),
    ("pr-urgent", "bg"), ("pr-high", "bg"), ("pr-medium", "bg"), ("pr-low", "bg"),
    ("bg", "text"),  # toasts
]  # fmt: skip
GRAPHIC_PAIRS = [
    *[(f"ch-{kind}", bg) for kind in ("email", "webchat", "sms", "whatsapp", "telegram", "messenger", "slack", "api")
      for bg in ("bg", "bg-subtle", "bg-selected")],
    ("border-strong", "bg"), ("focus", "bg"), ("focus", "bg-subtle"), ("accent", "bg"), ("ok", "bg"),
]  # fmt: skip
WHITE_ON = [f"av-{n}" for n in range(8)]


def _block(selector: str) -> dict[str, str]:
    match = re.search(re.escape(selector) + r"\s*\{(.*?)\n\}", CSS, re.S)
    assert match, f"no {selector} block in console.css"
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", match.group(1)))


LIGHT = _block(":root")
DARK = {**LIGHT, **_block(':root[data-theme="dark"]')}


def luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_text_colours_meet_aa(theme: str) -> None:
    tokens = LIGHT if theme == "light" else DARK
    failing = [
        f"{fg} on {bg}: {contrast(tokens[fg], tokens[bg]):.2f}"
        for fg, bg in TEXT_PAIRS
        if contrast(tokens[fg], tokens[bg]) < 4.5
    ]
    failing += [f"white on {bg}" for bg in WHITE_ON if contrast("#ffffff", tokens[bg]) < 4.5]
    assert failing == []


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_icons_borders_and_focus_rings_meet_aa(theme: str) -> None:
    tokens = LIGHT if theme == "light" else DARK
    failing = [
        f"{fg} on {bg}: {contrast(tokens[fg], tokens[bg]):.2f}"
        for fg, bg in GRAPHIC_PAIRS
        if contrast(tokens[fg], tokens[bg]) < 3.0
    ]
    assert failing == []


def test_search_highlights_are_readable() -> None:
    assert contrast("#1a1400", "#ffe58f") >= 4.5 and contrast("#fff8dc", "#8a6d00") >= 4.5
    assert contrast("#ffffff", LIGHT["danger"]) >= 4.5 and contrast("#1a0000", DARK["danger"]) >= 4.5
