"""The phrase check: lexicon families matched over a doc, overlaps resolved, spans exact."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textsvc import lexicon as _lexicon_module
from textsvc import nlp as _nlp_module
from textsvc import normalize as _normalize_module
from textsvc.errors import LexiconError
from textsvc.lexicon import Lexicon, Phrase, compile_pattern, expand_groups
from textsvc.nlp import (
    LEMMATIZER_VERSION,
    Pipeline,
    RuleMatcher,
    correct_slip,
    know_words,
    lemma_of,
    meant,
    norm_as_meant,
    split_words,
    user_cache,
)
from textsvc.normalize import fold

# Compiled patterns depend on the lexicon files, the code that compiles them and the lemmatiser.
_COMPILER = hashlib.sha256(
    Path(_lexicon_module.__file__).read_bytes() + Path(_nlp_module.__file__).read_bytes()
    + Path(__file__).read_bytes() + Path(_normalize_module.__file__).read_bytes() + LEMMATIZER_VERSION.encode()
).hexdigest()


@dataclass(frozen=True, slots=True)
class PhraseHit:
    """One family found in the text; ``start``/``end`` are code points into the original text."""

    phrase: Phrase
    start: int
    end: int


class PhraseChecker:
    """Compiles a lexicon once into one matcher; ``find`` runs it over an analysed doc."""

    def __init__(self, pipeline: Pipeline, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self._phrases = lexicon.by_id()
        self._matcher = RuleMatcher(pipeline)
        know_words(lexicon.lang, lexicon.known)  # before compiling: patterns read their words as text is read
        # Compiling looks up the lemma of every lexicon word (0.3 s per language at every start of
        # every worker); the result is kept in the user's cache directory.
        compiled: dict[str, Any] = {}
        if lexicon.version:  # a lexicon read from files (one built in code has no version)
            key = hashlib.sha256(f"{lexicon.lang} {lexicon.version} {_COMPILER}".encode()).hexdigest()[:20]
            compiled = user_cache(f"patterns-{lexicon.lang}-{key}.msgpack", lambda: _compile(pipeline, lexicon),
                                  replaces=f"patterns-{lexicon.lang}-*.msgpack")
        if not isinstance(compiled, dict) or compiled.keys() != self._phrases.keys():
            compiled = _compile(pipeline, lexicon)
        for phrase in lexicon.phrases:
            try:
                self._matcher.add(phrase.id, compiled[phrase.id])
            except ValueError as exc:  # spaCy's pattern validation
                raise LexiconError(f"{phrase.group}:{phrase.id}: {exc}") from exc

    def find(self, doc: object, *, picky: bool = True) -> list[PhraseHit]:
        """All families in ``doc``, at most one family per stretch of text and kind.

        The kind is the category, and for personal signals the signal: "Sie hatten auf der
        Fachkonferenz erwähnt" is a shared event and a reference to the person's words at once.
        When two families of one kind overlap, the longer match wins, then the heavier family,
        then the earlier one; so no two generic findings ever claim the same words.
        """
        hits = [
            PhraseHit(self._phrases[rule_id], start, end)
            for rule_id, start, end in self._matcher(doc)  # type: ignore[arg-type]
            if picky or not self._phrases[rule_id].picky
        ]
        hits.sort(key=lambda h: (-(h.end - h.start), -h.phrase.weight, h.start))
        kept: list[PhraseHit] = []
        for hit in hits:
            if not any(
                _kind(k) == _kind(hit) and k.start < hit.end and hit.start < k.end for k in kept
            ):
                kept.append(hit)
        return sorted(kept, key=lambda h: (h.start, h.end))


def _compile(pipeline: Pipeline, lexicon: Lexicon) -> dict[str, list[list[dict[str, Any]]]]:
    """Every family's patterns as spaCy token patterns, groups expanded; raises ``LexiconError``."""
    lang = lexicon.lang
    out = {}
    for phrase in lexicon.phrases:
        try:
            out[phrase.id] = [
                compile_pattern(wording, lexicon.sets, lambda w: lemma_of(w, lang), lambda w: split_words(pipeline, w),
                                lambda w: meant(w, lang), lambda w: norm_as_meant(w, lang))
                for written in phrase.patterns
                for wording in expand_groups(written)
            ]
        except (LexiconError, ValueError) as exc:
            raise LexiconError(f"{phrase.group}:{phrase.id}: {exc}") from exc
    return out


def _kind(hit: PhraseHit) -> tuple[str, str | None]:
    return hit.phrase.category, hit.phrase.signal


_WORD = re.compile(r"\w+")


def slip_problems(lexicon: Lexicon) -> list[str]:
    """Words of the patterns and word sets that the pipeline would read as slips of others: a typo
    variant ("vernezten") is redundant, since the corrector reads it as the word it stands for; a
    real word no dictionary knows ("viber", which would read as "vier") must be listed under
    ``[words] known``, or its rule would match the other word. Prefixes and suffixes are exempt."""
    words: dict[str, str] = {}
    alternatives = [alt for phrase in lexicon.phrases for pattern in phrase.patterns
                    for elem in pattern.replace("(", " ").replace(")", " ").split() for alt in elem.split("|")]
    alternatives += [w for members in lexicon.sets.values() for w in members]
    for alt in alternatives:
        alt = alt.lstrip("!>").rstrip("?+")
        if alt.startswith(("@", "*")) or alt.endswith("*"):
            continue
        for word in _WORD.findall(alt):
            reading = correct_slip(word, lexicon.lang)
            if reading != word and fold(word) not in lexicon.known:
                words[word] = reading
    return [f"{lexicon.lang}: {w!r} reads as a slip of {r!r}: drop it (the corrector covers it) or, if it "
            f"is a word, list it under [words] known" for w, r in sorted(words.items())]


def example_problems(pipeline: Pipeline, checker: PhraseChecker) -> list[str]:
    """Every lexicon example that does not behave as marked: ``textsvc lexicon check``."""
    problems = []
    for phrase in checker.lexicon.phrases:
        for example in phrase.hits + phrase.misses:
            found = [(h.start, h.end) for h in checker.find(pipeline(example.text)) if h.phrase.id == phrase.id]
            if found != list(example.spans):
                got = ", ".join(repr(example.text[s:e]) for s, e in found) or "nothing"
                want = ", ".join(repr(example.text[s:e]) for s, e in example.spans) or "nothing"
                problems.append(f"{phrase.group}:{phrase.id}: {example.text!r}: expected {want}, found {got}")
    return problems
