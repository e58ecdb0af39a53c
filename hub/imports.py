"""`omnihub import-orders`: JSON or CSV files of orders, all rows or none."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from conversation.orders import InvalidOrder, OrderInput, order_input_from_payload, upsert_order
from hub.services import Services

#: CSV columns (header row required; only `number` is mandatory). `items` is JSON
#: (`[{"name": "Shoes", "quantity": 1, "price": "59.00"}]`) or `Name x 2; Other x 1`.
CSV_COLUMNS = (
    "number", "status", "email", "phone", "name", "total", "currency", "placed_at", "updated_at", "items",
    "fulfillment_status", "carrier", "tracking_number", "tracking_url", "eta", "store",
)  # fmt: skip


_FULFILLMENT_COLUMNS = {
    "status": "fulfillment_status",
    "carrier": "carrier",
    "tracking_number": "tracking_number",
    "tracking_url": "tracking_url",
    "eta": "eta",
}


class ImportFailed(ValueError):
    """Rows that cannot be imported, each as "line N: reason"."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


def _items_from_cell(cell: str) -> list[dict[str, Any]]:
    cell = cell.strip()
    if not cell:
        return []
    if cell.startswith("["):
        value = json.loads(cell)
        if not isinstance(value, list):
            raise ValueError("items must be a JSON list")
        return value
    items = []
    for part in cell.split(";"):
        name, _, qty = part.strip().rpartition(" x ")
        items.append({"name": name or part.strip(), "quantity": int(qty) if qty.strip().isdigit() else 1})
    return items


def _csv_row_to_payload(row: dict[str, str]) -> dict[str, Any]:
    unknown = sorted(k for k in row if k and k not in CSV_COLUMNS)
    if unknown:
        raise InvalidOrder([f"unknown column(s): {', '.join(unknown)}"])
    get = lambda key: (row.get(key) or "").strip() or None  # noqa: E731
    try:
        items = _items_from_cell(row.get("items") or "")
    except (ValueError, json.JSONDecodeError) as exc:
        raise InvalidOrder([f"items: {exc}"]) from exc
    fulfillment = {key: get(column) for key, column in _FULFILLMENT_COLUMNS.items()}
    return {
        **{key: get(key) for key in ("number", "total", "currency", "placed_at", "updated_at", "store")},
        "status": get("status") or "pending",
        "items": items,
        "customer": {"email": get("email"), "phone": get("phone"), "name": get("name")},
        "fulfillment": {k: v for k, v in fulfillment.items() if v} or None,
    }


def _rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, order payload) pairs; raises ImportFailed for unreadable files."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ImportFailed([f"line {exc.lineno}: invalid JSON ({exc.msg})"]) from exc
        orders = data.get("orders") if isinstance(data, dict) else data
        if not isinstance(orders, list):
            raise ImportFailed(['line 1: expected a list of orders or {"orders": [...]}'])
        return [(i + 1, o) for i, o in enumerate(orders)]  # JSON "line" = position in the list
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or "number" not in reader.fieldnames:
            raise ImportFailed(["line 1: the header row must include a `number` column"])
        return [(reader.line_num, dict(row)) for row in reader]
    raise ImportFailed([f"{path.name}: only .json and .csv files can be imported"])


async def import_orders_file(services: Services, path: Path) -> int:
    """Validate every row first; store all of them in one transaction only if every row is valid."""
    is_csv = path.suffix.lower() == ".csv"
    parsed: list[OrderInput] = []
    problems: list[str] = []
    label = "line" if is_csv else "order"
    for line, row in _rows(path):
        try:
            if not isinstance(row, dict):
                raise InvalidOrder(["not an object"])
            payload = _csv_row_to_payload(row) if is_csv else row
            parsed.append(order_input_from_payload(payload, source="import"))
        except InvalidOrder as exc:
            problems.extend(f"{label} {line}: {p}" for p in exc.problems)
    numbers = [o.number for o in parsed]
    duplicated = sorted({n for n in numbers if numbers.count(n) > 1})
    if duplicated:
        problems.append(f"the same order number appears more than once: {', '.join(duplicated)}")
    if problems:
        raise ImportFailed(problems)
    async with services.uow() as uow:
        for order in parsed:
            await upsert_order(uow, order)
        await uow.commit()
    return len(parsed)
