"""Prometheus metrics (`GET /metrics`)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)

WEBHOOK_REQUESTS = Counter(
    "omnihub_webhook_requests_total", "Webhook requests by kind and outcome", ["kind", "outcome"], registry=REGISTRY
)
MESSAGES_STORED = Counter("omnihub_inbound_messages_total", "Inbound messages stored", ["channel"], registry=REGISTRY)
DUPLICATES = Counter("omnihub_inbound_duplicates_total", "Re-deliveries absorbed", ["channel"], registry=REGISTRY)
SENDS = Counter(
    "omnihub_outbound_attempts_total", "Outbound send attempts by outcome", ["channel", "outcome"], registry=REGISTRY
)
INGEST_SECONDS = Histogram(
    "omnihub_webhook_seconds",
    "Webhook handling time (verify, parse, store, commit)",
    ["kind"],
    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
    registry=REGISTRY,
)


def render() -> bytes:
    """The text exposition of every metric."""
    return generate_latest(REGISTRY)
