"""Where the read-only shared fixtures live (../shared next to the repo, or OMNIHUB_SHARED_DIR)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("OMNIHUB_SHARED_DIR") or REPO.parent / "shared")
SHARED_FIXTURES = SHARED / "fixtures"
LOCAL_FIXTURES = REPO / "tests" / "fixtures"
