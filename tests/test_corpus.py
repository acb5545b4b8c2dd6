"""Growing and governing the template corpus over HTTP: import/export, paging, keys, feedback,
sightings of unlisted mass-sent texts (no text stored), slot-aware matching."""

from __future__ import annotations

import json

import pytest
from litestar.testing import TestClient

from tests.conftest import CORPORA
from textsvc.app import create_app
from textsvc.settings import Settings

KEY = "s3cret-key"
NDJSON = {"content-type": "application/x-ndjson"}


@pytest.fixture
def api(tmp_path):
    """A fresh app with its own database and an API key configured."""
    app = create_app(Settings(db_path=tmp_path / "corpus.db", corpora_dir=CORPORA, api_keys=(KEY,)))
    with TestClient(app) as c:
        yield c


def lines(*rows):
    return "\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows).encode()


GOOD = [
    {"text": "Hallo {Vorname}, als Spezialist für Hallenböden biete ich Ihnen eine kostenlose Erstberatung an.",
     "language": "de", "tags": ["sales"]},
    {"text": "Hi {{firstName}}, our agency doubles organic reach for B2B brands in ninety days, guaranteed.",
     "language": "en"},
    {"text": "Guten Tag [Name], wir suchen für einen Kunden in {Stadt} eine erfahrene Lohnbuchhalterin.",
     "language": "de", "platform": "xing"},
]


def test_writes_need_a_key_reads_do_not(api):
    assert api.post("/v1/templates", json=GOOD[0]).status_code == 401
    r = api.post("/v1/templates", json=GOOD[0], headers={"X-API-Key": "wrong"})
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
    assert api.post("/v1/templates", json=GOOD[0], headers={"X-API-Key": KEY}).status_code == 201
    assert api.get("/v1/templates").status_code == 200
    assert api.post("/v1/analyze", json={"text": "Hallo"}).status_code == 200


def test_import_twice_changes_nothing_and_bad_lines_are_reported(api):
    body = lines(GOOD[0], "{not json", GOOD[1], {"text": "zu kurz", "language": "de"},
                 {"text": GOOD[2]["text"], "language": "fr"}, "", GOOD[2])
    first = api.post("/v1/templates/import", content=body, headers={**NDJSON, "X-API-Key": KEY}).json()
    assert (first["received"], first["inserted"], first["duplicates"]) == (6, 3, 0)
    assert [r["line"] for r in first["rejected"]] == [2, 4, 5]
    assert "invalid JSON" in first["rejected"][0]["detail"] and "$.language" in first["rejected"][2]["detail"]
    count = api.get("/ready").json()["templates"]
    second = api.post("/v1/templates/import", content=body, headers={**NDJSON, "X-API-Key": KEY}).json()
    assert (second["inserted"], second["duplicates"]) == (0, 3)
    assert api.get("/ready").json()["templates"] == count


def test_json_array_import_and_export_round_trip(api, tmp_path):
    r = api.post("/v1/templates/import", content=json.dumps(GOOD).encode(),
                 headers={"content-type": "application/json", "X-API-Key": KEY})
    assert r.json()["inserted"] == 3
    exported = api.get("/v1/templates/export")
    assert exported.headers["content-type"].startswith("application/x-ndjson")
    rows = [json.loads(x) for x in exported.text.splitlines()]
    assert {g["text"] for g in GOOD} <= {row["text"] for row in rows}
    fresh = create_app(Settings(db_path=tmp_path / "copy.db", corpora_dir=CORPORA, seed=False))
    with TestClient(fresh) as other:
        report = other.post("/v1/templates/import", content=exported.content, headers=NDJSON).json()
        assert report["inserted"] == len(rows) and report["rejected"] == []
        again = [json.loads(x) for x in other.get("/v1/templates/export").text.splitlines()]
    assert [(a["id"], a["text"]) for a in again] == [(a["id"], a["text"]) for a in rows]


def test_list_search_and_cursor_paging(api):
    api.post("/v1/templates/import", content=json.dumps(GOOD).encode(),
             headers={"content-type": "application/json", "X-API-Key": KEY})
    seen, cursor = [], None
    while True:
        page = api.get("/v1/templates", params={"limit": 40, **({"cursor": cursor} if cursor else {})}).json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == api.get("/ready").json()["templates"]
    found = api.get("/v1/templates", params={"q": "hallenbö"}).json()["items"]
    assert [t["text"] for t in found] == [GOOD[0]["text"]]
    assert api.get("/v1/templates", params={"q": 'x" OR "'}).status_code == 200  # no FTS syntax injection
    assert api.get("/v1/templates", params={"cursor": "%%%"}).status_code == 400
    assert api.get("/v1/templates", params={"limit": 0}).status_code == 400


def test_patch_and_delete(api):
    tid = api.post("/v1/templates", json=GOOD[1], headers={"X-API-Key": KEY}).json()["id"]
    r = api.patch(f"/v1/templates/{tid}", json={"tags": ["agency"], "status": "suspended"}, headers={"X-API-Key": KEY})
    assert r.json()["tags"] == ["agency"] and r.json()["status"] == "suspended"
    filled = GOOD[1]["text"].replace("{{firstName}}", "Ann")
    assert api.post("/v1/analyze", json={"text": filled}).json()["templateMatches"] == []
    assert api.delete(f"/v1/templates/{tid}", headers={"X-API-Key": KEY}).status_code == 204
    assert api.get(f"/v1/templates/{tid}").status_code == 404
    assert api.delete(f"/v1/templates/{tid}", headers={"X-API-Key": KEY}).status_code == 404


def test_three_independent_reports_activate_and_disputes_suspend(api):
    text = "Servus {Vorname}, ich baue gerade ein Netzwerk von Immobilienprofis auf und du passt perfekt hinein."
    statuses = []
    for reporter in ["u1", "u1", "u2", "u3"]:  # u1 twice counts once
        r = api.post("/v1/feedback", json={"text": text, "label": "template", "reporter": reporter})
        assert r.status_code == 202
        statuses.append((r.json()["status"], r.json()["templateStatus"]))
    assert statuses == [("recorded", "pending"), ("already_recorded", "pending"),
                        ("recorded", "pending"), ("recorded", "active")]
    tid = r.json()["templateId"]
    filled = text.replace("{Vorname}", "Jonas")
    assert api.post("/v1/analyze", json={"text": filled}).json()["templateMatches"][0]["templateId"] == tid
    for reporter in ["d1", "d2", "d3", "d4"]:
        r = api.post("/v1/feedback", json={"templateId": tid, "label": "false_alarm", "reporter": reporter})
    assert r.json()["templateStatus"] == "suspended"
    assert api.post("/v1/analyze", json={"text": filled}).json()["templateMatches"] == []
    t = api.get(f"/v1/templates/{tid}").json()
    assert (t["reports"], t["disputes"], t["source"]) == (3, 4, "feedback")


def test_feedback_on_rules_and_bad_feedback(api):
    for reporter in ("u1", "u2", "u1"):
        assert api.post("/v1/feedback", json={"ruleId": "DE_NETZWERK_ERWEITERN", "label": "false_alarm",
                                              "reporter": reporter}).status_code == 202
    rules = {r["id"]: r for r in api.get("/v1/rules").json()["rules"]}
    assert rules["DE_NETZWERK_ERWEITERN"]["falseAlarmReports"] == 2
    assert api.post("/v1/feedback", json={"ruleId": "NOPE", "label": "false_alarm", "reporter": "u1"}).status_code == 404
    assert api.post("/v1/feedback", json={"label": "not_template", "reporter": "u1"}).status_code == 400
    assert api.post("/v1/feedback", json={"text": "zu kurz", "label": "template", "reporter": "u"}).status_code == 400


def test_filled_template_with_recipient_name_and_company_matches_at_95(api):
    text = ("Hallo {Vorname} {Nachname}, mir ist aufgefallen, dass {Firma} stark wächst. Wir unterstützen "
            "Unternehmen wie {Firma} beim Aufbau schlanker Recruiting-Prozesse und freuen uns auf den Austausch.")
    tid = api.post("/v1/templates", json={"text": text, "language": "de"}, headers={"X-API-Key": KEY}).json()["id"]
    filled = (text.replace("{Vorname}", "Katrin").replace("{Nachname}", "Obermaier")
              .replace("{Firma}", "Brunnhuber Feinkost GmbH"))
    body = api.post("/v1/analyze", json={"text": filled, "recipient": {
        "firstName": "Katrin", "lastName": "Obermaier", "company": "Brunnhuber Feinkost GmbH"}}).json()
    assert body["templateMatches"][0]["templateId"] == tid and body["templateMatches"][0]["similarity"] >= 95
    signals = {s["id"]: s for s in body["personalization"]["signals"]}
    assert signals["RECIPIENT_NAME_USED"]["points"] == 0 and signals["CONCRETE_REFERENCE"]["points"] == 0


def test_unlisted_skeleton_from_five_senders_is_mass_sent_and_no_text_is_stored(api, tmp_path):
    text = ("Moin {name}, Quokka-Vertrieb hier: wir verschenken diese Woche dreißig Testlizenzen unserer "
            "Zeiterfassung an Handwerksbetriebe, sichern Sie sich eine.")
    results = []
    for n, sender in enumerate(["Ada Quast", "Bo Quist", "Cem Quell", "Dana Quandt", "Eli Quaas"], 1):
        msg = text.replace("{name}", sender.split()[0]).replace("dreißig", "dreißig")
        results.append(api.post("/v1/analyze", json={"text": msg, "sender": {"name": sender}}).json())
    assert [r["sighting"]["distinctSenders"] for r in results] == [1, 2, 3, 4, 5]
    assert results[-1]["templateMatches"] == [] and results[-1]["sighting"]["massSent"]
    assert "MASS_SENT_UNLISTED" in results[-1]["verdict"]["reasons"]
    assert not results[3]["sighting"]["massSent"]
    same_sender = api.post("/v1/analyze", json={"text": text, "sender": {"name": "Ada Quast"}}).json()
    assert same_sender["sighting"]["distinctSenders"] == 5 and same_sender["sighting"]["total"] == 6
    api.get("/health")
    for path in tmp_path.glob("corpus.db*"):
        data = path.read_bytes()
        for secret in (b"Quokka", b"Testlizenzen", b"Quast", "dreißig".encode()):
            assert secret not in data, (path.name, secret)


def test_import_rejects_texts_too_short_to_ever_match(api):
    body = lines({"text": "Hallo {Vorname}, 123 456 789 101 112!", "language": "de"}, GOOD[0])
    report = api.post("/v1/templates/import", content=body, headers={**NDJSON, "X-API-Key": KEY}).json()
    assert report["inserted"] == 1 and [r["line"] for r in report["rejected"]] == [1]
    assert "too short" in report["rejected"][0]["detail"]
