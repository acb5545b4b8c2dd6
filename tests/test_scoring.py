"""The verdict: explanation lines add up to the score, thresholds pick the action."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import CORPORA
from textsvc.messages import load_messages
from textsvc.policy import PROFILE_CHECKS, load_policy
from textsvc.profile import CheckResult
from textsvc.schemas import Personalization, TemplateMatch
from textsvc.scoring import decide

POLICY = load_policy(CORPORA / "policy.toml")
MESSAGES = load_messages(CORPORA / "messages", "de")


def run(p=50, empty=False, similarity=None, placeholders=0, statuses=None):
    statuses = statuses or {}
    checks = [CheckResult(cid, statuses.get(cid, "unknown"), "…") for cid in PROFILE_CHECKS]
    template = TemplateMatch(template_id="tpl-x", similarity=similarity, times_seen=1, level="similar") if similarity else None
    return decide(
        empty_text=empty, personalization=Personalization(score=p, base=20, clamp=0, signals=[]),
        template=template, template_strength=POLICY.template_strength(similarity or 0),
        placeholders=placeholders, checks=checks, policy=POLICY, messages=MESSAGES,
    )


@settings(max_examples=300, deadline=None)
@given(
    p=st.integers(0, 100),
    empty=st.booleans(),
    similarity=st.none() | st.floats(78, 100),
    placeholders=st.integers(0, 3),
    statuses=st.dictionaries(st.sampled_from(PROFILE_CHECKS), st.sampled_from(["passed", "failed", "unknown"])),
)
def test_lines_add_up_to_the_score_and_stay_in_range(p, empty, similarity, placeholders, statuses):
    verdict, lines = run(p, empty, similarity, placeholders, statuses)
    assert 0 <= verdict.score <= 100
    assert sum(line.points for line in lines) == verdict.score
    assert len({line.id for line in lines}) == len(lines)
    assert all(line.points != 0 or line.id in ("EMPTY_TEXT", "TEXT_PERSONALIZATION") for line in lines)


@settings(max_examples=100, deadline=None)
@given(p=st.integers(0, 99), statuses=st.dictionaries(st.sampled_from(PROFILE_CHECKS), st.sampled_from(["passed", "unknown"])))
def test_more_personal_text_never_lowers_the_verdict(p, statuses):
    assert run(p + 1, statuses=statuses)[0].score >= run(p, statuses=statuses)[0].score


def test_empty_text_is_no_penalty_by_itself():
    verdict, lines = run(p=0, empty=True)
    assert verdict.score == POLICY.verdict.base and verdict.action == "review"
    assert [line.id for line in lines] == ["BASE", "EMPTY_TEXT"]


def test_a_sender_who_did_not_visit_moves_toward_decline():
    base = run(p=50, empty=True)[0]
    not_visited = run(p=50, empty=True, statuses={"SENDER_VISITED_PROFILE": "failed"})[0]
    assert not_visited.score < base.score and not_visited.action == "decline"
    assert not_visited.reasons[0] == "SENDER_VISITED_PROFILE"


def test_template_and_collector_decline_personal_text_accepts():
    assert run(p=5, similarity=95, statuses={"PROFILE_VISITORS_PER_CONTACT": "failed"})[0].action == "decline"
    good = run(p=90, statuses={"SENDER_VISITED_PROFILE": "passed", "SHARED_CONTACTS_OR_INTERESTS": "passed"})[0]
    assert good.action == "accept" and "TEXT_PERSONALIZATION" in good.reasons


def test_template_strength_is_monotone_and_bounded():
    t = POLICY.templates
    values = [POLICY.template_strength(s) for s in range(0, 101)]
    assert values == sorted(values)
    assert POLICY.template_strength(t.min_similarity - 1) == 0
    assert POLICY.template_strength(100) == 1
