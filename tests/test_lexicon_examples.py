"""Every example of every phrase family is a test (LanguageTool's PatternRuleTest idea).

``hit``: the family is found exactly at the [bracketed] spans, after overlap resolution, i.e. as
users see it. ``miss``: the family is not found at all.
"""

from __future__ import annotations

import pytest

from tests.conftest import CORPORA
from textsvc.lexicon import load_lexicon

CASES = [
    pytest.param(lang, phrase.id, kind, example, id=f"{phrase.group}/{phrase.id}/{kind}-{n}")
    for lang in ("de", "en")
    for phrase in load_lexicon(CORPORA / "lexicon", lang).phrases
    for kind, examples in (("hit", phrase.hits), ("miss", phrase.misses))
    for n, example in enumerate(examples, 1)
]


@pytest.mark.parametrize(("lang", "rule_id", "kind", "example"), CASES)
def test_example(lang, rule_id, kind, example, pipelines, checkers):
    doc = pipelines[lang](example.text)
    found = [(h.start, h.end) for h in checkers[lang].find(doc) if h.phrase.id == rule_id]
    if kind == "hit":
        assert found == list(example.spans), [example.text[s:e] for s, e in found]
    else:
        assert found == [], [example.text[s:e] for s, e in found]


REPLACEMENTS = [
    pytest.param(lang, phrase.id, phrase.hits[0], value, id=f"{phrase.group}/{phrase.id}/replacement-{n}")
    for lang in ("de", "en")
    for phrase in load_lexicon(CORPORA / "lexicon", lang).phrases
    if phrase.category == "GENERIC_PHRASE"
    for n, value in enumerate(phrase.replacements, 1)
]


@pytest.mark.parametrize(("lang", "rule_id", "example", "value"), REPLACEMENTS)
def test_applying_a_replacement_leaves_no_stock_phrase_there(lang, rule_id, example, value, pipelines, checkers):
    """LanguageTool's rule: a correction must not itself be flagged."""
    start, end = example.spans[0]
    text = example.text[:start] + value + example.text[end:]
    found = [h.phrase.id for h in checkers[lang].find(pipelines[lang](text))
             if h.phrase.category == "GENERIC_PHRASE" and h.start < start + len(value) and start < h.end]
    assert found == [], text
