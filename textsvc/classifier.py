"""The sentence classifier: the lexicon's back-off for boilerplate worded in a way no family knows.

Every lexicon family is one idea in the wordings its writers thought of, and each new writer's
wording is still about half new to it. The classifier reads a whole sentence instead: a logistic
regression over its lemmas (unigrams and bigrams; numbers and rare words as two classes of their
own) and over what the rest of the message shows (a personal signal, a generic phrase, rare
words). It only speaks where the lexicon is silent and the text holds nothing concrete:

* it reads a sentence no family matched in, or, in a sentence where only generic families
  matched, each clause (between punctuation marks) that none of them touches: boilerplate comes
  in runs, and a family often knows only one piece of a run;
* never a sentence with a personal signal in it;
* it is not a question and has no number, quoted title or acronym (a next step and the facts a
  personal text is made of), unless, for all but the quoted title, it is nearly certain
  (``certain``): pitches ask questions and quote figures too;
* the rest of the message shows no personal signal: in a personal message a plain sentence is
  context, not boilerplate. A proposed next step alone (``NEXT_STEP``: "Hätten Sie 15 Minuten?")
  does not count: pitches ask for calls as often as personal requests do (on the dev sets the
  three call signals matched 52 times in generic and 53 times in personal messages), so it is
  only a feature, ``ctx:next``;
* it has at least ``min_words`` words after a greeting (a bare greeting or "Thanks!" is not a finding).

A finding is one rule, ``<LANG>_GENERIC_SENTENCE``, with the sentence or clause as its span, and its
message names the words that weighed most, so every point it costs stays explained.

The weights are data (``corpora/classifier/<lang>.weights.json``), written by
``textsvc lexicon train`` from the lexicon's own hit and miss examples, the fit split of
``corpora/eval`` and the development sets in ``corpora/dev``; never from the test split. The rule
itself (message, weight, threshold, certain, min_words, examples) is ``corpora/classifier/<lang>.toml``.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from textsvc.errors import LexiconError
from textsvc.lexicon import Example, Lexicon, Phrase, load_lexicon, validate_phrase
from textsvc.nlp import build_pipeline, rare_words
from textsvc.phrases import PhraseChecker, PhraseHit
from textsvc.policy import NEXT_STEP

OPEN, CLOSE = "\u27e6", "\u27e7"  # ⟦ ⟧ mark the generic spans in corpora/eval and corpora/dev
_QUOTE = re.compile(r"[„“\"«»]")
_ACRONYM = re.compile(r"\b[A-ZÄÖÜ][A-ZÄÖÜ0-9&]{1,9}\b")
_GREETINGS = frozenset(
    "hallo hi hey liebe lieber sehr geehrt geehrte geehrter guten tag morgen moin servus grüß gott "
    "dear hello good greetings".split()
)
_QUOTES = {"de": "„{}“", "en": "“{}”"}
# Features on which the classifier stays silent, whatever the probability. Held out on blind
# development sets (bench/classifier_cv.py), its wrong findings were sentences of personal
# messages: questions ("Would you be willing to consider it?"), sentences with a figure, plain
# sentences of a message that shows a personal signal elsewhere. Rare words stay learnt features,
# in the sentence and around it: boilerplate often carries the sender's company and product
# names, and silencing on them cost recall on the dev sets without saving a wrong finding.
_SILENCING = frozenset({"#QUOTE", "#ACRONYM", "#QUESTION", "#NUM", "ctx:signal"})
# Of these, a question, a figure or an acronym is only a hint: a pitch asks questions too ("Sind
# Sie offen für neue Challenges?") and quotes its figures ("We've helped 50+ clinics"), so such a
# sentence is still reported when the classifier is nearly certain (the rule's ``certain``).
_HINTS = frozenset({"#ACRONYM", "#QUESTION", "#NUM"})


def split_of(item_id: str) -> str:
    """The fixed evaluation split of an item: 30 % "test" (reported, never learnt from), 70 % "fit"."""
    return "test" if int(hashlib.sha1(item_id.encode()).hexdigest(), 16) % 10 < 3 else "fit"


def unmark(marked: str) -> tuple[str, list[tuple[int, int]]]:
    """Remove ⟦ ⟧ markers; return the text and the marked (generic) spans."""
    text: list[str] = []
    spans: list[tuple[int, int]] = []
    start = 0
    for ch in marked:
        if ch == OPEN:
            start = len(text)
        elif ch == CLOSE:
            spans.append((start, len(text)))
        else:
            text.append(ch)
    return "".join(text), spans


def content_words(sent) -> list:  # type: ignore[no-untyped-def]
    """The words of a sentence after a leading greeting ("Hallo Lisa, …", "Hi Dana, …")."""
    words = [t for t in sent if t.text[0].isalnum() or t.text[-1].isalnum()]  # not punctuation, emoji
    if words and (words[0].lower_ in _GREETINGS or words[0].lemma_.lower() in _GREETINGS):
        comma = next((t for t in sent[:6] if t.text == ","), None)
        if comma is not None:
            return [t for t in words if t.i > comma.i]
    return words


def flags(sent, words: list, hits: Sequence[PhraseHit], rare_starts: frozenset[int]) -> list[str]:  # type: ignore[type-arg]
    """The cheap features of sentence ``sent``: its shape (``#SHORT``, ``#QUESTION``, ``#NUM``,
    ``#QUOTE``, ``#ACRONYM``) and what the rest of the message shows (``ctx:signal``, or
    ``ctx:next`` when its only signal is a proposed next step, ``ctx:generic``, ``ctx:rare``).
    ``words`` are its ``content_words``."""
    out = []
    text = sent.text
    if len(words) < 5:
        out.append("#SHORT")
    if sent.sent.text.rstrip().endswith("?"):  # a clause of a question is part of it
        out.append("#QUESTION")
    if any(t.like_num for t in words):
        out.append("#NUM")
    if _QUOTE.search(text):
        out.append("#QUOTE")
    if _ACRONYM.search(text):
        out.append("#ACRONYM")
    a, b = sent.start_char, sent.end_char
    outside = [h for h in hits if not (a <= h.start < b)]
    signals = {h.phrase.signal for h in outside if h.phrase.category == "PERSONAL_SIGNAL"}
    if signals - {NEXT_STEP}:
        out.append("ctx:signal")
    elif signals:
        out.append("ctx:next")
    if any(h.phrase.category == "GENERIC_PHRASE" for h in outside):
        out.append("ctx:generic")
    if sum(1 for s in rare_starts if not (a <= s < b)) >= 2:
        out.append("ctx:rare")
    return out


def word_features(words: list, rare_starts: frozenset[int]) -> list[str]:  # type: ignore[type-arg]
    """``u:`` lemmas and ``b:`` lemma bigrams of ``words``; numbers are ``#NUM``, rare words ``#RARE``."""
    out = []
    prev = "<S>"
    for t in words:
        lemma = "#NUM" if t.like_num else "#RARE" if t.idx in rare_starts else t.lemma_.lower()
        out.append("u:" + lemma)
        out.append("b:" + prev + "_" + lemma)
        prev = lemma
    return out


def features(sent, hits: Sequence[PhraseHit], rare_starts: frozenset[int]) -> list[str]:  # type: ignore[no-untyped-def]
    """All features of sentence ``sent`` (its words after a greeting), as the model sees them."""
    words = content_words(sent)
    return flags(sent, words, hits, rare_starts) + word_features(words, rare_starts)


_CLAUSE_BREAKS = frozenset(",;:–—-()")


def units(sent, hits: Sequence[PhraseHit]) -> list:  # type: ignore[no-untyped-def]
    """What the classifier reads of sentence ``sent``: the whole sentence when no family matched
    in it; when only generic families did, its clauses (between punctuation marks) that no family
    touches ("happy to support, wenn du mal was brauchst – [lass uns connecten]"); nothing when a
    personal signal matched in it."""
    a, b = sent.start_char, sent.end_char
    inside = [h for h in hits if h.start < b and a < h.end]
    if not inside:
        return [sent]
    if any(h.phrase.category != "GENERIC_PHRASE" for h in inside):
        return []
    out, start = [], sent.start
    for t in [*sent, None]:
        if t is None or t.text in _CLAUSE_BREAKS and (t.text != "-" or _spaced(t)):  # not "AI-driven"
            end = sent.end if t is None else t.i
            clause = sent.doc[start:end]
            if end > start and not any(h.start < clause.end_char and clause.start_char < h.end for h in inside):
                out.append(clause)
            start = end + 1
    return out


def _spaced(token) -> bool:  # type: ignore[no-untyped-def]
    """Does whitespace stand on both sides of ``token`` (a dash " - ", not a hyphen)?"""
    return bool(token.whitespace_) and token.i > 0 and bool(token.doc[token.i - 1].whitespace_)


def _number(spec: dict, key: str) -> float:
    """A number of the rule file (``KeyError`` naming the key when it is missing)."""
    if key not in spec:
        raise KeyError(f"missing {key!r}")
    value = spec[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{key} must be a number, got {value!r}")
    return float(value)


@dataclass(frozen=True, slots=True)
class SentenceClassifier:
    """The back-off of one language: its rule, weights, and the probability it reports from."""

    rule: Phrase
    threshold: float
    certain: float  # the probability from which a question, figure or acronym no longer silences it
    min_words: int
    bias: float
    weights: dict[str, float]
    version: str

    @classmethod
    def load(cls, root: Path, lang: str) -> SentenceClassifier:
        """``root/<lang>.toml`` (the rule) and ``root/<lang>.weights.json`` (the trained weights)."""
        path = root / f"{lang}.toml"
        try:
            raw = path.read_bytes()
            spec = tomllib.loads(raw.decode("utf-8"))
            weights_raw = (root / f"{lang}.weights.json").read_bytes()
            trained = json.loads(weights_raw)
            rule = Phrase(
                id=spec["id"], lang=lang, group="classifier", category="GENERIC_PHRASE",
                weight=float(spec["weight"]), message=spec["message"], short_message=spec["short"],
                replacements=tuple(spec.get("replacements", ())), hint=spec["hint"], patterns=("(classifier)",),
                hits=tuple(Example.parse(h) for h in spec["hit"]), misses=tuple(Example.parse(m) for m in spec["miss"]),
            )
            threshold, certain, min_words = (_number(spec, key) for key in ("threshold", "certain", "min_words"))
        except (OSError, KeyError, TypeError, ValueError, tomllib.TOMLDecodeError) as exc:
            raise LexiconError(f"{path}: {exc}") from exc
        problems = [p for p in validate_phrase(rule) if "replacement" not in p]
        if not 0 < threshold <= certain:  # above 1: never (the benches switch it off with 2.0)
            problems.append(f"need 0 < threshold <= certain, got threshold {threshold}, certain {certain}")
        if min_words < 1 or min_words != int(min_words):
            problems.append(f"min_words must be a whole number of at least 1, got {min_words}")
        if "{words}" not in rule.message:
            problems.append("the message must name the weighing words with {words}")
        if problems:
            raise LexiconError(f"{path}: " + "; ".join(problems))
        version = hashlib.sha256(raw + weights_raw).hexdigest()[:12]
        return cls(rule=rule, threshold=threshold, certain=certain, min_words=int(min_words), bias=float(trained["bias"]),
                   weights=trained["weights"], version=version)

    def probability(self, feats: Iterable[str]) -> float:
        z = self.bias + sum(self.weights.get(f, 0.0) for f in set(feats))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def find(self, doc, hits: Sequence[PhraseHit], rare: Sequence[tuple[int, int]]) -> list[PhraseHit]:  # type: ignore[no-untyped-def]
        """Generic sentences and clauses the lexicon found nothing in (see ``units``); each hit's
        message names its words."""
        rare_starts = frozenset(s for s, _ in rare)
        out = []
        for sent in (unit for s in doc.sents for unit in units(s, hits)):
            words = content_words(sent)
            if len(words) < self.min_words:
                continue
            shape = flags(sent, words, hits, rare_starts)
            silencing = _SILENCING.intersection(shape)
            if silencing - _HINTS:
                continue
            needed = max(self.certain, self.threshold) if silencing else self.threshold
            if self.probability(shape + word_features(words, rare_starts)) < needed:
                continue
            start, end = words[0].idx, words[-1].idx + len(words[-1].text)
            top = sorted(  # the content words that weighed most ("Leute", not "ja")
                {t.text: self.weights.get("u:" + t.lemma_.lower(), 0.0) for t in words if not t.is_stop}.items(),
                key=lambda kv: -kv[1],
            )[:3]
            quote = _QUOTES[self.rule.lang]
            named = ", ".join(quote.format(w) for w, weight in top if weight > 0) or quote.format(words[0].text)
            out.append(PhraseHit(replace(self.rule, message=self.rule.message.format(words=named)), start, end))
        return out


# --- training (``textsvc lexicon train``) ----------------------------------------------------

Row = tuple[list[str], int, float]  # features, label (1 = generic), weight
# A sentence of a marked message counts this many times a lexicon example: messages show sentences
# in context (which example sentences do not), and the examples outnumber them ten to one.
MESSAGE_WEIGHT = 3.0


def training_rows(pipeline, checker: PhraseChecker, lexicon: Lexicon, messages: Iterable[dict],  # type: ignore[no-untyped-def]
                  max_zipf: float) -> list[Row]:
    """Labelled sentences, and the clauses ``units`` reads beside a generic family's match: the
    lexicon's examples (a sentence holding a generic hit's span is generic; a miss or a personal
    signal's example with no generic family in it is not), and marked messages (a sentence or
    clause at least 40 % marked is generic, one with no mark is not; in between is left out)."""
    rows: list[Row] = []

    def add(text: str, gold: list[tuple[int, int]] | None, weight: float = 1.0) -> None:
        doc = pipeline(text)
        hits = checker.find(doc)
        rare = frozenset(s for s, _ in rare_words(doc, max_zipf))
        generic = [(h.start, h.end) for h in hits if h.phrase.category == "GENERIC_PHRASE"]
        for sent in doc.sents:
            # the sentence, and the clauses the classifier reads where a generic family matched
            for unit in [sent, *(u for u in units(sent, hits) if u is not sent)]:
                a, b = unit.start_char, unit.end_char
                size = len(unit.text.strip())
                if not size:
                    continue
                if gold is None:  # a miss or a personal signal's example: not generic unless a family says so
                    if any(s < b and a < e for s, e in generic):
                        continue
                    label = 0
                else:
                    covered = sum(max(0, min(b, e) - max(a, s)) for s, e in gold)
                    label = 1 if covered >= 0.4 * size else 0 if covered == 0 else -1
                    if label < 0:
                        continue
                rows.append((features(unit, hits, rare), label, weight))

    for phrase in lexicon.phrases:
        for example in phrase.hits:
            add(example.text, list(example.spans) if phrase.category == "GENERIC_PHRASE" else None)
        for example in phrase.misses:
            add(example.text, None)
    for message in messages:
        text, gold = unmark(message["marked"])
        add(text, gold, MESSAGE_WEIGHT)
    return rows


def fit(rows: Sequence[Row], *, l2: float = 1.0, epochs: int = 150, rate: float = 0.5,
        keep: float = 0.01) -> tuple[float, dict[str, float]]:
    """Logistic regression by full-batch AdaGrad; deterministic. Returns the bias and the weights
    of magnitude at least ``keep``, rounded to 3 decimals."""
    import numpy as np

    vocab: dict[str, int] = {}
    for feats, _, _ in rows:
        for f in feats:
            vocab.setdefault(f, len(vocab))
    columns = [sorted({vocab[f] for f in feats}) for feats, _, _ in rows]
    idx = np.array([c for cols in columns for c in cols], dtype=np.int64)
    row_of = np.repeat(np.arange(len(rows)), [len(cols) for cols in columns])
    y = np.array([label for _, label, _ in rows], dtype=float)
    sample = np.array([weight for _, _, weight in rows], dtype=float)
    sample /= sample.mean()
    n, w, bias = len(rows), np.zeros(len(vocab)), 0.0
    g2, gb2 = np.full(len(vocab), 1e-8), 1e-8
    for _ in range(epochs):
        z = np.bincount(row_of, weights=w[idx], minlength=n) + bias
        err = (1.0 / (1.0 + np.exp(-z)) - y) * sample
        grad = np.bincount(idx, weights=err[row_of], minlength=len(vocab)) / n + l2 * w / n
        gb = float(err.mean())
        g2 += grad * grad
        gb2 += gb * gb
        w -= rate * grad / np.sqrt(g2)
        bias -= rate * gb / math.sqrt(gb2)
    weights = {f: round(float(w[i]), 3) for f, i in sorted(vocab.items()) if abs(w[i]) >= keep}
    return round(bias, 3), weights


def read_marked(path: Path, lang: str | None = None, split: str | None = None) -> list[dict]:
    """The marked messages of a JSONL file, of one language and one split if given."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if (lang is None or r["language"] == lang) and (split is None or split_of(r["id"]) == split)]


def training_messages(corpora: Path, lang: str) -> list[dict]:
    """What the classifier learns from besides the lexicon: the fit split of ``corpora/eval`` and
    every development set in ``corpora/dev``. The test split is never read."""
    messages = read_marked(corpora / "eval" / "messages.jsonl", lang, split="fit")
    for path in sorted((corpora / "dev").glob("*.jsonl")):
        messages += read_marked(path, lang)
    return messages


def train(corpora: Path, lang: str, max_zipf: float) -> dict:
    """Fit the weights of ``lang`` from the lexicon and the marked messages; the JSON document
    ``textsvc lexicon train`` writes to ``corpora/classifier/<lang>.weights.json``."""
    pipeline = build_pipeline(lang)
    lexicon = load_lexicon(corpora / "lexicon", lang)
    messages = training_messages(corpora, lang)
    rows = training_rows(pipeline, PhraseChecker(pipeline, lexicon), lexicon, messages, max_zipf)
    bias, weights = fit(rows)
    positives = sum(label for _, label, _ in rows)
    return {"language": lang, "trained_on": {"sentences": len(rows), "generic": positives,
                                             "messages": len(messages), "lexicon": lexicon.version},
            "bias": bias, "weights": weights}


def example_problems(pipeline, checker: PhraseChecker, classifier: SentenceClassifier,  # type: ignore[no-untyped-def]
                     max_zipf: float) -> list[str]:
    """The classifier rule's examples that do not behave as marked (after the lexicon ran)."""
    problems = []
    for example in classifier.rule.hits + classifier.rule.misses:
        doc = pipeline(example.text)
        found = [(h.start, h.end) for h in classifier.find(doc, checker.find(doc), rare_words(doc, max_zipf))]
        if found != list(example.spans):
            got = ", ".join(repr(example.text[s:e]) for s, e in found) or "nothing"
            want = ", ".join(repr(example.text[s:e]) for s, e in example.spans) or "nothing"
            problems.append(f"classifier:{classifier.rule.id}: {example.text!r}: expected {want}, found {got}")
    return problems
