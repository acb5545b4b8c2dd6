"""The spaCy pipelines and word statistics: the only module that imports spaCy, simplemma, wordfreq.

Each supported language gets one pipeline, built once at start-up and shared by every check:

``spacy.blank(lang)`` → ``sentencizer`` → ``textsvc_norm`` (case-folded ``NORM``, ß → ss) →
``textsvc_lemmatizer`` (simplemma, case-folded ``LEMMA``) → ``textsvc_separable_verbs``
(German only: "schließe … nicht aus" gives "schließe" the lemma ``ausschließen``).

simplemma was measured best here (96.6 % lemma accuracy on UD German GSD at >100k tokens/s);
spaCy's lookup tables reach 85 % and map "Sie" to "ich". When ``TEXTSVC_SPACY_MODEL`` names an
installed trained pipeline (``de_core_news_sm`` …) it replaces the blank German one; its lemmas
are case-folded and its ``PTKVZ`` tags drive the particle joining.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import simplemma
import spacy
from wordfreq import zipf_frequency
from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc, Token

from textsvc.normalize import fold

SUPPORTED_LANGUAGES = ("de", "en")

# Separable-verb particles that end a German main clause ("schließe … nicht aus").
_PARTICLES = frozenset(
    "ab an auf aus bei dabei dazu durch ein fest fort her heraus herein hin hinaus hinzu kennen "
    "los mit nach teil vor vorbei voran weg weiter wieder zu zurück zusammen".split()
)
# Words after which a particle still counts as clause-final ("… nicht aus und freue mich").
_CLAUSE_BREAKS = frozenset("und oder aber sondern denn , ; : . ! ? – — - ) \" »".split())


# English clitics as spaCy splits them ("I'd" → "I" + "'d"): lemma = the full word, so that
# "I'd love" and "I would love" match the same pattern. ("'s" stays: is, has or us.)
_EN_CLITICS = {"'d": "would", "'m": "be", "'re": "be", "'ve": "have", "'ll": "will", "n't": "not"}


@lru_cache(maxsize=200_000)
def lemma_of(word: str, lang: str) -> str:
    """Case-folded simplemma lemma of one word (cached: most words in requests repeat)."""
    folded = fold(word)
    if lang == "en" and folded in _EN_CLITICS:
        return _EN_CLITICS[folded]
    if not any(ch.isalpha() for ch in word):
        return folded
    return fold(simplemma.lemmatize(word, lang=lang))


@lru_cache(maxsize=50_000)
def _is_known_verb(particle: str, word: str, lang: str) -> bool:
    """Is particle + lemma(word) a verb the dictionary knows ("aus" + "schließe" → ausschließen)?"""
    lemma = simplemma.lemmatize(word, lang=lang)
    return lemma.endswith("n") and simplemma.is_known(particle + lemma.lower(), lang=lang)


@Language.component("textsvc_norm")
def _norm_component(doc: Doc) -> Doc:
    for token in doc:
        token.norm_ = fold(token.text)
    return doc


@Language.component("textsvc_lemmatizer")
def _lemmatizer_component(doc: Doc) -> Doc:
    lang = doc.lang_
    for token in doc:
        token.lemma_ = lemma_of(token.text, lang)
    return doc


@Language.component("textsvc_lemma_fold")
def _lemma_fold_component(doc: Doc) -> Doc:
    """Case-fold the lemmas of a trained pipeline so lexicon rules see one spelling."""
    for token in doc:
        token.lemma_ = fold(token.lemma_ or token.text)
    return doc


@Language.component("textsvc_separable_verbs")
def _separable_verbs_component(doc: Doc) -> Doc:
    """Join a clause-final particle to the nearest preceding verb when the result is a known verb.

    "Ich schließe Synergien in der Zukunft nicht aus" → ``schließe.lemma_ == "ausschließen"``.
    With a trained pipeline only tokens tagged ``PTKVZ`` count as particles.
    """
    has_tags = doc.has_annotation("TAG")
    for token in doc:
        if token.norm_ not in _PARTICLES or token.i == 0:
            continue
        if has_tags and token.tag_ != "PTKVZ":
            continue
        following = doc[token.i + 1] if token.i + 1 < len(doc) else None
        if not has_tags and following is not None and following.norm_ not in _CLAUSE_BREAKS:
            continue
        verb = _verb_for_particle(doc, token)
        if verb is not None:
            verb.lemma_ = token.norm_ + verb.lemma_
    return doc


def _verb_for_particle(doc: Doc, particle: Token) -> Token | None:
    sent_start = particle.sent.start if doc.has_annotation("SENT_START") else 0
    for i in range(particle.i - 1, sent_start - 1, -1):
        cand = doc[i]
        if cand.is_punct and cand.text in ".!?":
            return None
        if (
            cand.is_alpha
            and (cand.is_lower or i == sent_start)
            and not cand.lemma_.startswith(particle.norm_)
            and _is_known_verb(particle.norm_, cand.text, doc.lang_)
        ):
            return cand
    return None


@dataclass(frozen=True, slots=True)
class Pipeline:
    """A loaded pipeline and the name it is reported under (``/ready``, ``software.pipeline``)."""

    lang: str
    nlp: Language
    name: str

    def __call__(self, text: str) -> Doc:
        return self.nlp(text)


def build_pipeline(lang: str, model: str | None = None) -> Pipeline:
    """Build the pipeline for ``lang``; ``model`` names an installed trained pipeline to use instead.

    Nothing is ever downloaded: a ``model`` that is not installed raises ``OSError`` at start-up.
    """
    if lang not in SUPPORTED_LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}")
    if model:
        nlp = spacy.load(model, exclude=["ner"])
        nlp.add_pipe("textsvc_norm")
        nlp.add_pipe("textsvc_lemma_fold")
        name = f"{nlp.meta.get('lang', lang)}_{nlp.meta.get('name', model)}-{nlp.meta.get('version', '?')}"
    else:
        nlp = spacy.blank(lang)
        nlp.add_pipe("sentencizer")
        nlp.add_pipe("textsvc_norm")
        nlp.add_pipe("textsvc_lemmatizer")
        name = f"spacy.blank:{lang}+simplemma"
    if lang == "de":
        nlp.add_pipe("textsvc_separable_verbs")
    return Pipeline(lang=lang, nlp=nlp, name=name)


def split_words(pipeline: Pipeline, text: str) -> list[str]:
    """Tokenise a pattern literal with the pipeline's tokenizer ("I'd" → ["I", "'d"])."""
    return [t.text for t in pipeline.nlp.tokenizer(text)]


class RuleMatcher:
    """spaCy matchers keyed by rule id; returns character spans of the longest matches.

    Each rule gets its own ``Matcher``, and a rule runs only when every obligatory token of one
    of its patterns can occur in the doc (its lemma or norm is present): most messages contain
    the words of only a few families, so a few matchers run instead of all (6× faster measured).
    """

    def __init__(self, pipeline: Pipeline) -> None:
        self._vocab = pipeline.nlp.vocab
        self._rules: list[tuple[str, Matcher, list[list[Need]]]] = []

    def add(self, key: str, patterns: Sequence[list[dict[str, Any]]]) -> None:
        matcher = Matcher(self._vocab, validate=True)
        matcher.add(key, list(patterns), greedy="LONGEST")
        self._rules.append((key, matcher, [_obligatory(p) for p in patterns]))

    def __call__(self, doc: Doc) -> Iterable[tuple[str, int, int]]:
        """Yield ``(rule id, start char, end char)`` for each match, in text order."""
        present = {"LEMMA": {t.lemma_ for t in doc}, "NORM": {t.norm_ for t in doc}}
        found = []
        for key, matcher, needs in self._rules:
            if any(all(_can_occur(present[attr], test) for attr, test in need) for need in needs):
                found.extend((key, start, end) for _, start, end in matcher(doc))
        for key, start, end in sorted(found, key=lambda m: (m[1], -m[2])):
            span = doc[start:end]
            yield key, span.start_char, span.end_char


Need = tuple[str, "frozenset[str] | re.Pattern[str]"]


def _can_occur(present: set[str], test: frozenset[str] | re.Pattern[str]) -> bool:
    if isinstance(test, frozenset):
        return not test.isdisjoint(present)
    return any(test.match(value) for value in present)


def _obligatory(pattern: list[dict[str, Any]]) -> list[Need]:
    """What a doc must contain for ``pattern`` to match: its tokens that are not optional."""
    needs: list[Need] = []
    for spec in pattern:
        op = spec.get("OP", "")
        if op in ("?", "*") or op.startswith("{0"):
            continue
        for attr in ("LEMMA", "NORM"):
            value = spec.get(attr)
            if isinstance(value, dict) and "IN" in value:
                needs.append((attr, frozenset(value["IN"])))
            elif isinstance(value, dict) and "REGEX" in value:
                needs.append((attr, re.compile(value["REGEX"])))
    return needs


def rare_words(doc: Doc, max_zipf: float) -> list[tuple[int, int]]:
    """Character spans of words rarer than ``max_zipf`` (wordfreq's Zipf scale: 3 = once per
    million words): names, places, products, jargon. Boilerplate is written in common words, so
    rare words are what a text written for one person is made of."""
    lang = doc.lang_
    return [
        (t.idx, t.idx + len(t.text))
        for t in doc
        if len(t.text) > 3 and not t.like_num and any(ch.isalpha() for ch in t.text)
        and _zipf(t.text, lang) < max_zipf
    ]


@lru_cache(maxsize=200_000)
def _zipf(word: str, lang: str) -> float:
    return zipf_frequency(word, lang)


_FUNCTION_WORDS: dict[str, frozenset[str]] = {}


def _function_words(lang: str) -> frozenset[str]:
    if lang not in _FUNCTION_WORDS:
        _FUNCTION_WORDS[lang] = frozenset(spacy.util.get_lang_class(lang).Defaults.stop_words)
    return _FUNCTION_WORDS[lang]


def detect_language(text: str, default: str = "de") -> tuple[str, float]:
    """Guess de or en for short texts: simplemma's dictionary coverage, ties broken by function words.

    Returns ``(code, confidence)``; empty or undecidable texts give ``(default, 0.0)``.
    """
    scores = dict(simplemma.langdetect(text, lang=SUPPORTED_LANGUAGES))
    words = [w.strip(".,!?;:'\"()") for w in fold(text).split()]
    for lang in SUPPORTED_LANGUAGES:
        stop = _function_words(lang)
        hits = sum(1 for w in words if w in stop)
        scores[lang] = scores.get(lang, 0.0) + 0.5 * hits / max(len(words), 1)
    ranked = sorted(SUPPORTED_LANGUAGES, key=lambda lang: scores.get(lang, 0.0), reverse=True)
    best, second = ranked[0], ranked[1]
    margin = scores[best] - scores[second]
    if scores[best] <= 0.0 or margin <= 0.0:
        return default, 0.0
    return best, round(min(1.0, margin), 2)
