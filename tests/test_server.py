"""A real `textsvc serve` process answering over HTTP on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = _free_port()
    db = tmp_path_factory.mktemp("serve") / "live.db"
    env = {**os.environ, "TEXTSVC_DB_PATH": str(db)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "textsvc.cli", "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(proc.stdout.read().decode())
        try:
            if httpx.get(base + "/ready", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("server did not become ready")
    yield base, db
    proc.terminate()
    proc.wait(timeout=20)


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


def test_live_server_does_not_store_analysed_text(server):
    base, db = server
    secret = "Hallo Frau Quendolin-Zabelstein, wir trafen uns beim Imkerverein Oberwiesenthal."
    httpx.post(base + "/v1/analyze", json={"text": secret})
    for path in db.parent.glob(db.name + "*"):
        assert b"Quendolin" not in path.read_bytes()
