"""The sentence classifier: its rule's examples, its training data, its weights file, and how it
joins the lexicon's findings (only where the lexicon is silent, exact spans, explained)."""

from __future__ import annotations

import json
import math
import re
import shutil
from dataclasses import replace

import pytest

from tests.conftest import CORPORA, analyze
from textsvc.classifier import (
    SentenceClassifier,
    content_words,
    example_problems,
    fit,
    split_of,
    train,
    training_messages,
    units,
    unmark,
)
from textsvc.errors import LexiconError
from textsvc.nlp import rare_words
from textsvc.policy import load_policy

MAX_ZIPF = load_policy(CORPORA / "policy.toml").personalization.rare_word_zipf


@pytest.fixture(scope="module")
def classifiers() -> dict[str, SentenceClassifier]:
    return {lang: SentenceClassifier.load(CORPORA / "classifier", lang) for lang in ("de", "en")}


@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_rules_examples_behave_as_marked(lang, pipelines, checkers, classifiers):
    assert example_problems(pipelines[lang], checkers[lang], classifiers[lang], MAX_ZIPF) == []


@pytest.mark.parametrize("lang", ["de", "en"])
def test_shipped_weights_are_those_the_current_data_trains(lang):
    """Like openapi.yaml: after changing the lexicon, corpora/eval or corpora/dev, run
    `textsvc lexicon train`; this fails until the weights file is refitted."""
    shipped = json.loads((CORPORA / "classifier" / f"{lang}.weights.json").read_text(encoding="utf-8"))
    fresh = train(CORPORA, lang, MAX_ZIPF)
    assert shipped["trained_on"] == fresh["trained_on"], "run `textsvc lexicon train`"
    assert abs(shipped["bias"] - fresh["bias"]) <= 0.002
    keys = shipped["weights"].keys() | fresh["weights"].keys()
    drift = max(abs(shipped["weights"].get(k, 0.0) - fresh["weights"].get(k, 0.0)) for k in keys)
    assert drift <= 0.02, "run `textsvc lexicon train`"


@pytest.mark.parametrize("lang", ["de", "en"])
def test_training_never_reads_the_test_split_or_the_held_out_sets(lang):
    messages = training_messages(CORPORA, lang)
    evaluation = [m for m in messages if m["id"].startswith("ev-")]
    assert evaluation and all(split_of(m["id"]) == "fit" for m in evaluation)
    assert all(m["language"] == lang for m in messages)
    held_out = {json.loads(line)["id"] for path in (CORPORA / "heldout").glob("*.jsonl")
                for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}
    assert held_out and all(i.startswith("ho-") for i in held_out)
    assert held_out.isdisjoint(m["id"] for m in messages)


def test_fit_learns_which_words_mark_a_class_and_is_deterministic():
    rows = [(["u:netzwerk", "u:ich"], 1, 1.0), (["u:netzwerk", "u:sie"], 1, 1.0),
            (["u:vortrag", "u:ich"], 0, 1.0), (["u:vortrag", "u:sie"], 0, 1.0)] * 5
    bias, weights = fit(rows)
    assert weights["u:netzwerk"] > 0.5 > -0.5 > weights["u:vortrag"]
    assert abs(weights.get("u:ich", 0.0)) < 0.1
    assert fit(rows) == (bias, weights)


def test_a_weighted_row_counts_more():
    def logit(rows):  # of a sentence with feature u:a, after fitting
        bias, weights = fit(rows)
        return bias + weights.get("u:a", 0.0)

    assert abs(logit([(["u:a"], 1, 1.0), (["u:a"], 0, 1.0)])) < 0.1  # even odds
    assert logit([(["u:a"], 1, 3.0), (["u:a"], 0, 1.0)]) > 0.5  # 3:1 for generic


def test_unmark_returns_the_marked_spans():
    text, spans = unmark("Hallo, ⟦mein Netzwerk erweitern⟧ und ⟦mehr⟧.")
    assert [text[a:b] for a, b in spans] == ["mein Netzwerk erweitern", "mehr"]


def test_content_words_skip_a_leading_greeting(pipelines):
    doc = pipelines["de"]("Hallo Frau Berger, ich melde mich wegen der Tagung.")
    assert [t.text for t in content_words(next(doc.sents))][:2] == ["ich", "melde"]
    doc = pipelines["en"]("Hello world is the first program.")  # no comma: no greeting to skip
    assert content_words(next(doc.sents))[0].text == "Hello"


def _flagged(analyzer, text: str, rule_id: str):
    r = analyze(analyzer, text)
    return r, [m for m in r.matches if m.rule_id == rule_id]


def test_a_finding_has_exact_offsets_and_names_its_words(analyzer, classifiers):
    rule = classifiers["de"].rule
    example = rule.hits[0]
    text = "🙂 " + example.text  # an astral character before: code points and UTF-16 differ
    r, found = _flagged(analyzer, text, rule.id)
    assert len(found) == 1
    m = found[0]
    start, end = example.spans[0][0] + 2, example.spans[0][1] + 2
    assert (m.start, m.end, m.text) == (start, end, text[start:end])
    assert m.offset == start + 1 and m.length == end - start  # 🙂 is two UTF-16 units
    named = re.findall(r"„([^“]+)“", m.message)
    assert named and all(w in m.text for w in named), m.message
    assert not {"ja", "man", "ich", "so"} & set(named), m.message  # content words, not function words
    evidence = next(s for s in r.personalization.signals if s.id == "GENERIC_PHRASES").evidence
    assert any(e.rule_id == rule.id and (e.start, e.end) == (start, end) for e in evidence)


def test_it_speaks_only_where_the_lexicon_is_silent(pipelines, checkers, classifiers):
    """Over every marked message it learns from: no finding overlaps a lexicon finding or quotes a
    title, none is in a message with a personal signal other than a proposed next step, and below
    its ``certain`` probability none is a question."""
    for lang in ("de", "en"):
        below_certain = replace(classifiers[lang], certain=2.0)
        for m in training_messages(CORPORA, lang):
            text, _ = unmark(m["marked"])
            doc = pipelines[lang](text)
            hits = checkers[lang].find(doc)
            rare = rare_words(doc, MAX_ZIPF)
            for found in classifiers[lang].find(doc, hits, rare):
                assert not any(h.start < found.end and found.start < h.end for h in hits), text
                assert not any(q in text[found.start:found.end] for q in "„“\"«»"), text
                assert not any(h.phrase.category == "PERSONAL_SIGNAL" and h.phrase.signal != "NEXT_STEP"
                               for h in hits), text
            for found in below_certain.find(doc, hits, rare):  # the span leaves a final "?" out: ask the sentence
                sent = next(s for s in doc.sents if s.start_char <= found.start < s.end_char)
                assert not sent.text.rstrip().endswith("?"), text


@pytest.mark.parametrize(("text", "reported_at_08", "reported_at_099"), [
    ("Hallo Frau Roth, das Wetter in Kiel war gestern wirklich sehr schön. Viele Grüße", True, True),
    # a question, a figure, an acronym: only when nearly certain
    ("Hallo Frau Roth, war das Wetter in Kiel gestern wirklich sehr schön? Viele Grüße", False, True),
    ("Hallo Frau Roth, das Wetter in Kiel war an 3 Tagen wirklich sehr schön. Viele Grüße", False, True),
    # a proposed next step elsewhere does not silence it, a concrete reference does
    (("Hallo Frau Roth, das Wetter in Kiel war gestern wirklich sehr schön. Haben Sie am Dienstag "
      "15 Minuten?"), True, True),
    (("Hallo Frau Roth, das Wetter in Kiel war gestern wirklich sehr schön. Ihr Vortrag in Kiel über "
      "Lastenräder hat mich überzeugt."), False, False),
])
def test_what_silences_it_and_what_only_asks_for_certainty(pipelines, checkers, classifiers, text, reported_at_08,
                                                           reported_at_099):
    """The gates around the probability, with the weights replaced by a bias alone: every sentence
    gets the same probability, 0.8 (above the threshold, below ``certain``) or 0.99."""
    doc = pipelines["de"](text)
    hits = checkers["de"].find(doc)
    first = next(doc.sents)

    def reported(p: float) -> bool:
        clf = replace(classifiers["de"], bias=math.log(p / (1 - p)), weights={}, threshold=0.7, certain=0.95)
        return any(f.start < first.end_char for f in clf.find(doc, hits, rare_words(doc, MAX_ZIPF)))

    assert not any(h.start < first.end_char for h in hits), "the sentence must be the classifier's to judge"
    assert {h.phrase.signal for h in hits} <= {None, "NEXT_STEP", "CONCRETE_REFERENCE"}
    if "Minuten" in text or "Vortrag" in text:
        assert len(hits) == 1 and hits[0].phrase.signal == ("NEXT_STEP" if "Minuten" in text else "CONCRETE_REFERENCE")
    assert (reported(0.8), reported(0.99)) == (reported_at_08, reported_at_099)


def test_it_reads_the_clauses_a_generic_family_leaves_and_nothing_beside_a_personal_signal(pipelines, checkers):
    def read(lang: str, text: str) -> list[str]:
        doc = pipelines[lang](text)
        hits = checkers[lang].find(doc)
        return [u.text for s in doc.sents for u in units(s, hits)]

    assert read("en", "We need good people. Best") == ["We need good people.", "Best"]
    # EN_CAME_ACROSS_PROFILE matched: the clauses it leaves, without the commas around it
    assert read("en", "Hi Dana, I came across your profile, and people like us should know each other.") == [
        "Hi Dana", "and people like us should know each other."]
    # a hyphen inside a word ("family-owned") is no clause break; a spaced dash is
    assert read("en", "I came across your profile - we run a family-owned bakery in the old town.") == [
        "we run a family-owned bakery in the old town."]
    # DE_SIGNAL_VORTRAG matched: the sentence is context, none of it is read
    assert read("de", "Ihr Vortrag über Kühlketten in Bremen hat mir gefallen – man trifft ja nicht jeden Tag solche Leute.") == []


def test_short_sentences_greetings_and_context_are_never_flagged(analyzer, classifiers):
    hit = classifiers["de"].rule.hits[1].text
    assert _flagged(analyzer, hit, "DE_GENERIC_SENTENCE")[1]
    personal = "Wir haben uns beim Sommerfest der Stadtwerke Tübingen über Mieterstrom unterhalten. "
    for text in ("Hallo Frau Berger!", "Danke dir!", "Interesse?", "Hi Dana, thanks!",
                 hit.rstrip(".") + "?", personal + hit):
        r = analyze(analyzer, text)
        assert not [m for m in r.matches if m.rule_id.endswith("_GENERIC_SENTENCE")], text


def test_rules_list_the_classifier_rule_with_its_examples(client, classifiers):
    rules = {r["id"]: r for r in client.get("/v1/rules").json()["rules"]}
    for c in classifiers.values():
        rule = rules[c.rule.id]
        assert rule["group"] == "classifier" and rule["category"] == "GENERIC_PHRASE"
        assert {e["kind"] for e in rule["examples"]} == {"hit", "miss"}


@pytest.mark.parametrize(("old", "new", "complaint"), [
    ("certain = 0.95", "certain = 0.5", "threshold <= certain"),  # a question easier to report than a statement
    ("certain = 0.95", "certain = nan", "threshold <= certain"),
    ("certain = 0.95", "certain = true", "must be a number"),
    ("certain = 0.95\n", "", "missing 'certain'"),
    ("min_words = 4", "min_words = 0", "min_words"),
])
def test_a_broken_rule_file_is_refused_with_a_clear_message(tmp_path, old, new, complaint):
    root = tmp_path / "classifier"
    shutil.copytree(CORPORA / "classifier", root)
    rule = root / "de.toml"
    text = rule.read_text(encoding="utf-8")
    assert old in text
    rule.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(LexiconError, match=re.escape(complaint)):
        SentenceClassifier.load(root, "de")
