"""The template corpus in SQLite: the only module that imports sqlite-utils.

One connection per process, WAL mode and a busy timeout, so several workers can share the file;
a lock serialises this process's use of the connection. Analysed texts are never written here:
a template match only increments the matched template's ``times_seen`` counter.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from contextlib import contextmanager
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from textsvc.errors import NotFound
from textsvc.templates import FINGERPRINT_VERSION, fingerprint

migrations = Migrations("textsvc")


@migrations()
def m001_templates(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE templates (
            id TEXT PRIMARY KEY,
            text TEXT NOT NULL,
            language TEXT NOT NULL,
            platform TEXT,
            source TEXT NOT NULL,
            tags TEXT NOT NULL DEFAULT '[]',
            fingerprint TEXT NOT NULL,
            fingerprint_version INTEGER NOT NULL,
            times_seen INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        ) STRICT
        """
    )
    db.execute("CREATE UNIQUE INDEX templates_fingerprint ON templates (fingerprint)")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT")
    db.execute("INSERT INTO meta (key, value) VALUES ('corpus_version', '0')")


@migrations(transactional=False)
def m002_wal(db: Database) -> None:
    db.enable_wal()


@dataclass(frozen=True, slots=True)
class Template:
    id: str
    text: str
    language: str
    platform: str | None
    source: str
    tags: tuple[str, ...]
    fingerprint: str
    times_seen: int
    created_at: str
    updated_at: str

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Template:
        return cls(
            id=row["id"],
            text=row["text"],
            language=row["language"],
            platform=row["platform"],
            source=row["source"],
            tags=tuple(json.loads(row["tags"])),
            fingerprint=row["fingerprint"],
            times_seen=row["times_seen"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def template_id_for(fp: str) -> str:
    """Content-derived id: the same normalised text always gets the same id."""
    return "tpl_" + hashlib.sha1(fp.encode()).hexdigest()[:12]


class Store:
    """Migrations, template reads and writes, the corpus version other workers poll."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        conn = sqlite3.connect(str(path), timeout=30.0, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 30000")
        self.db = Database(conn)
        self._lock = threading.Lock()
        with self._lock:
            migrations.apply(self.db)
            self.db.execute("PRAGMA synchronous = NORMAL")
        self._refingerprint()

    def close(self) -> None:
        with self._lock:
            self.db.close()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``: all or nothing, and no lock upgrade deadlocks."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # --- reads -----------------------------------------------------------------------------

    def data_version(self) -> int:
        """SQLite's ``data_version``: changes when another connection committed (cheap poll)."""
        with self._lock:
            return int(self.db.execute("PRAGMA data_version").fetchone()[0])

    def corpus_version(self) -> int:
        with self._lock:
            row = self.db.execute("SELECT value FROM meta WHERE key = 'corpus_version'").fetchone()
        return int(row[0])

    def count(self) -> int:
        with self._lock:
            return int(self.db.execute("SELECT count(*) FROM templates").fetchone()[0])

    def fingerprints(self) -> dict[str, str]:
        with self._lock:
            return dict(self.db.execute("SELECT id, fingerprint FROM templates").fetchall())

    def get(self, template_id: str) -> Template:
        with self._lock:
            rows = list(self.db.query("SELECT * FROM templates WHERE id = ?", [template_id]))
        if not rows:
            raise NotFound(f"template {template_id} does not exist")
        return Template.from_row(rows[0])

    def writable(self) -> bool:
        """Can this process write to the database right now (for ``/ready``)?"""
        try:
            with self._lock, self._transaction():
                self.db.execute("UPDATE meta SET value = value WHERE key = 'corpus_version'")
            return True
        except sqlite3.Error:
            return False

    # --- writes ----------------------------------------------------------------------------

    def add(
        self,
        text: str,
        *,
        language: str,
        source: str,
        platform: str | None = None,
        tags: Iterable[str] = (),
        template_id: str | None = None,
    ) -> tuple[Template, bool]:
        """Insert a template unless one with the same fingerprint exists; return it and ``created``."""
        created = self.add_many([dict(text=text, language=language, source=source, platform=platform,
                                      tags=list(tags), id=template_id)])
        fp = fingerprint(text)
        with self._lock:
            row = self.db.execute("SELECT id FROM templates WHERE fingerprint = ?", [fp]).fetchone()
        return self.get(row[0]), bool(created)

    def add_many(self, items: Iterable[dict[str, Any]]) -> list[str]:
        """Insert templates in one transaction, skipping known fingerprints; return new ids."""
        now = _now()
        new_ids: list[str] = []
        with self._lock, self._transaction():
            for item in items:
                fp = fingerprint(item["text"])
                tid = item.get("id") or template_id_for(fp)
                cur = self.db.execute(
                    """INSERT INTO templates (id, text, language, platform, source, tags, fingerprint,
                       fingerprint_version, times_seen, created_at, updated_at)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)
                       ON CONFLICT DO NOTHING""",
                    [tid, item["text"], item["language"], item.get("platform"), item["source"],
                     json.dumps(list(item.get("tags") or [])), fp, FINGERPRINT_VERSION, now, now],
                )
                if cur.rowcount:
                    new_ids.append(tid)
            if new_ids:
                self._bump_version()
        return new_ids

    def _refingerprint(self) -> None:
        """Recompute fingerprints made by an older algorithm; texts that now coincide are merged."""
        with self._lock:
            stale = self.db.execute(
                "SELECT id, text FROM templates WHERE fingerprint_version != ?", [FINGERPRINT_VERSION]
            ).fetchall()
        if not stale:
            return
        with self._lock, self._transaction():
            for tid, text in stale:
                fp = fingerprint(text)
                twin = self.db.execute("SELECT id FROM templates WHERE fingerprint = ? AND id != ?", [fp, tid]).fetchone()
                if twin:
                    self.db.execute(
                        "UPDATE templates SET times_seen = times_seen + (SELECT times_seen FROM templates WHERE id = ?)"
                        " WHERE id = ?", [tid, twin[0]])
                    self.db.execute("DELETE FROM templates WHERE id = ?", [tid])
                else:
                    self.db.execute("UPDATE templates SET fingerprint = ?, fingerprint_version = ? WHERE id = ?",
                                    [fp, FINGERPRINT_VERSION, tid])
            self._bump_version()

    def times_seen(self, template_id: str) -> int:
        with self._lock:
            row = self.db.execute("SELECT times_seen FROM templates WHERE id = ?", [template_id]).fetchone()
        return int(row[0]) if row else 0

    def record_match(self, template_id: str) -> int:
        """Count one more sighting of a template; return the new ``times_seen``."""
        with self._lock, self._transaction():
            row = self.db.execute(
                "UPDATE templates SET times_seen = times_seen + 1 WHERE id = ? RETURNING times_seen",
                [template_id],
            ).fetchone()
        return int(row[0]) if row else 0

    def _bump_version(self) -> None:
        self.db.execute(
            "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'corpus_version'"
        )

    # --- seed ------------------------------------------------------------------------------

    def seed(self, files: Iterable[Path]) -> int:
        """Load the seed corpus once (first start); later starts change nothing."""
        with self._lock:
            done = self.db.execute("SELECT value FROM meta WHERE key = 'seeded'").fetchone()
        if done:
            return 0
        inserted = len(self.add_many(_read_jsonl(files)))
        with self._lock, self._transaction():
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('seeded', ?)", [_now()])
        return inserted


def _read_jsonl(files: Iterable[Path]) -> Iterator[dict[str, Any]]:
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                yield {
                    "id": row["id"],
                    "text": row["text"],
                    "language": row["language"],
                    "platform": row.get("platform"),
                    "source": row.get("source", "seed"),
                    "tags": row.get("tags", []),
                }
