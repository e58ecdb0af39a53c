"""Per-language lexicons: terms for each cue, written with accents; the matcher folds them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from conversation.bot.cues import Cue


@dataclass(frozen=True, slots=True)
class LanguageLexicon:
    """The cue terms and the common function words of one language.

    Terms are single words, space-separated phrases (matched on consecutive tokens), or stems ending
    in ``*`` (a prefix of a token; for inflected languages and compounds). ``stopwords`` is a
    whitespace-separated block of frequent words that are never typo-corrected into a cue ("there"
    must not become "where") and that vote for the language of very short messages.
    """

    cues: Mapping[Cue, tuple[str, ...]]
    stopwords: str

    def stopword_list(self) -> tuple[str, ...]:
        """The stopwords, one per item."""
        return tuple(self.stopwords.split())


def _load() -> dict[str, LanguageLexicon]:
    # Imported here so each language stays a plain data module with no import cycle back to this one.
    from conversation.bot.lexicon import da, de, en, es, fr, nl, pt, ru

    return {"en": en.LEXICON, "nl": nl.LEXICON, "da": da.LEXICON, "de": de.LEXICON,
            "ru": ru.LEXICON, "es": es.LEXICON, "fr": fr.LEXICON, "pt": pt.LEXICON}


LEXICONS: Mapping[str, LanguageLexicon] = _load()
