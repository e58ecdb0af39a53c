"""`omnihub import-orders` as a shop owner runs it: a fresh SQLite file, CSV with bad rows, then fixed."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEADER = "number,status,email,phone,name,total,currency,placed_at,items,carrier,tracking_number,tracking_url,eta\n"
GOOD_ROWS = [
    "1001,shipped,ana@example.com,,Ana Silva,59.90,EUR,2026-03-01T10:00:00Z,Trail shoes x 1,DHL,JD0001,"
    "https://dhl.example.com/JD0001,2026-03-05",
    "1002,paid,,+15555550142,Ben,12,EUR,2026-03-02,Socks x 2; Cap x 1,,,,",
    'A-2231,delivered,ana@example.com,,,10,usd,,"[{""name"": ""Gift card"", ""price"": ""10.00""}]",,,,',
]


@pytest.fixture
def shop_dir(tmp_path: Path) -> Path:
    return tmp_path


def run(shop_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIHUB_")}
    env.update(
        OMNIHUB_DATABASE_URL=f"sqlite+aiosqlite:///{shop_dir / 'omnihub.db'}",
        OMNIHUB_VAR_DIR=str(shop_dir / "var"),
        OMNIHUB_SECRET_KEY="import-test-secret-" + "x" * 32,
    )
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


def rows(shop_dir: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(shop_dir / "omnihub.db") as connection:
        return list(connection.execute(query).fetchall())


def test_bad_rows_are_reported_by_line_and_nothing_is_imported(shop_dir: Path) -> None:
    path = shop_dir / "orders.csv"
    bad = [
        GOOD_ROWS[0],
        "1004,lost in space,bo@example.com,,,,,,,,,,",
        "1005,paid,not-an-email,,,,,,,,,,",
        "1006,paid,,0612345678,,abc,EURO,yesterday,,,,,",
        GOOD_ROWS[1],
    ]
    path.write_text(HEADER + "\n".join(bad) + "\n")
    result = run(shop_dir, "import-orders", str(path))
    assert result.returncode == 1 and "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert lines[:-1] == [
        "line 3: status must be one of: pending, paid, fulfilled, partially_fulfilled, shipped, delivered, "
        "cancelled, refunded",
        "line 4: customer.email is not a valid email: 'not-an-email'",
        "line 5: customer.phone is not a valid international phone number: '0612345678'",
        "line 5: currency must be a 3-letter ISO 4217 code",
        "line 5: total is not a number: 'abc'",
        "line 5: placed_at is not an ISO 8601 date/time: 'yesterday'",
    ]
    assert lines[-1] == "Error: nothing imported: 6 problem(s) in orders.csv"
    assert rows(shop_dir, "SELECT count(*) FROM orders") == [(0,)]
    assert rows(shop_dir, "SELECT count(*) FROM customer") == [(0,)]


def test_a_clean_file_imports_every_row_and_links_customers(shop_dir: Path) -> None:
    path = shop_dir / "orders.csv"
    path.write_text(HEADER + "\n".join(GOOD_ROWS) + "\n")
    result = run(shop_dir, "import-orders", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "imported 3 order(s)"
    orders = dict(rows(shop_dir, "SELECT number, status FROM orders ORDER BY number"))
    assert orders == {"1001": "shipped", "1002": "paid", "A-2231": "delivered"}
    assert rows(shop_dir, "SELECT total, currency, items FROM orders WHERE number = 'A-2231'") == [
        ("10.00", "USD", '[{"name": "Gift card", "sku": null, "quantity": 1, "price": "10.00"}]')
    ]
    assert rows(shop_dir, "SELECT carrier, tracking_url FROM orders WHERE number = '1001'") == [
        ("DHL", "https://dhl.example.com/JD0001")
    ]
    identities = rows(shop_dir, "SELECT channel_kind, address, verified FROM identity ORDER BY channel_kind")
    assert identities == [("email", "ana@example.com", 1), ("sms", "+15555550142", 1)]
    # Importing the same file again updates in place: still two orders.
    assert run(shop_dir, "import-orders", str(path)).returncode == 0
    assert rows(shop_dir, "SELECT count(*) FROM orders") == [(3,)]


def test_json_problems_name_the_order_and_duplicates_are_refused(shop_dir: Path) -> None:
    path = shop_dir / "orders.json"
    orders = [
        {"number": "2001", "status": "paid", "customer": {"email": "cy@example.com"}},
        {"number": "2002", "status": "shipped", "items": "shoes"},
        {"number": "2001", "status": "delivered"},
    ]
    path.write_text(json.dumps({"orders": orders}))
    result = run(shop_dir, "import-orders", str(path))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "order 2: items must be a list of objects",
        "the same order number appears more than once: 2001",
        "Error: nothing imported: 2 problem(s) in orders.json",
    ]
    assert rows(shop_dir, "SELECT count(*) FROM orders") == [(0,)]


def test_other_files_are_one_line_errors(shop_dir: Path) -> None:
    path = shop_dir / "orders.xlsx"
    path.write_bytes(b"PK\x03\x04")
    result = run(shop_dir, "import-orders", str(path))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "orders.xlsx: only .json and .csv files can be imported",
        "Error: nothing imported: 1 problem(s) in orders.xlsx",
    ]
    headerless = shop_dir / "plain.csv"
    headerless.write_text("1001,paid\n")
    result = run(shop_dir, "import-orders", str(headerless))
    assert result.returncode == 1 and "line 1: the header row must include a `number` column" in result.stderr
