"""The analysis end to end, the issue's must-shows, and offset invariants under hostile text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import analyze
from textsvc.normalize import utf16_len


def spans(result, rule_id=None):
    return [m.text for m in result.matches if rule_id is None or m.rule_id == rule_id]


def test_the_three_domain_families_are_found_exactly(analyzer):
    text = ("Sehr geehrter Herr Meier, ich bin zufällig auf Ihr Profil gestoßen und würde mein Netzwerk "
            "gern um Sie erweitern. Synergien in der Zukunft möchte ich nicht ausschließen. "
            "Kontakte schaden ja bekanntlich nur dem, der keine hat.")
    r = analyze(analyzer, text)
    assert spans(r, "DE_NETZWERK_ERWEITERN") == ["mein Netzwerk gern um Sie erweitern"]
    assert spans(r, "DE_SYNERGIEN_NICHT_AUSSCHLIESSEN") == ["Synergien in der Zukunft möchte ich nicht ausschließen"]
    assert len(spans(r, "DE_KONTAKTE_SCHADEN_NUR")) == 1
    assert all(text[m.start:m.end] == m.text for m in r.matches)


def test_separable_and_passive_synergies(analyzer):
    for text, expected in [
        ("Ich schließe Synergien in der Zukunft nicht aus.", "schließe Synergien in der Zukunft nicht aus"),
        ("Synergien sind nicht ausgeschlossen.", "Synergien sind nicht ausgeschlossen"),
    ]:
        assert spans(analyze(analyzer, text), "DE_SYNERGIEN_NICHT_AUSSCHLIESSEN") == [expected]


def test_a_cue_inside_a_compound_does_not_match(analyzer):
    r = analyze(analyzer, "Ich möchte mein Netzwerkadministratoren-Team erweitern.")
    assert spans(r, "DE_NETZWERK_ERWEITERN") == []


def test_empty_request_is_no_penalty_and_the_profile_decides(analyzer):
    r = analyze(analyzer, "")
    assert r.matches == [] and r.template_matches == []
    assert r.verdict.action == "review"
    assert [e.id for e in r.explanations] == ["BASE", "EMPTY_TEXT"]
    good = analyze(analyzer, "   ", sender={"visitedRecipientProfile": True, "sharedContacts": 4,
                                              "contacts": 300, "profileVisitors": 9000})
    bad = analyze(analyzer, "", sender={"visitedRecipientProfile": False, "contacts": 1000, "profileVisitors": 4000})
    assert good.verdict.action == "accept" and bad.verdict.action == "decline"


def test_personal_message_beats_template_by_far(analyzer):
    personal = ("Hallo Frau Berger, wir haben uns am Donnerstag auf der LogiMAT in Stuttgart am Stand von "
                "Nordlicht kurz über Ihre Umstellung auf fahrerlose Transportsysteme unterhalten. Mich würde "
                "interessieren, wie Sie die Schichtplanung gelöst haben, weil wir im Herbst dasselbe vorhaben. "
                "Hätten Sie nächste Woche 20 Minuten für ein Telefonat?")
    template = ("Hallo Frau Berger, ich bin auf Ihr Profil gestoßen und fand es sehr interessant. "
                "Ich würde mich freuen, Sie in meinem Netzwerk begrüßen zu dürfen. Synergien sind nicht "
                "ausgeschlossen!")
    recipient = {"firstName": "Lena", "lastName": "Berger", "company": "Nordlicht Logistik GmbH"}
    p = analyze(analyzer, personal, recipient=recipient)
    t = analyze(analyzer, template, recipient=recipient)
    assert p.template_matches == []
    assert p.personalization.score >= t.personalization.score + 50
    assert p.verdict.action == "accept" and t.verdict.action != "accept"


def test_sender_who_did_not_visit_moves_verdict_toward_decline(analyzer):
    text = "Hallo Herr Krause, Ihr Beitrag zur Wärmepumpe im Altbau war hilfreich. Darf ich Sie dazu etwas fragen?"
    visited = analyze(analyzer, text, sender={"visitedRecipientProfile": True})
    not_visited = analyze(analyzer, text, sender={"visitedRecipientProfile": False})
    assert not_visited.verdict.score < visited.verdict.score
    assert "SENDER_VISITED_PROFILE" in not_visited.verdict.reasons


def test_filled_placeholders_are_not_personalization(analyzer):
    recipient = {"firstName": "Jana", "lastName": "Wolff", "company": "Kranich Software AG"}
    text = ("Hallo Jana, ich habe gesehen, dass Sie bei Kranich Software AG arbeiten. Ich bin auf Ihr Profil "
            "gestoßen und würde mich freuen, Sie in meinem Netzwerk begrüßen zu dürfen.")
    analyzer.add_template(text.replace("Jana", "{Vorname}").replace("Kranich Software AG", "{Firma}"),
                          language="de", source="test", platform=None, tags=[])
    r = analyze(analyzer, text, recipient=recipient)
    assert r.template_matches and r.template_matches[0].similarity >= 95
    name = next(s for s in r.personalization.signals if s.id == "RECIPIENT_NAME_USED")
    assert name.present and name.points == 0


TRICKY = ["😀", "👩‍💻", "e\u0301", "\r\n", "\u200b", "\u202e", "שלום", "ß", "\t", "  "]
PHRASES = ["ich bin auf Ihr Profil gestoßen", "Kontakte schaden nur dem, der keine hat",
           "ich schließe Synergien nicht aus", "let's connect", "Hallo {Vorname}", "mein Netzwerk erweitern"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(TRICKY + PHRASES) | st.text(max_size=8), max_size=12))
def test_offsets_point_into_the_original_text(analyzer, parts):
    text = " ".join(parts)
    r = analyze(analyzer, text)
    for m in r.matches:
        assert text[m.start:m.end] == m.text
        assert m.offset == utf16_len(text[: m.start]) and m.length == utf16_len(m.text)
    assert 0 <= r.personalization.score <= 100 and 0 <= r.verdict.score <= 100
    assert sum(e.points for e in r.explanations) == r.verdict.score


def test_the_index_is_current_until_another_writer_commits(tmp_path):
    """``index_is_current`` decides whether an analysis may run on the event loop (no catch-up
    to do) or goes to a thread: another process's new template makes it stale until caught up."""
    from tests.conftest import CORPORA
    from textsvc.engine import Analyzer
    from textsvc.settings import Settings
    from textsvc.store import Store

    settings_ = Settings(db_path=tmp_path / "t.db", corpora_dir=CORPORA, seed=False)
    engine = Analyzer(settings_, Store(settings_.db_path))
    assert engine.index_is_current()
    other = Store(settings_.db_path)
    text = "Guten Tag, als Experte für Wärmepumpen biete ich Ihnen eine kostenlose Erstberatung für Ihr Haus an."
    other.add(text, language="de", source="t")
    assert not engine.index_is_current()
    result = analyze(engine, text)
    assert result.template_matches, "the analysis caught up and found the new template"
    engine.store.flush()
    engine.refresh_index()
    assert engine.index_is_current()
    other.close()
    engine.store.close()


def test_times_room_numbers_and_units_are_specific_details(analyzer):
    def details(text):
        r = analyze(analyzer, text, language="en")
        signal = next(s for s in r.personalization.signals if s.id == "SPECIFIC_DETAILS")
        return [e.text for e in signal.evidence]

    assert details("The client moved the review to 3pm Friday, room 4B, about 24h earlier.") == ["3pm", "4B", "24h"]
    assert details("Looking forward to connecting with you and growing together.") == []
    assert details("We 10x your revenue and bring you 5k followers.") == []  # a pitch's figures


def test_a_lexicon_word_is_not_read_into_a_common_word(analyzer):
    """The messenger family lists "Viber"; a slip corrector reading it as "vier" once made every
    German "vier" a move off the platform."""
    r = analyze(analyzer, "Wir sind ein Team von vier Leuten und suchen in vier Wochen eine Halle.", language="de")
    assert not [m for m in r.matches if m.rule_id == "DE_OFFPLATFORM_MESSENGER"]
    r = analyze(analyzer, "Schreib mir doch per Viber, dann schicke ich dir alles.", language="de")
    assert [m.text for m in r.matches if m.rule_id == "DE_OFFPLATFORM_MESSENGER"]
