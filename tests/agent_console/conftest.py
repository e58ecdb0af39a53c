"""Console tests talk to the hub over plain http, so its cookies must not be marked Secure."""

from __future__ import annotations

import pytest

from hub.config import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The root settings with an http public URL (a Secure cookie would never come back over http)."""
    return settings.model_copy(update={"public_url": "http://hub.example.com"})
