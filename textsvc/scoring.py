"""The verdict: the text's personalization and the profile checks combined into one score.

Like rspamd's symbols, every term is a named line with its points; the lines add up to the score
exactly (``BASE`` and a ``CLAMP`` line included), and thresholds from the policy pick the action.
"""

from __future__ import annotations

from collections.abc import Sequence

from textsvc.messages import Messages
from textsvc.policy import Policy
from textsvc.profile import CheckResult
from textsvc.schemas import Explanation, Personalization, SightingOut, TemplateMatch, Verdict


def decide(
    *,
    empty_text: bool,
    personalization: Personalization,
    template: TemplateMatch | None,
    template_strength: float,
    placeholders: int,
    checks: Sequence[CheckResult],
    policy: Policy,
    messages: Messages,
    mass_sent: SightingOut | None = None,
) -> tuple[Verdict, list[Explanation]]:
    """Combine everything into ``(verdict, explanations)``; Σ explanation points == verdict score."""
    v = policy.verdict
    lines = [Explanation(id="BASE", points=v.base, detail=messages.get("verdict", "BASE"))]
    if empty_text:
        lines.append(Explanation(id="EMPTY_TEXT", points=0, detail=messages.get("verdict", "EMPTY_TEXT")))
    else:
        p = personalization.score
        lines.append(
            Explanation(
                id="TEXT_PERSONALIZATION",
                points=round((p - 50) * v.text_factor),
                detail=messages.get("verdict", "TEXT_PERSONALIZATION", score=p),
            )
        )
    if template is not None:
        lines.append(
            Explanation(
                id="TEMPLATE_NEAR_DUPLICATE",
                points=-round(v.template_points * template_strength),
                detail=messages.get(
                    "verdict", "TEMPLATE_NEAR_DUPLICATE", template=template.template_id,
                    similarity=f"{template.similarity:g}", times=template.times_seen,
                ),
            )
        )
    elif mass_sent is not None and mass_sent.mass_sent:
        lines.append(
            Explanation(
                id="MASS_SENT_UNLISTED",
                points=-v.template_points,
                detail=messages.get("verdict", "MASS_SENT_UNLISTED", senders=mass_sent.distinct_senders,
                                    total=mass_sent.total),
            )
        )
    if placeholders:
        lines.append(Explanation(id="LEFTOVER_PLACEHOLDER", points=-v.placeholder_points,
                                 detail=messages.get("verdict", "LEFTOVER_PLACEHOLDER")))
    for check in checks:
        if check.status == "unknown":
            continue
        passed, failed = policy.profile.points[check.id]
        lines.append(Explanation(id=check.id, points=passed if check.status == "passed" else failed,
                                 detail=check.message))
    raw = sum(line.points for line in lines)
    score = max(0, min(100, raw))
    if score != raw:
        lines.append(Explanation(id="CLAMP", points=score - raw, detail=messages.get("verdict", "CLAMP")))
    if score >= v.accept_at:
        action = "accept"
    elif score < v.decline_below:
        action = "decline"
    else:
        action = "review"
    return Verdict(action=action, score=score, reasons=_reasons(lines, action)), lines


def _reasons(lines: Sequence[Explanation], action: str) -> list[str]:
    """The lines that pushed hardest toward the action (up to three)."""
    movers = [line for line in lines if line.id not in ("BASE", "CLAMP") and line.points != 0]
    if action == "accept":
        chosen = sorted((line for line in movers if line.points > 0), key=lambda line: -line.points)
    else:
        chosen = sorted((line for line in movers if line.points < 0), key=lambda line: line.points)
    return [line.id for line in chosen[:3]]
