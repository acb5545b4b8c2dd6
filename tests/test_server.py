"""A real `textsvc serve` process answering over HTTP on loopback."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    with running_server(tmp) as (_, base):
        yield base, tmp / "live.db"


def test_live_server_analyzes_and_seeds_its_database(server):
    base, db = server
    ready = httpx.get(base + "/ready").json()
    assert ready["templates"] >= 100  # seed corpus loaded on first start
    assert db.exists()
    r = httpx.post(base + "/v1/analyze", json={"text": "Ich schließe Synergien in der Zukunft nicht aus."})
    assert r.status_code == 200
    assert r.json()["matches"][0]["ruleId"] == "DE_SYNERGIEN_NICHT_AUSSCHLIESSEN"
    bad = httpx.post(base + "/v1/analyze", content=b"{", headers={"content-type": "application/json"})
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/problem+json")


def test_live_server_neither_stores_nor_logs_analysed_text(server):
    base, db = server
    secret = "Hallo Frau Quendolin-Zabelstein, wir trafen uns beim Imkerverein Oberwiesenthal."
    r = httpx.post(base + "/v1/analyze", json={"text": secret}, headers={"X-Request-ID": "live-secret-1"})
    assert r.headers["x-request-id"] == "live-secret-1"
    httpx.post(base + "/v1/check", json={"text": secret})
    for path in db.parent.glob(db.name + "*"):
        assert b"Quendolin" not in path.read_bytes()
    logs = "".join(p.read_text(errors="replace") for p in db.parent.glob("serve-*.log"))
    assert '"requestId": "live-secret-1"' in logs  # the access log is written …
    assert "Quendolin" not in logs and "Imkerverein" not in logs  # … without the text
