"""Shared fixtures for the bot tests: the labelled sets, and lingua loaded once per session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conversation.bot.language import DEFAULT_LANGUAGES, detector_for
from tests.paths import LOCAL_FIXTURES, SHARED_FIXTURES

DEV_SET = SHARED_FIXTURES / "bot" / "dev_intents.jsonl"
EXTRA_SET = LOCAL_FIXTURES / "bot" / "extra_intents.jsonl"
LABELLED_SETS = {"dev": DEV_SET, "extra": EXTRA_SET}


def load_labelled(path: Path) -> list[dict[str, str | None]]:
    """The rows of a JSON-lines set of ``{"lang", "text", "intent", "order_number"}``."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(scope="session", autouse=True)
def lingua_loaded() -> None:
    """Load the language models once (about a second) instead of inside the first test that classifies."""
    detector_for(frozenset(DEFAULT_LANGUAGES))
