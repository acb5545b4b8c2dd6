"""Profile checks (DOMAIN.md): collectors by numbers, visited profile, completeness, activity."""

from __future__ import annotations

from datetime import date

import msgspec
import pytest

from tests.conftest import CORPORA
from textsvc.messages import load_messages
from textsvc.policy import load_policy
from textsvc.profile import check_profile
from textsvc.schemas import Sender

POLICY = load_policy(CORPORA / "policy.toml").profile
MESSAGES = load_messages(CORPORA / "messages", "de")
TODAY = date(2026, 11, 26)


def checks(**sender):
    s = msgspec.convert(sender, Sender) if sender else None
    return {c.id: c for c in check_profile(s, POLICY, MESSAGES, TODAY)}


def test_without_a_profile_everything_is_unknown():
    assert {c.status for c in checks().values()} == {"unknown"}


# fmt: off
@pytest.mark.parametrize(("contacts", "visitors", "status", "value"), [
    (1000, 4000, "failed", 4.0),     # DOMAIN.md: the collector
    (1000, 10000, "passed", 10.0),   # exactly 10:1 is enough
    (250, 9000, "passed", 36.0),
    (None, 4000, "unknown", None),   # hidden contact count: unknown, not failed
    (1000, None, "unknown", None),
    (12, 30, "unknown", None),       # too few contacts for a meaningful ratio
])
# fmt: on
def test_visitors_per_contact(contacts, visitors, status, value):
    c = checks(contacts=contacts, profileVisitors=visitors)["PROFILE_VISITORS_PER_CONTACT"]
    assert (c.status, c.value) == (status, value)
    if status == "failed":
        assert "4.000 Profilbesucher bei 1.000 Kontakten" in c.message
        assert c.threshold == 10.0


@pytest.mark.parametrize(("visited", "status"), [(True, "passed"), (False, "failed"), (None, "unknown")])
def test_visited_recipient_profile(visited, status):
    assert checks(visitedRecipientProfile=visited)["SENDER_VISITED_PROFILE"].status == status


def test_completeness_shared_activity_membership():
    c = checks(
        profileCompleteness=0.4, sharedContacts=0, sharedInterests=[],
        activity={"articles": 0, "groupPosts": 1, "promotionalPosts": 12}, memberSince="2026-09",
    )
    assert c["PROFILE_COMPLETENESS"].status == "failed"
    assert c["SHARED_CONTACTS_OR_INTERESTS"].status == "failed"
    assert c["SENDER_ACTIVITY"].status == "failed"
    assert (c["MEMBERSHIP_DURATION"].status, c["MEMBERSHIP_DURATION"].value) == ("failed", 2.0)
    good = checks(
        profileCompleteness=0.9, sharedContacts=3, sharedInterests=["Retail Media"],
        activity={"articles": 4, "groupPosts": 6, "promotionalPosts": 2}, memberSince="2015",
    )
    assert all(good[k].status == "passed" for k in
               ("PROFILE_COMPLETENESS", "SHARED_CONTACTS_OR_INTERESTS", "SENDER_ACTIVITY", "MEMBERSHIP_DURATION"))
    assert "Retail Media" in good["SHARED_CONTACTS_OR_INTERESTS"].message


def test_no_posts_at_all_is_unknown_not_failed():
    assert checks(activity={"articles": 0, "groupPosts": 0, "promotionalPosts": 0})["SENDER_ACTIVITY"].status == "unknown"


def test_membership_in_the_future_is_unknown():
    assert checks(memberSince="2030-01")["MEMBERSHIP_DURATION"].status == "unknown"
