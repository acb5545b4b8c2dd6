"""Durability with real processes: `textsvc serve --workers 4` under concurrent writes, and
`kill -9` in the middle of a large import."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time

import httpx

from tests.conftest import running_server

SECONDS = float(os.environ.get("TEXTSVC_STRESS_SECONDS", "30"))


def template(n: int, tag: str) -> dict:
    return {"text": f"Guten Tag, Vorlage {tag} Nummer {n}{tag}x: wir bieten Ihnen Beratung zu {tag}{n} an und "
                    f"freuen uns auf Ihre Rückmeldung zum Thema {tag}{n}y.", "language": "de"}


ROWS = [template(n, "crash") for n in range(30_000)]
BODY = "\n".join(json.dumps(t) for t in ROWS).encode()


def test_four_workers_under_concurrent_writes_lose_and_duplicate_nothing(tmp_path):
    with running_server(tmp_path, workers=4) as (_, base):
        seed = httpx.get(base + "/ready").json()["templates"]
        stop = time.monotonic() + SECONDS
        written: set[str] = set()
        problems: list[str] = []
        lock = threading.Lock()

        def record(r: httpx.Response, texts=()):
            if r.status_code >= 500 or "locked" in r.text:
                problems.append(f"{r.status_code} {r.text[:200]}")
            elif r.status_code in (200, 201):
                with lock:
                    written.update(texts)

        def importer(k):
            i = 0
            with httpx.Client(base_url=base, timeout=60) as c:
                while time.monotonic() < stop:
                    batch = [template(n, f"imp{k}b{i}") for n in range(40)] + [template(0, "shared")]
                    body = "\n".join(json.dumps(t) for t in batch).encode()
                    record(c.post("/v1/templates/import", content=body), [t["text"] for t in batch])
                    i += 1

        def writer(k):
            i = 0
            with httpx.Client(base_url=base, timeout=60) as c:
                while time.monotonic() < stop:
                    t = template(i, f"w{k}")
                    record(c.post("/v1/templates", json=t), [t["text"]])
                    i += 1

        def analyst():
            with httpx.Client(base_url=base, timeout=60) as c:
                while time.monotonic() < stop:
                    record(c.post("/v1/analyze", json={"text": template(3, "w0")["text"], "sender": {"name": "x"}}))

        threads = [threading.Thread(target=f, args=a) for f, a in
                   [(importer, (0,)), (importer, (1,)), (writer, (0,)), (writer, (1,)), (analyst, ()), (analyst, ())]]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert problems == []
        exported = [json.loads(x) for x in httpx.get(base + "/v1/templates/export", timeout=60).text.splitlines()]
        texts = [row["text"] for row in exported]
        assert len(texts) == len(set(texts)) == seed + len(written)
        assert written <= set(texts)


def test_kill_9_during_import_leaves_whole_batches_and_the_import_resumes(tmp_path):
    db = tmp_path / "crash.db"
    with running_server(tmp_path, db=db) as (proc, base):
        seed = httpx.get(base + "/ready").json()["templates"]
        _import_and_kill(proc, base, db, seed)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    imported = conn.execute("SELECT count(*) FROM templates").fetchone()[0] - seed
    conn.close()
    assert 0 < imported < len(ROWS) and imported % 500 == 0  # whole batches only

    with running_server(tmp_path, db=db) as (_, base):
        report = httpx.post(base + "/v1/templates/import", content=BODY, timeout=300).json()
        assert report["inserted"] == len(ROWS) - imported and report["duplicates"] == imported
        assert httpx.get(base + "/ready").json()["templates"] == seed + len(ROWS)


def _import_and_kill(proc, base, db, seed) -> None:
    def send():
        try:
            httpx.post(base + "/v1/templates/import", content=BODY, timeout=120)
        except httpx.HTTPError:
            pass  # the server dies under this request

    sender = threading.Thread(target=send)
    sender.start()
    conn = sqlite3.connect(db)
    deadline = time.monotonic() + 60
    while conn.execute("SELECT count(*) FROM templates").fetchone()[0] <= seed + 500 and time.monotonic() < deadline:
        time.sleep(0.05)
    conn.close()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    sender.join()
