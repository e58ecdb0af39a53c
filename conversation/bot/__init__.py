"""The order-status bot's understanding of a message: language, intent, order number; and its replies."""

from conversation.bot.classify import HANDOFF_BELOW, Classification, classify
from conversation.bot.templates import TEMPLATE_KEYS, render, render_order_status

__all__ = ["HANDOFF_BELOW", "TEMPLATE_KEYS", "Classification", "classify", "render", "render_order_status"]
