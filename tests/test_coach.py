"""The writing coach (/v1/check, `textsvc check`): what a draft lacks, what is wrong, nothing stored."""

from __future__ import annotations

import json

import msgspec
import pytest
from click.testing import CliRunner

from textsvc.cli import main
from textsvc.normalize import utf16_len
from textsvc.schemas import AnalyzeRequest

DRAFT = ("Hallo, ich bin auf Ihr Profil gestoßen und würde mich freuen, Sie in meinem Netzwerk "
         "begrüßen zu dürfen.")


def check(analyzer, text, **fields):
    return analyzer.check(msgspec.convert({"text": text, **fields}, AnalyzeRequest))


def ids(result):
    return [s.id for s in result.suggestions]


def test_generic_draft_is_revised_with_every_phrase_highlighted_and_replaceable(analyzer):
    r = check(analyzer, DRAFT)
    assert r.verdict.action == "revise"
    generic = [m for m in r.matches if m.category == "GENERIC_PHRASE"]
    assert generic and all(m.replacements for m in generic)
    assert all(DRAFT[m.start:m.end] == m.text for m in generic)
    assert "MISSING_REFERENCE" in ids(r) and "MISSING_REASON_OR_STEP" in ids(r)


def test_adding_the_company_and_a_concrete_question_makes_it_ready(analyzer):
    recipient = {"firstName": "Lena", "company": "Nordlicht Logistik GmbH"}
    better = DRAFT + " Wie plant Nordlicht Logistik die Touren in der Hochsaison – mit eigener Software?"
    before, after = check(analyzer, DRAFT, recipient=recipient), check(analyzer, better, recipient=recipient)
    assert before.verdict.action == "revise" and after.verdict.action == "ready"
    assert after.personalization.score > before.personalization.score
    assert "MISSING_NAME" in ids(after)  # polish, not a blocker


def test_emoji_before_a_finding_shifts_utf16_but_not_code_points(analyzer):
    text = "Hi 👋🏽 " + DRAFT
    for m in check(analyzer, text).matches:
        assert text[m.start:m.end] == m.text
        assert m.offset == utf16_len(text[: m.start]) and m.offset > m.start


@pytest.mark.parametrize(("membership", "action", "suggestion"), [
    ("basic", "ready", "EMPTY_BASIC"),      # basic members cannot attach a text at all
    ("premium", "revise", "EMPTY_PREMIUM"),
    (None, "revise", "EMPTY_UNKNOWN"),
])
def test_empty_draft_advice_depends_on_membership(analyzer, membership, action, suggestion):
    r = check(analyzer, "", sender={"membership": membership})
    assert (r.verdict.action, ids(r)) == (action, [suggestion])


def test_blockers_placeholder_length_and_mixed_address(analyzer):
    text = ("Hallo {Vorname}, dein Vortrag auf der LogiMAT zu fahrerlosen Transportsystemen hat mich "
            "überzeugt, weil wir genau das planen. Hätten Sie Zeit für einen Anruf? ") * 3
    r = check(analyzer, text, platform="linkedin", recipient={"firstName": "Lena"})
    assert r.verdict.action == "revise"
    assert {"LEFTOVER_PLACEHOLDER", "TOO_LONG", "MIXED_ADDRESS"} <= set(ids(r))
    placeholder = next(s for s in r.suggestions if s.id == "LEFTOVER_PLACEHOLDER")
    assert text[placeholder.start:placeholder.end] == "{Vorname}"
    assert placeholder.replacements[0].value == "Lena"
    assert r.length.chars == len(text) and r.length.limit == 300


def test_checking_a_template_stores_nothing(analyzer):
    template = next(analyzer.store.iter_fingerprints())[0]
    text = analyzer.store.get(template).text
    before = analyzer.store.get(template).times_seen
    r = check(analyzer, text)
    assert r.template_matches[0].template_id == template and "TEMPLATE_LIKE" in ids(r)
    assert analyzer.store.get(template).times_seen == before


def test_check_over_http(client):
    r = client.post("/v1/check", json={"text": DRAFT, "platform": "xing"})
    assert r.status_code == 200
    body = r.json()
    assert body["verdict"]["action"] == "revise" and body["suggestions"]
    assert client.post("/v1/check", json={"text": 1}).status_code == 400


def test_check_in_the_terminal(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTSVC_DB_PATH", str(tmp_path / "c.db"))
    runner = CliRunner()
    revise = runner.invoke(main, ["check"], input=DRAFT)
    assert revise.exit_code == 1 and "ÜBERARBEITEN" in revise.output
    ready = runner.invoke(main, ["check", "--format", "json", "--json"], input=json.dumps(
        {"text": "", "sender": {"membership": "basic"}}))
    assert ready.exit_code == 0 and json.loads(ready.output)["verdict"]["action"] == "ready"


def test_a_slip_is_offered_its_correction_and_a_name_is_left_alone(analyzer):
    text = "Hallo Herr Brandl, ich habe Ihren Vortrag in Minden gehört und würde gern über das Netzwek sprechen."
    r = check(analyzer, text)
    spelling = [s for s in r.suggestions if s.id == "SPELLING"]
    assert [(text[s.start:s.end], [x.value for x in s.replacements]) for s in spelling] == [("Netzwek", ["Netzwerk"])]
    assert spelling[0].severity == "improvement" and "Netzwerk" in spelling[0].message
    assert spelling[0].offset == utf16_len(text[:spelling[0].start])
    english = check(analyzer, "Hi Joost, thanks for the talk on conect pooling in Rotterdam!", language="en")
    assert [(s.start, [x.value for x in s.replacements]) for s in english.suggestions if s.id == "SPELLING"] == [(33, ["connect"])]


def test_the_recipients_name_is_never_a_slip(analyzer):
    text = "Hallo Frau Kowalsky, danke für Ihren Vortrag über das Netzwek der Kasseler Stadtwerke!"
    alone = [text[s.start:s.end] for s in check(analyzer, text).suggestions if s.id == "SPELLING"]
    assert "Kowalsky" in alone  # the corrector alone would offer "Kowalski"
    named = check(analyzer, text, recipient={"firstName": "Ewa", "lastName": "Kowalsky"})
    assert [text[s.start:s.end] for s in named.suggestions if s.id == "SPELLING"] == ["Netzwek"]


def test_greeting_and_sign_off_lines_are_not_the_opening_or_closing(analyzer):
    text = ("Hallo Frau Roth\nich bin auf Ihr Profil gestoßen\nIhr Vortrag zur Wärmepumpe in Kassel hat mir "
            "sehr geholfen\nich freue mich auf einen spannenden Austausch\nLG Tom")
    r = check(analyzer, text)
    frame = {s.id: text[s.start:s.end] for s in r.suggestions if s.id.startswith("FORMULAIC_")}
    assert frame == {"FORMULAIC_OPENING": "auf Ihr Profil gestoßen",
                     "FORMULAIC_CLOSING": "ich freue mich auf einen spannenden Austausch"}
