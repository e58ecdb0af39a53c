"""Telegram channel: a shop's bot receives customer messages by webhook and sends agent replies."""
