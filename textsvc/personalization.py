"""The personalization score (0–100): how much of the text was written for this one person.

A genuine request names the person, refers to something concrete of theirs or to a shared event
or contact, says why, and proposes a next step (DOMAIN.md). Generic phrases, a template match and
leftover merge fields take points away. Every point is a signal with its evidence, and
``base + Σ signal points + clamp == score`` always holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from textsvc.messages import Messages
from textsvc.normalize import LEGAL_FORMS, fold
from textsvc.phrases import PhraseHit
from textsvc.policy import PersonalizationPolicy
from textsvc.schemas import Evidence, Personalization, Recipient, Signal
from textsvc.templates import name_words

_WORD = re.compile(r"\w+(?:[-'’]\w+)*", re.UNICODE)
_DETAIL = re.compile(
    r"https?://\S+"  # a link
    # numbers, dates, times; with a unit or ordinal (3pm, 24h, 5km, 2nd) or a room letter (4B);
    # not "10x", "5k": the figures of a sales pitch
    r"|\b\d[\d.,:/%]*(?:am|pm|h|min|km|kg|st|nd|rd|th|[A-Z])?\b"
    r"|\b[A-ZÄÖÜ][A-ZÄÖÜ0-9&]{1,9}\b"  # acronyms: DMEXCO, SAP, KPMG
    r"|\b[A-ZÄÖÜa-zäöü]+[a-zäöü][A-ZÄÖÜ]\w*"  # inner capitals: LogiMAT, PyData, iPhone
    r"|[„“\"«»][^„“\"«»\n]{3,80}[“”\"«»]",  # quoted titles
)


@dataclass
class _Found:
    factor: float = 0.0
    evidence: list[Evidence] = field(default_factory=list)

    def add(self, text: str, start: int, end: int, weight: float, rule_id: str | None = None) -> None:
        self.factor += weight
        self.evidence.append(Evidence(text=text[start:end], start=start, end=end, rule_id=rule_id))


@dataclass(frozen=True, slots=True)
class TextFacts:
    """What the NLP pass found in one text; every span is code points into the original text."""

    text: str
    sentences: Sequence[tuple[int, int]]  # sentence spans
    hits: Sequence[PhraseHit]  # generic phrases and personal signals from the lexicon
    placeholders: Sequence[tuple[int, int]]  # leftover merge fields
    rare: Sequence[tuple[int, int]]  # words rarer than policy.rare_word_zipf


def score_personalization(
    facts: TextFacts,
    recipient: Recipient | None,
    template: tuple[float, float] | None,
    policy: PersonalizationPolicy,
    messages: Messages,
) -> Personalization:
    """Score one text; ``template`` is ``(similarity, strength)`` of the best template match."""
    text, hits, placeholders = facts.text, facts.hits, facts.placeholders
    weights = policy.factors
    if not text.strip():
        signals = [Signal(id=s, present=False, points=0, detail=messages.get("signals", s)) for s in policy.points]
        return Personalization(score=0, base=0, clamp=0, signals=signals)
    generic = [h for h in hits if h.phrase.category == "GENERIC_PHRASE"]
    blocked = [(h.start, h.end) for h in generic] + list(placeholders)
    found = {sid: _Found() for sid in policy.points}
    sat = policy.signal_saturation
    for hit in hits:
        if hit.phrase.category == "PERSONAL_SIGNAL" and hit.phrase.signal in found:
            found[hit.phrase.signal].add(text, hit.start, hit.end, hit.phrase.weight, hit.phrase.id)
    filled = _recipient_mentions(text, recipient, found, blocked, sat, sat * weights["recipient_field"], messages)
    for start, end in facts.sentences:
        if text[start:end].rstrip().endswith("?") and not _covered(start, end, blocked):
            found["NEXT_STEP"].add(text, start, end, weights["question"] * sat)
    details = found["SPECIFIC_DETAILS"]
    for m in _DETAIL.finditer(text):
        if fold(m.group().strip("„“\"«»")) not in messages.common_acronyms and not _overlaps(m.start(), m.end(), blocked):
            details.add(text, m.start(), m.end(), weights["detail"] * sat)
    seen_words = {fold(e.text) for e in details.evidence}
    for start, end in facts.rare:
        word = fold(text[start:end])
        if word not in seen_words and word not in filled and not _overlaps(start, end, blocked):
            seen_words.add(word)
            details.add(text, start, end, weights["rare_word"] * sat)

    similarity, strength = template or (0.0, 0.0)
    keep = 1.0 - strength
    signals: list[Signal] = []
    for sid, f in found.items():
        points = round(policy.points[sid] * min(1.0, f.factor / sat) * keep) if f.evidence else 0
        detail = messages.get("signals", sid)
        if f.evidence and strength > 0:
            detail += f" ({messages.get('signals', 'DISCOUNTED', percent=round(keep * 100))})"
        signals.append(Signal(id=sid, present=bool(f.evidence), points=points, detail=detail, evidence=f.evidence))
    signals.extend(_penalties(text, generic, placeholders, similarity, strength, policy, messages))
    raw = policy.base + sum(s.points for s in signals)
    score = max(0, min(100, raw))
    return Personalization(score=score, base=policy.base, clamp=score - raw, signals=signals)


def _penalties(
    text: str,
    generic: Sequence[PhraseHit],
    placeholders: Sequence[tuple[int, int]],
    similarity: float,
    strength: float,
    policy: PersonalizationPolicy,
    messages: Messages,
) -> Iterable[Signal]:
    if generic:
        covered = sum(h.end - h.start for h in generic)
        percent = round(100 * covered / max(len(text.strip()), 1))
        points = -min(policy.generic_cap, round(sum(h.phrase.weight for h in generic)))
        yield Signal(
            id="GENERIC_PHRASES", present=True, points=points,
            detail=messages.get("signals", "GENERIC_PHRASES", percent=percent),
            evidence=[Evidence(text=text[h.start:h.end], start=h.start, end=h.end, rule_id=h.phrase.id) for h in generic],
        )
    if strength > 0:
        yield Signal(
            id="TEMPLATE_TEXT", present=True, points=-round(policy.template_penalty * strength),
            detail=messages.get("signals", "TEMPLATE_TEXT", similarity=f"{similarity:g}"),
        )
    if placeholders:
        yield Signal(
            id="LEFTOVER_PLACEHOLDER", present=True, points=-policy.placeholder_penalty,
            detail=messages.get("signals", "LEFTOVER_PLACEHOLDER"),
            evidence=[Evidence(text=text[s:e], start=s, end=e) for s, e in placeholders],
        )


def _recipient_mentions(
    text: str, recipient: Recipient | None, found: dict[str, _Found],
    blocked: list[tuple[int, int]], sat: float, field_weight: float, messages: Messages,
) -> frozenset[str]:
    """Name used; company, position, interests or groups of the recipient mentioned.

    A mention of a profile field counts less than a reference the lexicon recognises (a talk, an
    article): mail merge fills in the company too. Returns the folded words of the recipient's
    fields, which are not "rare details" of the text.
    """
    tokens = [(fold(m.group()), m.start(), m.end()) for m in _WORD.finditer(text)]
    r = recipient or Recipient()
    names = name_words([r.first_name, r.last_name])
    name_hits = [(s, e) for w, s, e in tokens if w in names]
    if not names:
        name_hits = _greeting_name(text, tokens, messages)
    for s, e in name_hits[:2]:
        found["RECIPIENT_NAME_USED"].add(text, s, e, sat)
    fields = [r.company, r.position, *r.interests, *r.groups]
    for value in fields:
        for s, e in _mentions(tokens, value):
            if not _overlaps(s, e, blocked):
                found["CONCRETE_REFERENCE"].add(text, s, e, field_weight)
                break
    return names | name_words(fields)


def _mentions(tokens: list[tuple[str, int, int]], value: str | None) -> list[tuple[int, int]]:
    """Where ``value`` (a company, position, interest) appears as a whole, or by its key word."""
    wanted = [w for w in (fold(m.group()) for m in _WORD.finditer(value or "")) if w not in LEGAL_FORMS]
    if not wanted:
        return []
    words = [t[0] for t in tokens]
    n = len(wanted)
    for i in range(len(words) - n + 1):
        if words[i : i + n] == wanted:
            return [(tokens[i][1], tokens[i + n - 1][2])]
    key = max(wanted, key=len)
    if len(key) >= 4:
        return [(s, e) for w, s, e in tokens if w == key or (len(key) >= 6 and w.startswith(key))][:1]
    return []


def _greeting_name(text: str, tokens: list[tuple[str, int, int]], messages: Messages) -> list[tuple[int, int]]:
    """Without recipient fields: the name right after an opening greeting ("Hallo Frau Berger")."""
    i = 0
    while i < min(len(tokens), 4) and tokens[i][0] in messages.greetings:
        i += 1
    if i == 0:
        return []
    while i < len(tokens) and tokens[i][0].rstrip(".") in messages.titles:
        i += 1
    if i < len(tokens):
        word, s, e = tokens[i]
        if text[s].isupper() and word not in messages.not_names and word not in messages.greetings:
            return [(s, e)]
    return []


def _overlaps(start: int, end: int, spans: Iterable[tuple[int, int]]) -> bool:
    return any(s < end and start < e for s, e in spans)


def _covered(start: int, end: int, spans: Iterable[tuple[int, int]]) -> bool:
    """Is most of ``[start, end)`` inside the given spans (a question that is itself a formula)?"""
    inside = sum(max(0, min(end, e) - max(start, s)) for s, e in spans)
    return inside >= 0.5 * (end - start)
