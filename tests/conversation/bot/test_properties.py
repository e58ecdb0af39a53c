"""Properties of classify() and extraction on arbitrary input (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from conversation.bot.classify import classify
from conversation.bot.language import DEFAULT_LANGUAGES
from conversation.bot.order_numbers import find_order_references
from tests.conversation.bot.conftest import LABELLED_SETS, load_labelled

SAMPLES = [str(row["text"]) for path in LABELLED_SETS.values() for row in load_labelled(path)]
# Arbitrary text, and realistic messages cut, joined and sprinkled with numbers and symbols.
MESSAGES = st.one_of(
    st.text(max_size=300),
    st.lists(
        st.one_of(
            st.sampled_from(SAMPLES),
            st.sampled_from(["#", "№", "n°", "nº", "-", "order", "A-", "€", "?"]),
            st.integers(min_value=0, max_value=10**12).map(str),
            st.text(max_size=12),
        ),
        max_size=8,
    ).map(" ".join),
)
LANGUAGE_SETS = st.one_of(st.none(), st.sets(st.sampled_from(DEFAULT_LANGUAGES), min_size=1).map(sorted))

FAST = settings(max_examples=300, deadline=None)


@FAST
@given(text=MESSAGES, languages=LANGUAGE_SETS, default=st.sampled_from(DEFAULT_LANGUAGES))
def test_classify_never_fails_and_stays_in_range(
    text: str, languages: list[str] | None, default: str
) -> None:
    result = classify(text, languages=languages, default_language=default)

    assert result.intent in {"order_status", "handoff", "other"}
    assert 0.0 <= result.confidence <= 1.0
    assert result.language in set(languages or DEFAULT_LANGUAGES) | {default}


@FAST
@given(text=MESSAGES)
def test_an_extracted_number_is_in_the_text(text: str) -> None:
    for ref in find_order_references(text):
        assert ref.number.casefold() in text.casefold()
        assert ref.number.casefold() in text[ref.start : ref.end].casefold()
        assert any(ch.isdigit() for ch in ref.number)
