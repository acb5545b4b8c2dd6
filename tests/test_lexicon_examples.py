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
