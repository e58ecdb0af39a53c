"""Cue matching: finds lexicon terms in a message (exact, stem or typo-tolerant) and votes on its language."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rapidfuzz.distance import OSA

from conversation.bot.cues import Cue
from conversation.bot.lexicon import LEXICONS
from conversation.bot.text import tokenize, tokenize_clauses

# Typos tolerated by length of the typed word: one edit (a transposition counts as one) from four
# letters ("ordr", "wher"), two from eight. Only words of five letters or more are corrected towards:
# shorter lexicon words have too many real neighbours ("last" is not "lost").
_FUZZY_MIN_LENGTH = 4
_FUZZY_MIN_TARGET = 5
_FUZZY_TWO_EDITS_FROM = 8
_STEM = "*"
# Words that do not count as content when deciding whether a message is only an order number.
_FILLER_CUES = frozenset({Cue.ORDER, Cue.OWN, Cue.GREETING})

Units = dict[str, bool]  # lexicon unit a token satisfies -> whether only through a typo correction


@dataclass(frozen=True, slots=True)
class CueHit:
    """One lexicon term found in the message, over tokens ``start`` to ``end`` (exclusive)."""

    cue: Cue
    language: str
    start: int
    end: int
    clause: int
    fuzzy: bool


@dataclass(frozen=True, slots=True)
class _Phrase:
    units: tuple[str, ...]  # folded words; a trailing "*" marks a stem
    cue: Cue
    language: str


@dataclass(frozen=True, slots=True)
class TextCues:
    """What the matcher saw in a message."""

    tokens: tuple[str, ...]
    hits: tuple[CueHit, ...]
    votes: Mapping[str, float]  # language -> words of the message in its vocabulary (shared words split)
    content_words: int  # words that are not function words, greetings, numbers or order words

    def has(self, cue: Cue) -> bool:
        """Whether any term for ``cue`` was found."""
        return any(hit.cue is cue for hit in self.hits)

    def of(self, cue: Cue) -> tuple[CueHit, ...]:
        """The hits for ``cue``."""
        return tuple(hit for hit in self.hits if hit.cue is cue)

    def keeping(self, languages: frozenset[str], universal: frozenset[Cue]) -> TextCues:
        """These cues without the hits of other languages, except for ``universal`` cues."""
        hits = tuple(h for h in self.hits if h.language in languages or h.cue in universal)
        return TextCues(self.tokens, hits, self.votes, self.content_words)


class CueMatcher:
    """Lexicons of a set of languages, compiled for matching; build through :func:`matcher_for`."""

    def __init__(self, languages: Iterable[str]) -> None:
        self._by_first: dict[str, list[_Phrase]] = defaultdict(list)
        self._stems: dict[int, set[str]] = defaultdict(set)
        self._vocabulary: dict[str, set[str]] = defaultdict(set)  # word or stem unit -> languages
        self._guard: set[str] = set()
        self._languages = frozenset(languages)
        for language in self._languages:
            lexicon = LEXICONS.get(language)
            if lexicon is None:
                continue
            for cue, terms in lexicon.cues.items():
                for term in terms:
                    self._add(_compile(term, cue, language))
            for word in lexicon.stopword_list():
                for unit in tokenize(word):
                    self._guard.add(unit)
                    self._vocabulary[unit].add(language)
        fuzzy: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for unit, unit_languages in sorted(self._vocabulary.items()):
            if len(unit.removesuffix(_STEM)) >= _FUZZY_MIN_TARGET:
                for language in unit_languages:
                    # Grouped by first letter: typos rarely hit it, and keeping it fixed stops "there"
                    # from turning into "where".
                    fuzzy[language][unit[0]].append(unit)
        # Plain dicts: the matcher is shared between threads and must not change while reading.
        self._fuzzy = {language: dict(by_initial) for language, by_initial in fuzzy.items()}

    def _add(self, phrase: _Phrase) -> None:
        self._by_first[phrase.units[0]].append(phrase)
        for unit in phrase.units:
            self._vocabulary[unit].add(phrase.language)
            if unit.endswith(_STEM):
                self._stems[len(unit) - 1].add(unit[:-1])
            if phrase.cue is Cue.GREETING:
                self._guard.add(unit)

    def match(self, text: str) -> TextCues:
        """Find the cue terms in ``text`` (already stripped of order-number spans)."""
        tokens, clauses = tokenize_clauses(text)
        units = [self._exact_units(token) for token in tokens]
        votes = self._votes(units)
        # Typos are corrected only towards languages the message visibly uses, so an English "store"
        # never becomes the Danish "spore" (tracking).
        languages = frozenset(votes) or frozenset(self._fuzzy)
        for i, token in enumerate(tokens):
            if any(not unit.endswith(_STEM) for unit in units[i]) or not self._correctable(token):
                continue
            # A token matched only by a stem may still be a typo of another language's word ("bestelung"
            # starts like the Dutch "bestel*" but is the German "Bestellung"); in the stem's own
            # languages the stem already explains it ("pedido" is not a typo of "perdido").
            explained = set().union(*(self._vocabulary[unit] for unit in units[i]))
            units[i] = {**self._typo_units(token, languages - explained), **units[i]}
        hits = [
            hit
            for i, candidates in enumerate(units)
            for unit, fuzzy in candidates.items()
            for phrase in self._by_first.get(unit, ())
            if (hit := _match_phrase(phrase, units, clauses, i, fuzzy)) is not None
        ]
        # dict.fromkeys: folding can make two terms identical ("мой" and "мои").
        kept = _drop_contained(list(dict.fromkeys(hits)))
        content = self._content_words(tokens, kept)
        return TextCues(tokens=tokens, hits=kept, votes=votes, content_words=content)

    def _exact_units(self, token: str) -> Units:
        found = {token: False} if token in self._vocabulary else {}
        for length, stems in self._stems.items():
            if len(token) >= length and token[:length] in stems:
                found[token[:length] + _STEM] = False
        return found

    def _correctable(self, token: str) -> bool:
        return token not in self._guard and len(token) >= _FUZZY_MIN_LENGTH and token.isalpha()

    def _typo_units(self, token: str, languages: frozenset[str]) -> Units:
        limit = 1 if len(token) < _FUZZY_TWO_EDITS_FROM else 2
        found: Units = {}
        for language in languages:
            for unit in self._fuzzy.get(language, {}).get(token[0], ()):
                if _within(token, unit, limit):
                    found[unit] = True
        return found

    def _votes(self, units: list[Units]) -> dict[str, float]:
        """Each exactly matched word votes for the languages whose vocabulary has it, split evenly.

        Words most languages share ("ok", "status", "agent") say nothing about the language and abstain.
        """
        votes: dict[str, float] = defaultdict(float)
        for candidates in units:
            languages = set().union(*(self._vocabulary[u] for u in candidates))
            if len(languages) * 2 > len(self._languages):
                continue
            for language in languages:
                votes[language] += 1 / len(languages)
        return dict(votes)

    def _content_words(self, tokens: tuple[str, ...], hits: tuple[CueHit, ...]) -> int:
        filler = {i for hit in hits if hit.cue in _FILLER_CUES for i in range(hit.start, hit.end)}
        return sum(
            1 for i, token in enumerate(tokens)
            if i not in filler and token not in self._guard and not any(ch.isdigit() for ch in token)
        )


def _within(token: str, unit: str, limit: int) -> bool:
    """Whether ``token`` is a typo of the word or stem ``unit``."""
    if not unit.endswith(_STEM):
        return OSA.distance(token, unit, score_cutoff=limit) <= limit
    stem = unit[:-1]
    # A stem is compared with as many leading letters of the token, or one more for a dropped letter.
    return min(OSA.distance(token[: len(stem)], stem), OSA.distance(token[: len(stem) + 1], stem)) <= 1


def _compile(term: str, cue: Cue, language: str) -> _Phrase:
    stem = term.endswith(_STEM)
    words = tokenize(term.removesuffix(_STEM))
    if stem:
        words = (*words[:-1], words[-1] + _STEM)
    return _Phrase(units=words, cue=cue, language=language)


def _match_phrase(
    phrase: _Phrase, units: list[Units], clauses: tuple[int, ...], start: int, fuzzy: bool
) -> CueHit | None:
    end = start + len(phrase.units)
    if end > len(units) or clauses[end - 1] != clauses[start]:
        return None
    for offset, unit in enumerate(phrase.units[1:], start=1):
        if unit not in units[start + offset]:
            return None
        fuzzy = fuzzy or units[start + offset][unit]
    return CueHit(cue=phrase.cue, language=phrase.language, start=start, end=end, clause=clauses[start],
                  fuzzy=fuzzy)


def _drop_contained(hits: list[CueHit]) -> tuple[CueHit, ...]:
    """Keep the longest phrases: a match inside a longer one is part of it ("hvor" in "hvor meget")."""
    phrases = [hit for hit in hits if hit.end - hit.start > 1]  # only these can contain another match
    return tuple(
        hit for hit in hits
        if not any(p.start <= hit.start and hit.end <= p.end and (p.end - p.start) > (hit.end - hit.start)
                   for p in phrases)
    )


@functools.cache
def matcher_for(languages: frozenset[str]) -> CueMatcher:
    """The compiled matcher for a set of languages, built once per set."""
    return CueMatcher(languages)
