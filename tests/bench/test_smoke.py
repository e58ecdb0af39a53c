"""Every benchmark still runs: its `--smoke` size, checked for sane figures (how CI exercises bench/).

The benches that need PostgreSQL + Redis (and `wrk` for ingest) skip with the reason when those are not
reachable. Figures are not asserted against goals here (a smoke run is too small and CI machines vary);
correctness checks are: nothing missed, nothing sent twice, statement budgets kept.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from bench.common import PG_ADMIN, REDIS

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def _need_services() -> None:
    if not _reachable(PG_ADMIN, 5432):
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN} (OMNIHUB_BENCH_PG)")
    if not _reachable(REDIS, 6379):
        pytest.skip(f"Redis not reachable at {REDIS} (OMNIHUB_BENCH_REDIS)")


def _run(name: str, tmp_path: Path, *args: str, timeout: float = 180) -> dict[str, Any]:
    out = tmp_path / f"{name}.json"
    result = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", "--smoke", "--json", str(out), *args],
        cwd=REPO, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return dict(json.loads(out.read_text()))


def test_ingest_smoke(tmp_path: Path) -> None:
    _need_services()
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (Debian package `wrk`, see scripts/system-deps.sh)")
    data = _run("ingest", tmp_path)
    assert [r["verification"]["ok"] for r in data["runs"]] == [True, True]
    assert all(r["throughput_msg_s"] > 0 for r in data["runs"])


def test_console_smoke(tmp_path: Path) -> None:
    _need_services()
    data = _run("console", tmp_path)
    assert [r["backend"].split()[0] for r in data["runs"]] == ["PostgreSQL", "SQLite"]
    for run in data["runs"]:
        endpoints = run["endpoints"]
        assert "thread open (conversation + customer)" in endpoints and "search: order number" in endpoints
        usual = {name: e["sql_statements"]["usual"] for name, e in endpoints.items() if e["sql_statements"]}
        assert usual and max(usual.values()) <= 5, usual
        assert all(e["p50_ms"] > 0 for e in endpoints.values())


def test_fanout_smoke(tmp_path: Path) -> None:
    _need_services()
    run = _run("fanout", tmp_path)["runs"][0]
    assert run["missed"] == 0 and run["duplicates"] == 0 and run["events_for_foreign_inboxes"] == 0
    assert run["deliveries_received"] == run["deliveries_expected"] > run["deliveries_measured"] > 0
    assert run["events_without_conversation_row"] == 0


def test_outbound_smoke(tmp_path: Path) -> None:
    _need_services()
    data = _run("outbound", tmp_path)
    assert [r["mode"] for r in data["runs"]] == ["saq", "inprocess"]
    for run in data["runs"]:
        assert run["ok"]
        assert run["throughput_phase"]["retried_after_503"] > 0  # the fake's transient failures happened
        assert run["throughput_phase"]["replies_per_s"] > 0


def test_bot_accuracy_smoke(tmp_path: Path) -> None:
    data = _run("bot_accuracy", tmp_path)
    assert set(data["sets"]) == {"dev", "extra"}
    assert data["latency"]["calls"] > 0


def test_email_trimming_smoke(tmp_path: Path) -> None:
    data = _run("email_trimming", tmp_path)
    assert data["discourse_exact"]["total"] > 0 and data["throughput_emails_per_s"] > 0


def test_runner_renders_results(tmp_path: Path) -> None:
    """`bench.run` runs benches and renders RESULTS-style Markdown with their sections and the notes."""
    output = tmp_path / "RESULTS.md"
    command = ["bench.run", "--smoke", "--only", "email_trimming", "email_mime", "--output", str(output)]
    result = subprocess.run([sys.executable, "-m", *command], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    text = output.read_text()
    assert "## Email trimming" in text and "## Email MIME decoding" in text
    assert "python -m bench.email_trimming --smoke --json" in text and "emails/s" in text
