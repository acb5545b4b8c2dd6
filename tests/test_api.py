"""The HTTP API in-process (Litestar TestClient, real app, real SQLite file)."""

from __future__ import annotations

import pytest

PROBLEM = "application/problem+json"
DOMAIN_TEXT = ("Hallo Frau Schmidt, ich bin auf Ihr Profil gestoßen und schließe Synergien nicht aus. "
               "Kontakte schaden nur dem, der keine hat!")


def test_analyze_returns_the_agreed_shape(client):
    r = client.post("/v1/analyze", json={
        "text": DOMAIN_TEXT, "language": "auto", "platform": "xing", "clientToken": "triage-4711",
        "sender": {"contacts": 1000, "profileVisitors": 4000, "visitedRecipientProfile": False},
        "recipient": {"firstName": "Anna", "lastName": "Schmidt"},
    })
    assert r.status_code == 200
    body = r.json()
    assert body["verdict"]["action"] == "decline"
    assert body["clientToken"] == "triage-4711"
    assert body["language"] == {"code": "de", "detected": True, "confidence": body["language"]["confidence"]}
    assert body["software"]["pipeline"] == "spacy.blank:de+simplemma"
    assert sum(e["points"] for e in body["explanations"]) == body["verdict"]["score"]
    p = body["personalization"]
    assert p["base"] + sum(s["points"] for s in p["signals"]) + p["clamp"] == p["score"]
    for m in body["matches"]:
        assert DOMAIN_TEXT[m["start"]:m["end"]] == m["text"]
        assert m["replacements"] and m["message"]
    checks = {c["id"]: c for c in body["profileChecks"]}
    assert checks["PROFILE_VISITORS_PER_CONTACT"]["status"] == "failed"
    assert {"PROFILE_VISITORS_PER_CONTACT", "SENDER_VISITED_PROFILE"} <= set(body["verdict"]["reasons"]) | {
        e["id"] for e in body["explanations"]}


@pytest.mark.parametrize(("body", "pointer"), [
    ('{"text": 5}', "#/text"),                                          # wrong type
    ('{"text": "x", "sender": {"contacts": "many"}}', "#/sender/contacts"),
    ('{"text": "x", "sender": {"profileCompleteness": 3}}', "#/sender/profileCompleteness"),
    ('{"language": "de"}', None),                                       # text missing
    ('{"text": "x", "level": "loud"}', "#/level"),
    ('[1, 2]', None),
])
def test_invalid_bodies_are_400_problems_with_a_pointer(client, body, pointer):
    r = client.post("/v1/analyze", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.headers["content-type"].startswith(PROBLEM)
    problem = r.json()
    assert problem["status"] == 400 and problem["title"] and problem["detail"]
    if pointer:
        assert problem["errors"][0]["pointer"] == pointer


def test_malformed_json_is_a_400_problem(client):
    r = client.post("/v1/analyze", content=b'{"text": "Hallo', headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.headers["content-type"].startswith(PROBLEM)


def test_oversized_text_is_a_400_problem_and_oversized_body_a_413(client):
    r = client.post("/v1/analyze", json={"text": "Hallo " * 1000})
    assert r.status_code == 400 and r.json()["errors"][0]["pointer"] == "#/text"
    r = client.post("/v1/analyze", content=b'{"text": "' + b"a" * 400_000 + b'"}',
                    headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.headers["content-type"].startswith(PROBLEM)


@pytest.mark.parametrize("language", ["fr", "xx-YY", "klingon"])
def test_unknown_language_is_a_422_problem(client, language):
    r = client.post("/v1/analyze", json={"text": "Bonjour", "language": language})
    assert r.status_code == 422
    assert r.json()["type"] == "urn:textsvc:problem:unsupported-language"


@pytest.mark.parametrize(("language", "code"), [("de-DE", "de"), ("EN", "en"), ("en_GB", "en")])
def test_language_tags_with_regions_are_accepted(client, language, code):
    body = client.post("/v1/analyze", json={"text": "Hallo", "language": language}).json()
    assert body["language"] == {"code": code, "detected": False, "confidence": None}


def test_unknown_routes_and_methods_are_problems(client):
    assert client.get("/v1/nope").headers["content-type"].startswith(PROBLEM)
    r = client.get("/v1/analyze")
    assert r.status_code == 405 and r.headers["content-type"].startswith(PROBLEM)


def test_templates_can_be_added_once_and_read_back(client):
    text = "Guten Tag {Vorname}, als Experte für Lagerlogistik biete ich Ihnen eine kostenlose Potenzialanalyse an."
    r = client.post("/v1/templates", json={"text": text, "language": "de", "source": "test", "tags": ["sales"]})
    assert r.status_code == 201
    created = r.json()
    assert r.headers["location"] == f"/v1/templates/{created['id']}"
    again = client.post("/v1/templates", json={"text": text.replace("{Vorname}", "[Name]"), "language": "de"})
    assert again.status_code == 200 and again.json()["id"] == created["id"] and again.json()["duplicate"]
    assert client.get(f"/v1/templates/{created['id']}").json()["text"] == text
    # the next analysis sees the new template at once
    filled = text.replace("{Vorname}", "Frau Berger")
    matches = client.post("/v1/analyze", json={"text": filled}).json()["templateMatches"]
    assert matches[0]["templateId"] == created["id"] and matches[0]["timesSeen"] == 1


def test_template_validation_and_missing_ids(client):
    assert client.post("/v1/templates", json={"text": "zu kurz", "language": "de"}).status_code == 400
    assert client.post("/v1/templates", json={"text": "x" * 40, "language": "fr"}).status_code == 400
    r = client.get("/v1/templates/tpl_does_not_exist")
    assert r.status_code == 404 and r.headers["content-type"].startswith(PROBLEM)


def test_rules_list_every_family_with_examples(client, lexicons):
    body = client.get("/v1/rules").json()
    ids = {r["id"] for r in body["rules"]}
    assert ids == {p.id for lx in lexicons.values() for p in lx.phrases} | {"DE_GENERIC_SENTENCE", "EN_GENERIC_SENTENCE"}
    rule = next(r for r in body["rules"] if r["id"] == "DE_NETZWERK_ERWEITERN")
    assert rule["examples"] and rule["replacements"] and rule["category"] == "GENERIC_PHRASE"


def test_health_and_ready(client):
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready").json()
    assert ready["status"] == "ready" and ready["database"] == "ok"
    assert ready["pipelines"] == {"de": "spacy.blank:de+simplemma", "en": "spacy.blank:en+simplemma"}
    assert ready["templates"] >= 1 and ready["rulesetVersion"]


def test_openapi_declares_problem_responses(client):
    schema = client.get("/schema/openapi.json").json()
    responses = schema["paths"]["/v1/analyze"]["post"]["responses"]
    for status in ("400", "413", "422"):
        assert "application/problem+json" in responses[status]["content"]


def test_batch_answers_every_item_in_order(client):
    items = [{"id": "b1", "text": "Ich schließe Synergien nicht aus."}, {"id": "b2", "text": "", "language": "en"},
             {"id": "b3", "text": "Hi Tom, great talk at PyCon on Friday, could I ask about your async setup?"}]
    body = client.post("/v1/analyze/batch", json={"items": items}).json()
    assert [r["id"] for r in body["results"]] == ["b1", "b2", "b3"]
    assert body["results"][0]["matches"][0]["ruleId"] == "DE_SYNERGIEN_NICHT_AUSSCHLIESSEN"
    assert body["results"][2]["language"]["code"] == "en"
    r = client.post("/v1/analyze/batch", json={"items": [{"id": "x", "text": "hi", "language": "fr"}]})
    assert r.status_code == 422  # one unsupported language fails the batch, as a single request would
    assert client.post("/v1/analyze/batch", json={"items": []}).status_code == 400


def test_api_docs_are_served_without_a_cdn(client):
    page = client.get("/schema/swagger").text
    assert "/static/swagger/swagger-ui-bundle.js" in page
    assert "https://" not in page.split("<body>")[0]  # nothing in the head loads from elsewhere
    assert client.get("/static/swagger/swagger-ui-bundle.js").status_code == 200
    assert "openapi: 3.1.0" in client.get("/schema/openapi.yaml").text
