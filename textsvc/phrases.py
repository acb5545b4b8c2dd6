"""The phrase check: lexicon families matched over a doc, overlaps resolved, spans exact."""

from __future__ import annotations

from dataclasses import dataclass

from textsvc.errors import LexiconError
from textsvc.lexicon import Lexicon, Phrase, compile_pattern, expand_groups
from textsvc.nlp import Pipeline, RuleMatcher, lemma_of, split_words


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
        lang = lexicon.lang
        for phrase in lexicon.phrases:
            try:
                patterns = [
                    compile_pattern(
                        wording,
                        lexicon.sets,
                        lambda w: lemma_of(w, lang),
                        lambda w: split_words(pipeline, w),
                    )
                    for written in phrase.patterns
                    for wording in expand_groups(written)
                ]
                self._matcher.add(phrase.id, patterns)
            except (LexiconError, ValueError) as exc:
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


def _kind(hit: PhraseHit) -> tuple[str, str | None]:
    return hit.phrase.category, hit.phrase.signal


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
