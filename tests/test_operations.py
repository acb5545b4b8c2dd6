"""Operations: request ids, access logs without message text, metrics, rate limits, CORS, /ready."""

from __future__ import annotations

import logging

import pytest
from litestar.testing import TestClient

from tests.conftest import CORPORA
from textsvc.app import create_app
from textsvc.settings import Settings


@pytest.fixture
def make_client(tmp_path):
    def make(**overrides):
        return TestClient(create_app(Settings(db_path=tmp_path / "ops.db", corpora_dir=CORPORA, **overrides)))
    return make


def test_request_id_is_echoed_or_issued(client):
    assert client.get("/health", headers={"X-Request-ID": "trace-42"}).headers["x-request-id"] == "trace-42"
    issued = client.get("/health", headers={"X-Request-ID": "bad id with spaces\n"}).headers["x-request-id"]
    assert issued != "bad id with spaces\n" and len(issued) == 32


def test_access_log_has_one_line_per_request_and_never_the_text(client, caplog):
    secret = "Hallo Frau Zwirnenbach, wir trafen uns beim Kaninchenzüchterverein Oberhausen."
    with caplog.at_level(logging.DEBUG):
        client.post("/v1/analyze", json={"text": secret}, headers={"X-Request-ID": "log-1"})
        client.post("/v1/check", json={"text": secret})
    lines = [r.getMessage() for r in caplog.records if r.name == "textsvc.access"]
    assert any('"requestId": "log-1"' in line and '"status": 200' in line for line in lines)
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert "Zwirnenbach" not in everything and "Kaninchen" not in everything


def test_metrics_count_verdicts_and_corpus(client):
    client.post("/v1/analyze", json={"text": "Hallo, ich bin auf Ihr Profil gestoßen."})
    text = client.get("/metrics").text
    assert "textsvc_verdicts_total{action=" in text
    assert 'textsvc_corpus_templates{status="active"}' in text
    assert "textsvc_requests_total" in text


def test_rate_limit_gives_429_problem_with_headers(make_client):
    with make_client(rate_limit=("minute", 2)) as c:
        statuses = [c.post("/v1/analyze", json={"text": "Hallo"}).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        r = c.post("/v1/analyze", json={"text": "Hallo"})
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.headers["ratelimit-limit"] == "2" and r.headers["ratelimit-remaining"] == "0"
        assert c.get("/health").status_code == 200  # operations are never rate limited
        # another API key is another client
        assert c.post("/v1/analyze", json={"text": "Hallo"}, headers={"X-API-Key": "other"}).status_code == 200


def test_cors_is_off_unless_configured(make_client):
    with make_client() as c:
        r = c.options("/v1/analyze", headers={"Origin": "https://crm.example", "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in r.headers
    with make_client(cors_origins=("https://crm.example",)) as c:
        r = c.options("/v1/analyze", headers={"Origin": "https://crm.example", "Access-Control-Request-Method": "POST"})
        assert r.headers["access-control-allow-origin"] == "https://crm.example"
        r = c.post("/v1/analyze", json={"text": "Hallo"}, headers={"Origin": "https://crm.example"})
        assert "x-request-id" in r.headers["access-control-expose-headers"].lower()


def test_ready_turns_503_when_the_database_is_not_writable(make_client):
    with make_client() as c:
        assert c.get("/ready").status_code == 200
        c.app.state.analyzer.store.db.execute("PRAGMA query_only = ON")
        r = c.get("/ready")
        assert r.status_code == 503 and r.json()["database"] == "not_writable"


def test_settings_from_environment():
    s = Settings.from_env({"TEXTSVC_DB_PATH": "/tmp/x.db", "TEXTSVC_API_KEYS": "a, b,", "TEXTSVC_RATE_LIMIT": "600/minute",
                           "TEXTSVC_CORS_ORIGINS": "https://a.example", "TEXTSVC_SPACY_MODEL": "blank"})
    assert (str(s.db_path), s.api_keys, s.rate_limit, s.cors_origins, s.spacy_model) == (
        "/tmp/x.db", ("a", "b"), ("minute", 600), ("https://a.example",), None)
