"""Profile checks: what the sender's numbers say (DOMAIN.md, "What the profile says").

Each check is ``passed``, ``failed`` or ``unknown``. Missing or hidden numbers are unknown and
cost nothing: the network may hide the contact count, and that is not the sender's fault.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from textsvc.messages import Messages
from textsvc.policy import ProfilePolicy
from textsvc.schemas import Sender


@dataclass(frozen=True, slots=True)
class CheckResult:
    id: str
    status: str  # passed | failed | unknown
    message: str
    value: float | None = None
    threshold: float | None = None


def check_profile(
    sender: Sender | None, policy: ProfilePolicy, messages: Messages, today: date
) -> list[CheckResult]:
    """Run every profile check, in a fixed order; without a sender all are unknown."""
    s = sender or Sender()
    checks: list[Callable[[], CheckResult]] = [
        lambda: _visitors_per_contact(s, policy, messages),
        lambda: _visited(s, messages),
        lambda: _completeness(s, policy, messages),
        lambda: _shared(s, messages),
        lambda: _activity(s, messages),
        lambda: _membership(s, policy, messages, today),
    ]
    return [check() for check in checks]


def _result(messages: Messages, cid: str, status: str, value: float | None = None,
            threshold: float | None = None, key: str | None = None, shown: str | None = None,
            **fmt: object) -> CheckResult:
    """A check result with its message; ``shown`` replaces the number in the message text."""
    text = messages.get("profile", f"{cid}.{key or status}",
                        value=_fmt(value) if shown is None else shown, threshold=_fmt(threshold), **fmt)
    return CheckResult(cid, status, text, value, threshold)


def _fmt(x: float | None) -> str:
    if x is None:
        return ""
    return f"{x:g}" if x == int(x) else f"{x:.1f}"


def _visitors_per_contact(s: Sender, p: ProfilePolicy, m: Messages) -> CheckResult:
    cid = "PROFILE_VISITORS_PER_CONTACT"
    if s.contacts is None or s.profile_visitors is None:
        return _result(m, cid, "unknown", threshold=p.visitors_per_contact)
    if s.contacts < p.min_contacts_for_ratio:
        return _result(m, cid, "unknown", threshold=p.visitors_per_contact, key="few", contacts=s.contacts)
    ratio = round(s.profile_visitors / s.contacts, 1)
    status = "passed" if ratio >= p.visitors_per_contact else "failed"
    return _result(m, cid, status, ratio, p.visitors_per_contact,
                   visitors=f"{s.profile_visitors:,}".replace(",", "."), contacts=f"{s.contacts:,}".replace(",", "."))


def _visited(s: Sender, m: Messages) -> CheckResult:
    cid = "SENDER_VISITED_PROFILE"
    if s.visited_recipient_profile is None:
        return _result(m, cid, "unknown")
    return _result(m, cid, "passed" if s.visited_recipient_profile else "failed")


def _completeness(s: Sender, p: ProfilePolicy, m: Messages) -> CheckResult:
    cid = "PROFILE_COMPLETENESS"
    if s.profile_completeness is None:
        return _result(m, cid, "unknown", threshold=p.completeness)
    status = "passed" if s.profile_completeness >= p.completeness else "failed"
    return _result(m, cid, status, s.profile_completeness, p.completeness,
                   percent=round(s.profile_completeness * 100))


def _shared(s: Sender, m: Messages) -> CheckResult:
    cid = "SHARED_CONTACTS_OR_INTERESTS"
    contacts, interests = s.shared_contacts, s.shared_interests
    if contacts is None and interests is None:
        return _result(m, cid, "unknown")
    parts = []
    if contacts:
        parts.append(f"{contacts} {'Kontakte' if m.lang == 'de' else 'contacts'}")
    if interests:
        parts.append(", ".join(interests[:5]))
    if parts:
        shared = float((contacts or 0) + len(interests or []))
        return _result(m, cid, "passed", shared, 1.0, shown="; ".join(parts))
    return _result(m, cid, "failed", 0.0, 1.0)


def _activity(s: Sender, m: Messages) -> CheckResult:
    cid = "SENDER_ACTIVITY"
    a = s.activity
    if a is None:
        return _result(m, cid, "unknown")
    content = (a.articles or 0) + (a.group_posts or 0)
    ads = a.promotional_posts or 0
    if content == 0 and ads == 0:
        return _result(m, cid, "unknown")
    share = round(content / (content + ads), 2)
    status = "passed" if content >= ads else "failed"
    return _result(m, cid, status, share, 0.5, content=content, ads=ads)


def _membership(s: Sender, p: ProfilePolicy, m: Messages, today: date) -> CheckResult:
    cid = "MEMBERSHIP_DURATION"
    if not s.member_since:
        return _result(m, cid, "unknown", threshold=p.membership_months)
    year, _, month = s.member_since.partition("-")
    months = (today.year - int(year)) * 12 + today.month - int(month or 1)
    if months < 0:
        return _result(m, cid, "unknown", threshold=p.membership_months)
    status = "passed" if months >= p.membership_months else "failed"
    return _result(m, cid, status, float(months), float(p.membership_months), since=s.member_since)
