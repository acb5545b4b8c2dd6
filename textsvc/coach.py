"""The writing coach: what a draft lacks and what is wrong with it, before it is sent.

Readiness is structural (``policy.coach.ready_requires``): a draft that names something concrete
or shared and says why or what next is ready, even if a stock phrase remains (that phrase is still
highlighted). Blockers (a leftover merge field, a known template, over the platform's limit, mixed
du/Sie, no text where the sender could write one) always mean ``revise``.
"""

from __future__ import annotations

import re

from textsvc.engine import Findings
from textsvc.normalize import fold, utf16_span
from textsvc.policy import CoachPolicy
from textsvc.schemas import AnalyzeRequest, CheckVerdict, Length, Replacement, Suggestion
from textsvc.templates import name_words

_SIE = re.compile(r"(?<![.!?:]\s)(?<!^)\b(?:Sie|Ihnen|Ihr|Ihre|Ihren|Ihrem|Ihrer|Ihres)\b", re.MULTILINE)
_DU = re.compile(r"\b(?:du|dich|dir|dein|deine|deinen|deinem|deiner|deines|euch|euer|eure|euren|eurem|eurer)\b",
                 re.IGNORECASE)


_FRAME_MIN_WORDS = 5  # a shorter line without a finding is a greeting or a sign-off


def coach(req: AnalyzeRequest, f: Findings, policy: CoachPolicy) -> tuple[CheckVerdict, list[Suggestion], Length]:
    """Judge a draft: ``(verdict, suggestions, length)``; blockers come first in the suggestions."""
    text = req.text
    limit = policy.length_limits.get(req.platform or "")
    length = Length(chars=len(text), limit=limit)
    say = f.messages.get
    if not text.strip():
        membership = req.sender.membership if req.sender else None
        key = {"basic": "EMPTY_BASIC", "premium": "EMPTY_PREMIUM"}.get(membership or "", "EMPTY_UNKNOWN")
        severity = "improvement" if membership == "basic" else "blocker"
        action = "ready" if membership == "basic" else "revise"
        return (CheckVerdict(action=action, score=0), [Suggestion(id=key, severity=severity, message=say("coach", key))],
                length)

    blockers: list[Suggestion] = []
    for start, end in f.placeholders:
        blockers.append(_at(text, start, end, Suggestion(
            id="LEFTOVER_PLACEHOLDER", severity="blocker",
            message=say("coach", "LEFTOVER_PLACEHOLDER", field=text[start:end]),
            replacements=[Replacement(value=req.recipient.first_name)] if req.recipient and req.recipient.first_name else [],
        )))
    if f.best is not None:
        blockers.append(Suggestion(id="TEMPLATE_LIKE", severity="blocker",
                                   message=say("coach", "TEMPLATE_LIKE", similarity=f"{f.best.similarity:g}")))
    if limit is not None and len(text) > limit:
        blockers.append(_at(text, limit, len(text), Suggestion(
            id="TOO_LONG", severity="blocker",
            message=say("coach", "TOO_LONG", chars=len(text), limit=limit, platform=(req.platform or "").title()),
        )))
    if f.language.code == "de" and _SIE.search(text) and _DU.search(text):
        blockers.append(Suggestion(id="MIXED_ADDRESS", severity="blocker", message=say("coach", "MIXED_ADDRESS")))

    present = {s.id for s in f.personalization.signals if s.present}
    missing: list[Suggestion] = []
    for group in policy.ready_requires:
        if not present.intersection(group):
            missing.append(_missing(group, req, say))
    r = req.recipient
    if r and r.first_name and "RECIPIENT_NAME_USED" not in present:
        name = " ".join(x for x in (r.first_name, r.last_name) if x)
        missing.append(Suggestion(id="MISSING_NAME", severity="improvement", message=say("coach", "MISSING_NAME", name=name)))

    names = _name_words(req)
    polish = _formulaic_frame(text, f) + [
        _at(text, start, end, Suggestion(id="SPELLING", severity="improvement",
                                         message=say("coach", "SPELLING", typed=text[start:end], meant=meant),
                                         replacements=[Replacement(value=meant)]))
        for start, end, meant in f.slips if fold(text[start:end]) not in names
    ]
    action = "ready" if not blockers and not any(m.id.startswith("MISSING_") and m.id != "MISSING_NAME" for m in missing) else "revise"
    return CheckVerdict(action=action, score=f.personalization.score), blockers + missing + polish, length


def _name_words(req: AnalyzeRequest) -> frozenset[str]:
    """The words of the people's names, companies and positions given with the draft: never slips."""
    r, sender = req.recipient, req.sender
    fields = [r.first_name, r.last_name, r.company, r.position] if r else []
    fields += [sender.name, sender.company, sender.position, sender.headline] if sender else []
    return name_words(fields)


def _missing(group: list[str], req: AnalyzeRequest, say) -> Suggestion:  # type: ignore[no-untyped-def]
    if "CONCRETE_REFERENCE" in group:
        r = req.recipient
        hints = [x for x in ([r.company, r.position, *r.interests, *r.groups] if r else []) if x]
        if hints:
            return Suggestion(id="MISSING_REFERENCE", severity="improvement",
                              message=say("coach", "MISSING_REFERENCE_HINT", hint=", ".join(hints[:3])))
        return Suggestion(id="MISSING_REFERENCE", severity="improvement", message=say("coach", "MISSING_REFERENCE"))
    return Suggestion(id="MISSING_REASON_OR_STEP", severity="improvement", message=say("coach", "MISSING_REASON_OR_STEP"))


def _formulaic_frame(text: str, f: Findings) -> list[Suggestion]:
    """A stock phrase in the first or the last sentence: the opening or closing is pure formula.
    A short line without a finding before or after (the greeting "Hallo Frau Roth", the sign-off
    "LG Tom") is not the opening or closing."""
    body = [(a, b) for a, b in f.sentences
            if len(text[a:b].split()) >= _FRAME_MIN_WORDS or any(a <= m.start < b for m in f.matches)]
    if not body:
        return []
    first, last = body[0], body[-1]
    out = []
    for m in f.matches:
        if m.category != "GENERIC_PHRASE":
            continue
        where = "FORMULAIC_OPENING" if m.start < first[1] else "FORMULAIC_CLOSING" if m.start >= last[0] else None
        if where:
            out.append(_at(text, m.start, m.end, Suggestion(
                id=where, severity="improvement",
                message=f.messages.get("coach", "FORMULAIC_PHRASE", text=m.text, message=" ".join(
                    x for x in (m.message, m.hint) if x)),
                replacements=m.replacements,
            )))
    return out


def _at(text: str, start: int, end: int, s: Suggestion) -> Suggestion:
    offset, length = utf16_span(text, start, end)
    s.start, s.end, s.offset, s.length = start, end, offset, length
    return s
