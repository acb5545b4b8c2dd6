"""The SQLite corpus: migrations, WAL, idempotent writes, seeding once, visibility across processes."""

from __future__ import annotations

import json
import sqlite3
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from textsvc.errors import NotFound
from textsvc.store import Store

TEXT = "Hallo {Vorname}, ich bin auf Ihr Profil gestoßen und würde mich über eine Vernetzung freuen."


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "sub" / "t.db")
    yield s
    s.close()


def test_migrations_create_tables_in_wal_mode_and_are_idempotent(tmp_path):
    path = tmp_path / "t.db"
    Store(path).close()
    Store(path).close()  # a second start applies nothing twice
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    names = [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations ORDER BY rowid")]
    assert names == ["m001_templates", "m002_wal", "m003_governance_and_sightings", "m004_template_changes"]


def test_same_normalised_text_is_stored_once(store):
    first, created = store.add(TEXT, language="de", source="test")
    again, created_again = store.add(TEXT.upper().replace("{VORNAME}", "[Name]"), language="de", source="test")
    assert created and not created_again
    assert again.id == first.id and store.count() == 1


def test_get_unknown_id_raises_not_found(store):
    with pytest.raises(NotFound):
        store.get("tpl_nope")


def test_seed_loads_once(store, tmp_path):
    seed = tmp_path / "seed.jsonl"
    seed.write_text('{"id": "tpl-x-1", "language": "de", "text": "%s"}\n' % TEXT, encoding="utf-8")
    assert store.seed([seed]) == 1
    store.db.execute("DELETE FROM templates")
    assert store.seed([seed]) == 0  # a user who deleted seeds does not get them back on restart


def test_a_failed_batch_writes_nothing(store):
    with pytest.raises(KeyError):
        store.add_many([{"text": TEXT, "language": "de", "source": "t"}, {"text": "kaputt"}])
    assert store.count() == 0 and store.corpus_version() == 0


def test_another_connection_sees_writes_through_the_versions(tmp_path):
    a, b = Store(tmp_path / "t.db"), Store(tmp_path / "t.db")
    before = (b.data_version(), b.corpus_version())
    a.add(TEXT, language="de", source="test")
    after = (b.data_version(), b.corpus_version())
    assert after[0] != before[0] and after[1] == before[1] + 1
    assert len(dict(b.iter_fingerprints())) == 1


def test_concurrent_writers_lose_nothing(tmp_path):
    stores = [Store(tmp_path / "t.db") for _ in range(4)]
    errors: list[BaseException] = []

    def write(store: Store, n: int) -> None:
        try:
            for i in range(25):
                store.add(f"Vorlage {n}x{i}: ich möchte mein Netzwerk erweitern und freue mich.",
                          language="de", source="t")
                store.record_match(store.add(TEXT, language="de", source="t")[0].id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(s, n)) for n, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for s in stores:
        s.flush()  # match counts are written behind
    assert stores[0].count() == 4 * 25 + 1
    assert stores[0].get(stores[0].add(TEXT, language="de", source="t")[0].id).times_seen == 100


def test_fingerprints_of_an_older_algorithm_are_recomputed_and_twins_merged(tmp_path):
    path = tmp_path / "t.db"
    store = Store(path)
    a = store.add("Hallo Anna, ich würde mich sehr über die Vernetzung mit Ihnen freuen!", language="de", source="t")[0]
    b = store.add("Guten Tag Herr Ott, ich würde mich sehr über die Vernetzung mit Ihnen freuen!", language="de",
                  source="t")[0]
    assert a.id == b.id  # the greeting is not part of the skeleton
    store.db.execute("UPDATE templates SET fingerprint = 'old', fingerprint_version = 0, times_seen = 3")
    store.close()
    again = Store(path)
    (tid, fp), = dict(again.iter_fingerprints()).items()
    assert fp != "old" and again.get(tid).times_seen == 3


WORDS = ["Netzwerk", "Vertrieb", "Angebot", "Beratung", "Synergie", "Kontakt", "{Vorname}", "[Firma]", "42",
         "Grüße", "Hallo", "gern", "Termin", "Projekt", "Zukunft", "Austausch", "Straße", "STRASSE", "😀"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=14).map(" ".join), max_size=25))
def test_import_is_idempotent_for_any_texts(tmp_path, texts):
    from textsvc.corpus import import_templates, parse_import

    store = Store(tmp_path / f"prop-{abs(hash(tuple(texts)))}.db")
    body = "\n".join(json.dumps({"text": t + " " * 20, "language": "de"}) for t in texts).encode()
    first = import_templates(store, parse_import(body, min_words=6))
    count = store.count()
    second = import_templates(store, parse_import(body, min_words=6))
    assert second.inserted == 0 and store.count() == count == first.inserted
    assert second.duplicates == first.inserted + first.duplicates
    assert second.rejected == first.rejected
    store.close()


def test_counts_are_written_behind_and_survive_close(tmp_path):
    path = tmp_path / "t.db"
    store = Store(path)
    tid = store.add(TEXT, language="de", source="t")[0].id
    assert [store.record_match(tid) for _ in range(3)] == [1, 2, 3]
    seen = [store.sight("skeleton words", sender) for sender in ("a", "b", "a", None)]
    assert [(s.total, s.senders) for s in seen] == [(1, 1), (2, 2), (3, 2), (4, 2)]
    assert store.get(tid).times_seen == 3  # this process sees its own unwritten counts
    other = Store(path)
    assert other.get(tid).times_seen == 0  # not yet written …
    store.close()  # … close writes them
    assert other.get(tid).times_seen == 3
    assert other.sight("skeleton words", "c").senders == 3
    other.close()


def test_counting_never_waits_for_a_writer_and_counts_each_sighting_once(tmp_path):
    """Another process holds SQLite's write lock, so the background flush is stuck waiting for it
    with the counts in flight; counting and reading counts go on meanwhile (their own connection,
    no shared lock), a sender in flight is not counted again, and once the lock is free every
    sighting is written exactly once."""
    path = tmp_path / "t.db"
    store = Store(path)
    tid = store.add(TEXT, language="de", source="t")[0].id
    store.record_match(tid)
    store.sight("skeleton words", "a")
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    flushing = threading.Thread(target=store.flush)
    flushing.start()  # takes the counts in flight, then waits for the write lock
    deadline = time.monotonic() + 10
    while not store._inflight.matches and time.monotonic() < deadline:
        time.sleep(0.01)
    assert store._inflight.matches, "the flush never took the counts"
    done: list[tuple[int, int, int]] = []

    def count() -> None:
        again = store.sight("skeleton words", "a")  # "a" is in flight, not yet written
        done.append((store.record_match(tid), again.total, again.senders))

    counting = threading.Thread(target=count)
    counting.start()
    counting.join(timeout=10)  # the flush would wait up to 30 s (busy timeout)
    assert done == [(2, 2, 1)], "counting waited for the writer, or counted wrong"
    assert flushing.is_alive()
    blocker.execute("ROLLBACK")
    flushing.join(timeout=30)
    assert not flushing.is_alive()
    assert store.sight("skeleton words", "c").senders == 2
    store.close()
    other = Store(path)
    assert other.times_seen(tid) == 2
    seen = other.sight("skeleton words", "d")
    assert (seen.total, seen.senders) == (4, 3)
    other.close()
