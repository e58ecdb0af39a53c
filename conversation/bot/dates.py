"""Dates as customers read them in their own language ("14 March", "14. März", "14 марта")."""

# Cyrillic month names are deliberate.
# ruff: noqa: RUF001

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

# Genitive forms where a language inflects the month after a day number (ru).
_MONTHS: Mapping[str, tuple[str, ...]] = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
    "nl": ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
           "november", "december"),
    "da": ("januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober",
           "november", "december"),
    "de": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
           "November", "Dezember"),
    "ru": ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября",
           "ноября", "декабря"),
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
           "noviembre", "diciembre"),
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"),
    "pt": ("janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro",
           "novembro", "dezembro"),
}  # fmt: skip

# {d} day, {m} month name, {y} year; the year is written only when it is not the current one.
_PATTERNS: Mapping[str, tuple[str, str]] = {
    "en": ("{d} {m}", "{d} {m} {y}"),
    "nl": ("{d} {m}", "{d} {m} {y}"),
    "da": ("{d}. {m}", "{d}. {m} {y}"),
    "de": ("{d}. {m}", "{d}. {m} {y}"),
    "ru": ("{d} {m}", "{d} {m} {y} г."),
    "es": ("{d} de {m}", "{d} de {m} de {y}"),
    "fr": ("{d} {m}", "{d} {m} {y}"),
    "pt": ("{d} de {m}", "{d} de {m} de {y}"),
}


def format_date(moment: datetime | date, language: str, today: date) -> str:
    """`moment`'s calendar day in `language` (ISO 8601 for languages without month names)."""
    day = moment.date() if isinstance(moment, datetime) else moment
    months = _MONTHS.get(language)
    if months is None:
        return day.isoformat()
    short, long = _PATTERNS[language]
    pattern = short if day.year == today.year else long
    return pattern.format(d=day.day, m=months[day.month - 1], y=day.year)
