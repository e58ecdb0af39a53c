"""Language detection: lingua restricted to the shop's languages, helped by lexicon words on short texts."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from lingua import IsoCode639_1, LanguageDetector, LanguageDetectorBuilder

DEFAULT_LANGUAGES: tuple[str, ...] = ("en", "nl", "da", "de", "ru", "es", "fr", "pt")

# Below this many letters lingua's n-gram statistics are thin, so lexicon words weigh in; from here on
# lingua decides alone.
_LETTERS_FOR_FULL_TRUST = 40
# With fewer letters than this and not one lexicon word, lingua's guess is noise ("ok", "asdf", "👍🏻 k")
# unless it is nearly certain (a script only one enabled language uses: "ОПЕРАТОР").
_MIN_LETTERS_WITHOUT_VOTES = 12
_CERTAIN = 0.9
# The shop's default language wins near-ties on short texts ("ok", "hallo", "AGENT").
_DEFAULT_PRIOR = 0.1


@dataclass(frozen=True, slots=True)
class LanguageGuess:
    """A detected language (ISO 639-1) and how sure the detector is, in [0, 1]."""

    language: str
    confidence: float


def normalise_languages(languages: Iterable[str] | None) -> frozenset[str]:
    """The enabled languages as lower-case ISO 639-1 codes (the defaults when ``None`` or empty).

    Raises:
        ValueError: if a code is not an ISO 639-1 language lingua knows.
    """
    codes = frozenset(code.strip().lower() for code in (languages or DEFAULT_LANGUAGES))
    for code in codes:
        _iso(code)
    return codes or frozenset(DEFAULT_LANGUAGES)


def _iso(code: str) -> IsoCode639_1:
    try:
        return IsoCode639_1.from_str(code)
    except ValueError:
        raise ValueError(f"unknown language code {code!r}") from None


@functools.cache
def detector_for(languages: frozenset[str]) -> LanguageDetector:
    """The lingua detector for a set of languages, built (and its models loaded) once per set.

    Loading takes about a second, so it happens on first use rather than at import; call it at start-up
    to move that cost out of the first message. A single-language shop never needs one
    (:func:`score_languages` answers without asking lingua).
    """
    isos = [_iso(code) for code in sorted(languages)]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*isos).with_preloaded_language_models().build()


def score_languages(
    text: str,
    languages: frozenset[str],
    default_language: str,
    votes: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """How likely each enabled language is for ``text``, in [0, 1].

    Empty when the text gives nothing to go on: no letters, or a few letters, no known word and no
    certain statistical guess.

    Args:
        text: the customer's message.
        languages: the shop's enabled languages (see :func:`normalise_languages`).
        default_language: gets a small head start on short texts ("ok", "hallo", "AGENT").
        votes: per-language count of the message's words found in that language's lexicon; on short
            texts these weigh as much as lingua, whose guesses on two words are close to noise.
    """
    letters = sum(ch.isalpha() for ch in text)
    votes = votes or {}
    vote_total = sum(votes.get(code, 0.0) for code in languages)
    if letters == 0:
        return {}
    if len(languages) == 1:
        return dict.fromkeys(languages, 1.0)
    statistics = {
        value.language.iso_code_639_1.name.lower(): value.value
        for value in detector_for(languages).compute_language_confidence_values(text)
    }
    if letters < _MIN_LETTERS_WITHOUT_VOTES and not vote_total and max(statistics.values()) < _CERTAIN:
        return {}
    trust = min(1.0, letters / _LETTERS_FOR_FULL_TRUST)
    lingua_weight = 0.5 + 0.5 * trust
    scores = {}
    for code in languages:
        share = votes.get(code, 0.0) / vote_total if vote_total else 0.0
        prior = _DEFAULT_PRIOR * (1 - trust) if code == default_language else 0.0
        blended = lingua_weight * statistics.get(code, 0.0) + (1 - lingua_weight) * share + prior
        scores[code] = min(1.0, blended)
    return scores


def detect_language(
    text: str,
    languages: frozenset[str],
    default_language: str,
    votes: Mapping[str, float] | None = None,
) -> LanguageGuess:
    """Guess the language of ``text`` among ``languages`` (arguments as for :func:`score_languages`).

    Falls back to ``default_language`` when the text gives too little to go on (no letters, "ok", "👍"),
    with confidence 0.
    """
    return pick_language(score_languages(text, languages, default_language, votes), default_language)


def pick_language(scores: Mapping[str, float], default_language: str) -> LanguageGuess:
    """The best of ``scores`` (ties go to the alphabetically first code), or the default without scores."""
    if not scores:
        return LanguageGuess(default_language, 0.0)
    best = max(sorted(scores), key=lambda code: scores[code])
    return LanguageGuess(best, round(scores[best], 3))
