"""Template fingerprints and matching with rapidfuzz, on the real seed corpus."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import CORPORA, analyze
from textsvc.templates import TemplateIndex, find_placeholders, fingerprint, name_words

SEEDS = [json.loads(line) for path in sorted((CORPORA / "templates").glob("*.jsonl"))
         for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("field", ["{Vorname}", "{{firstName}}", "[Name]", "%FIRSTNAME%", "<Firma>", "{ first_name }"])
def test_merge_fields_are_found_and_become_slots(field):
    text = f"Schön, dass wir uns vernetzen, {field}!"
    (span,) = find_placeholders(text)
    assert text[span[0]:span[1]] == field
    assert "slot" in fingerprint(text).split()


def test_ordinary_brackets_are_not_merge_fields():
    assert find_placeholders("Wir (mein Team und ich) haben 3 < 5 Projekte [2024] abgeschlossen.") == []


def test_fingerprint_ignores_case_punctuation_order_and_known_names():
    a = fingerprint("Ich bin Max, Anna. Gern vernetze ich mich.", name_words(["Anna Berger"]))
    b = fingerprint("Gern vernetze ich mich, {Vorname}! ICH BIN MAX")
    assert a == b


def test_short_texts_never_match():
    index = TemplateIndex({"t": fingerprint("hallo ich freue mich auf den austausch mit ihnen")},
                          min_words=6, min_similarity=78)
    assert index.search(fingerprint("Hallo!")) == []
    assert index.search(fingerprint("ich freue mich")) == []


def _fill(text: str) -> str:
    return re.sub(r"\{\{[^}]*\}\}|\{[^}]*\}|\[[^\]]*\]|%[A-Z_]+%|<[^>]*>", "Johanna", text)


def _swap_first_sentences(text: str) -> str:
    parts = re.split(r"(?<=[.!?])\s+", text)
    if len(parts) >= 3:
        parts[0], parts[1] = parts[1], parts[0]
    return " ".join(parts)


def _typo(text: str) -> str:
    words = text.split()
    i = len(words) // 2
    w = words[i]
    if len(w) > 3:
        words[i] = w[0] + w[2] + w[1] + w[3:]  # swap two letters
    return " ".join(words)


@pytest.mark.parametrize("seed", SEEDS[::7], ids=lambda s: s["id"])
def test_filled_reordered_misspelt_seed_matches_its_own_template(analyzer, seed):
    variant = _typo(_swap_first_sentences(_fill(seed["text"])))
    result = analyze(analyzer, variant, language=seed["language"])
    assert result.template_matches, variant
    assert result.template_matches[0].template_id == seed["id"]


def test_times_seen_counts_every_match(analyzer):
    seed = SEEDS[0]
    first = analyze(analyzer, _fill(seed["text"])).template_matches[0].times_seen
    second = analyze(analyzer, _fill(seed["text"])).template_matches[0].times_seen
    assert second == first + 1


@pytest.mark.parametrize(("text", "body"), [
    ("Hallo Anna,\nich finde dein Profil toll. Viele Grüße\nTom", "ich finde dein Profil toll."),
    ("Sehr geehrte Frau Dr. Berger, wir bieten Beratung an.\n\nMit freundlichen Grüßen\nMax Muster", "wir bieten Beratung an."),
    ("Hi there! Great to meet you at the fair. Best, Tom", "Great to meet you at the fair."),
    ("Best practice is what we sell. Regards are not enough, we think.", "Best practice is what we sell. Regards are not enough, we think."),
])
def test_salutation_and_sign_off_are_not_part_of_the_template(text, body):
    from textsvc.templates import strip_frame

    assert strip_frame(text).strip() == body
