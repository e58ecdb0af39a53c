"""Shopify as an order source: verified `orders/*` and `fulfillments/*` webhooks become order events."""
