"""The template corpus and the sightings in SQLite: the only module that imports sqlite-utils.

One connection per process, WAL mode and a busy timeout, so several workers can share the file;
a lock serialises this process's use of the connection, and every write is one ``BEGIN
IMMEDIATE`` transaction (all or nothing). Analysed texts are never written here: a template match
increments a counter, and a sighting keeps only a salted hash of the text's skeleton.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import logging
import secrets
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
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


@migrations()
def m003_governance_and_sightings(db: Database) -> None:
    """Status and provenance of templates, independent reports, sightings by skeleton hash."""
    db.execute("ALTER TABLE templates ADD COLUMN status TEXT NOT NULL DEFAULT 'active'")
    db.execute("ALTER TABLE templates ADD COLUMN explicit INTEGER NOT NULL DEFAULT 1")
    db.execute(
        """CREATE TABLE reports (
            template_id TEXT NOT NULL REFERENCES templates(id) ON DELETE CASCADE,
            reporter TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('confirm', 'dispute')),
            created_at TEXT NOT NULL,
            PRIMARY KEY (template_id, reporter, kind)
        ) STRICT, WITHOUT ROWID"""
    )
    db.execute(
        """CREATE TABLE sightings (
            skeleton TEXT PRIMARY KEY,
            total INTEGER NOT NULL,
            senders INTEGER NOT NULL,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL
        ) STRICT, WITHOUT ROWID"""
    )
    db.execute(
        """CREATE TABLE sighting_senders (
            skeleton TEXT NOT NULL,
            sender TEXT NOT NULL,
            PRIMARY KEY (skeleton, sender)
        ) STRICT, WITHOUT ROWID"""
    )
    db.execute(
        """CREATE TABLE rule_reports (
            rule_id TEXT NOT NULL,
            reporter TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (rule_id, reporter)
        ) STRICT, WITHOUT ROWID"""
    )
    db.execute("INSERT INTO meta (key, value) VALUES ('salt', ?)", [secrets.token_hex(16)])
    db.table("templates").enable_fts(["text"], tokenize="trigram", create_triggers=True)


@migrations()
def m004_template_changes(db: Database) -> None:
    """A log of template changes, written by triggers in the writing transaction: workers and the
    saved candidate index catch up from a position in it instead of reloading every fingerprint."""
    db.execute("CREATE TABLE template_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, template_id TEXT NOT NULL) STRICT")
    db.execute("""CREATE TRIGGER template_changes_insert AFTER INSERT ON templates
                  BEGIN INSERT INTO template_changes (template_id) VALUES (NEW.id); END""")
    db.execute("""CREATE TRIGGER template_changes_update AFTER UPDATE OF fingerprint, status ON templates
                  BEGIN INSERT INTO template_changes (template_id) VALUES (NEW.id); END""")
    db.execute("""CREATE TRIGGER template_changes_delete AFTER DELETE ON templates
                  BEGIN INSERT INTO template_changes (template_id) VALUES (OLD.id); END""")


@dataclass(frozen=True, slots=True)
class Template:
    id: str
    text: str
    language: str
    platform: str | None
    source: str
    tags: tuple[str, ...]
    fingerprint: str
    fingerprint_version: int
    times_seen: int
    status: str
    reports: int
    disputes: int
    created_at: str
    updated_at: str

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Template:
        return cls(
            id=row["id"], text=row["text"], language=row["language"], platform=row["platform"],
            source=row["source"], tags=tuple(json.loads(row["tags"])), fingerprint=row["fingerprint"],
            fingerprint_version=row["fingerprint_version"], times_seen=row["times_seen"], status=row["status"],
            reports=row["reports"], disputes=row["disputes"], created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


@dataclass(frozen=True, slots=True)
class Sighting:
    total: int
    senders: int
    first_seen: str
    last_seen: str


# Counts (template matches, sightings) are written behind at most this late: analyses never wait
# for SQLite's write lock, which other worker processes may hold; a crash loses this much counting.
FLUSH_SECONDS = 0.5
WAL_AUTOCHECKPOINT = 1000  # pages: SQLite's default, turned off only while a count flush commits
CHECKPOINT_SECONDS = 5.0  # … which checkpoints itself at most this often, outside the read lock
log = logging.getLogger("textsvc.store")


@dataclass
class _PendingSighting:
    first_seen: str
    last_seen: str = ""
    total: int = 0
    senders: set[str] = field(default_factory=set)


@dataclass
class _Pending:
    matches: Counter[str] = field(default_factory=Counter)
    sightings: dict[str, _PendingSighting] = field(default_factory=dict)

    def merge(self, other: _Pending) -> None:
        self.matches.update(other.matches)
        for key, p in other.sightings.items():
            mine = self.sightings.setdefault(key, _PendingSighting(first_seen=p.first_seen))
            mine.total += p.total
            mine.senders |= p.senders
            mine.first_seen = min(mine.first_seen, p.first_seen)
            mine.last_seen = max(mine.last_seen, p.last_seen)


_SELECT = """SELECT t.*, t.rowid AS _rowid,
    (SELECT count(*) FROM reports r WHERE r.template_id = t.id AND r.kind = 'confirm') AS reports,
    (SELECT count(*) FROM reports r WHERE r.template_id = t.id AND r.kind = 'dispute') AS disputes
    FROM templates t"""


@contextmanager
def _file_lock(db_path: Path) -> Iterator[None]:
    """An exclusive lock beside the database, held while migrating (one process at a time)."""
    with open(db_path.with_name(db_path.name + ".lock"), "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def template_id_for(fp: str) -> str:
    """Content-derived id: the same normalised text always gets the same id."""
    return "tpl_" + hashlib.sha1(fp.encode()).hexdigest()[:12]


def encode_cursor(rowid: int) -> str:
    return base64.urlsafe_b64encode(str(rowid).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("invalid cursor") from exc


class Store:
    """Migrations, templates with their provenance, reports, sightings, the corpus version."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        conn = sqlite3.connect(str(path), timeout=30.0, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA foreign_keys = ON")
        self.db = Database(conn)
        self._lock = threading.RLock()  # the write connection (and everything not on the analysis path)
        # The analysis path reads counts on a connection of its own (WAL: readers never wait for a
        # writer) and keeps its counts in memory; it never takes ``_lock``, so an import or a
        # flush waiting for SQLite's write lock cannot stall an analysis.
        self._read_lock = threading.Lock()  # the read connection and the in-memory counts
        self._pending = _Pending()  # counted, not written yet
        self._inflight = _Pending()  # being written by ``flush``, not committed yet
        self._flush_timer: threading.Timer | None = None
        self._checkpointed = 0.0
        with self._lock, _file_lock(path):  # several workers may start on a new file at once
            migrations.apply(self.db)
            self.db.execute("PRAGMA synchronous = NORMAL")
            self._salt = self.db.execute("SELECT value FROM meta WHERE key = 'salt'").fetchone()[0]
        self._reader = sqlite3.connect(str(path), timeout=30.0, check_same_thread=False, isolation_level=None)
        self._reader.execute("PRAGMA query_only = ON")
        self._refingerprint()

    def close(self) -> None:
        timer = self._flush_timer
        if timer is not None:
            timer.cancel()
        self.flush()
        with self._lock, self._read_lock:
            self._reader.close()
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

    @contextmanager
    def _writing(self) -> Iterator[None]:
        with self._lock, self._transaction():
            yield

    # --- reads -----------------------------------------------------------------------------

    def data_version(self) -> int:
        """SQLite's ``data_version`` of the read connection: changes whenever any connection,
        this process's writer included, committed (a cheap poll)."""
        with self._read_lock:
            return int(self._reader.execute("PRAGMA data_version").fetchone()[0])

    def corpus_version(self) -> int:
        with self._read_lock:
            row = self._reader.execute("SELECT value FROM meta WHERE key = 'corpus_version'").fetchone()
        return int(row[0])

    def count(self) -> int:
        with self._lock:
            return int(self.db.execute("SELECT count(*) FROM templates").fetchone()[0])

    def count_by_status(self) -> dict[str, int]:
        counts = {"active": 0, "pending": 0, "suspended": 0}
        with self._lock:
            counts.update(self.db.execute("SELECT status, count(*) FROM templates GROUP BY status").fetchall())
        return counts

    @property
    def index_dir(self) -> Path:
        """Where the saved candidate index lives: beside the SQLite file."""
        return self.path.with_name(self.path.stem + ".candidates")

    def last_change(self) -> int:
        with self._lock:
            return int(self.db.execute("SELECT coalesce(max(seq), 0) FROM template_changes").fetchone()[0])

    def iter_fingerprints(self, batch: int = 10_000) -> Iterator[tuple[str, str]]:
        """``(id, fingerprint)`` of the active templates, in batches (building the candidate index)."""
        last = 0
        while True:
            with self._lock:
                rows = self.db.execute(
                    "SELECT rowid, id, fingerprint FROM templates WHERE status = 'active' AND rowid > ?"
                    " ORDER BY rowid LIMIT ?", [last, batch]).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield from ((tid, fp) for _, tid, fp in rows)

    def changes_since(self, seq: int) -> tuple[int, list[tuple[str, str | None]]]:
        """Templates changed after log position ``seq``: ``(id, fingerprint)``, None when it no longer
        matches (deleted, pending or suspended); and the new position."""
        with self._read_lock:
            rows = self._reader.execute(
                """SELECT c.seq, c.template_id, CASE WHEN t.status = 'active' THEN t.fingerprint END
                   FROM template_changes c LEFT JOIN templates t ON t.id = c.template_id
                   WHERE c.seq > ? ORDER BY c.seq""", [seq]).fetchall()
        latest = {tid: fp for _, tid, fp in rows}
        return (rows[-1][0] if rows else seq), list(latest.items())

    def get(self, template_id: str) -> Template:
        with self._lock:
            rows = list(self.db.query(_SELECT + " WHERE t.id = ?", [template_id]))
            if not rows:
                raise NotFound(f"template {template_id} does not exist")
            return self._counted(Template.from_row(rows[0]))

    def _counted(self, t: Template) -> Template:
        """The template with the matches this process has counted but not written yet."""
        with self._read_lock:
            pending = self._unwritten_matches(t.id)
        return replace(t, times_seen=t.times_seen + pending) if pending else t

    def _unwritten_matches(self, template_id: str) -> int:
        return self._pending.matches.get(template_id, 0) + self._inflight.matches.get(template_id, 0)

    def times_seen(self, template_id: str) -> int:
        with self._read_lock:
            row = self._reader.execute("SELECT times_seen FROM templates WHERE id = ?", [template_id]).fetchone()
            return (int(row[0]) if row else 0) + self._unwritten_matches(template_id)

    def id_for_text(self, text: str) -> str | None:
        with self._lock:
            row = self.db.execute("SELECT id FROM templates WHERE fingerprint = ?", [fingerprint(text)]).fetchone()
        return row[0] if row else None

    def list(
        self, *, q: str | None = None, language: str | None = None, status: str | None = None,
        limit: int = 50, cursor: str | None = None,
    ) -> tuple[list[Template], str | None]:
        """A page of templates in insertion order; ``q`` searches the text (FTS5 trigram)."""
        where, args = ["1 = 1"], []
        if q:
            if len(q) >= 3:
                where.append("t.rowid IN (SELECT rowid FROM templates_fts WHERE templates_fts MATCH ?)")
                args.append('"' + q.replace('"', '""') + '"')
            else:
                where.append("t.text LIKE ? ESCAPE '\\'")
                args.append("%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
        if language:
            where.append("t.language = ?")
            args.append(language)
        if status:
            where.append("t.status = ?")
            args.append(status)
        if cursor:
            where.append("t.rowid > ?")
            args.append(decode_cursor(cursor))
        sql = f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY t.rowid LIMIT ?"
        with self._lock:
            rows = list(self.db.query(sql, [*args, limit + 1]))
        more = len(rows) > limit
        rows = rows[:limit]
        with self._lock:
            items = [self._counted(Template.from_row(r)) for r in rows]
        return items, encode_cursor(rows[-1]["_rowid"]) if more else None

    def iter_all(self, batch: int = 1000) -> Iterator[Template]:
        """Every template, in insertion order, read in batches (export)."""
        cursor = None
        while True:
            page, cursor = self.list(limit=batch, cursor=cursor)
            yield from page
            if cursor is None:
                return

    def writable(self) -> bool:
        """Can this process write to the database right now (for ``/ready``)?"""
        try:
            with self._writing():
                self.db.execute("UPDATE meta SET value = value WHERE key = 'corpus_version'")
            return True
        except sqlite3.Error:
            return False

    # --- template writes -------------------------------------------------------------------

    def add(
        self, text: str, *, language: str, source: str, platform: str | None = None,
        tags: Iterable[str] = (), template_id: str | None = None,
    ) -> tuple[Template, bool]:
        """Insert an active template unless its fingerprint exists; return it and ``created``."""
        item = dict(text=text, language=language, source=source, platform=platform, tags=list(tags), id=template_id)
        created = self.add_many([item])
        existing = self.id_for_text(text)
        assert existing is not None
        return self.get(existing), bool(created)

    def add_many(self, items: Iterable[dict[str, Any]]) -> list[str]:
        """Insert templates in one transaction, skipping known fingerprints and ids; return the new ids.

        An item may carry ``id``, ``status``, ``times_seen``, ``created_at``, ``updated_at`` (an
        exported corpus reads back as it was); otherwise it is a new, active, explicit entry.
        """
        now = _now()
        new_ids: list[str] = []
        with self._writing():
            for item in items:
                fp = fingerprint(item["text"])
                tid = item.get("id") or template_id_for(fp)
                status = item.get("status") or "active"
                cur = self.db.execute(
                    """INSERT INTO templates (id, text, language, platform, source, tags, fingerprint,
                       fingerprint_version, times_seen, created_at, updated_at, status, explicit)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING""",
                    [tid, item["text"], item["language"], item.get("platform"), item["source"],
                     json.dumps(list(item.get("tags") or [])), fp, FINGERPRINT_VERSION, item.get("times_seen") or 0,
                     item.get("created_at") or now, item.get("updated_at") or now, status,
                     int(status == "active")],
                )
                if cur.rowcount:
                    new_ids.append(tid)
            if new_ids:
                self._bump_version()
        return new_ids

    def update(self, template_id: str, **fields: Any) -> Template:
        """Change tags, platform, language, source or status (``active``/``suspended``)."""
        allowed = {"tags", "platform", "language", "source", "status"}
        values = {k: (json.dumps(v) if k == "tags" else v) for k, v in fields.items() if k in allowed and v is not None}
        self.get(template_id)
        if values:
            sets = ", ".join(f"{k} = ?" for k in values)
            with self._writing():
                self.db.execute(f"UPDATE templates SET {sets}, updated_at = ? WHERE id = ?",  # noqa: S608 (names from allowlist)
                                [*values.values(), _now(), template_id])
                if "status" in values:
                    self.db.execute("UPDATE templates SET explicit = 1 WHERE id = ? AND status = 'active'", [template_id])
                    self._bump_version()
        return self.get(template_id)

    def delete(self, template_id: str) -> None:
        with self._writing():
            cur = self.db.execute("DELETE FROM templates WHERE id = ?", [template_id])
            if not cur.rowcount:
                raise NotFound(f"template {template_id} does not exist")
            self._bump_version()

    def record_match(self, template_id: str) -> int:
        """Count one more sighting of a template; return the new ``times_seen`` (written behind)."""
        with self._read_lock:
            row = self._reader.execute("SELECT times_seen FROM templates WHERE id = ?", [template_id]).fetchone()
            self._pending.matches[template_id] += 1
            seen = (int(row[0]) if row else 0) + self._unwritten_matches(template_id)
        self._schedule_flush()
        return seen

    def _bump_version(self) -> None:
        self.db.execute(
            "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'corpus_version'"
        )

    def _refingerprint(self) -> None:
        """Recompute fingerprints made by an older algorithm; texts that now coincide are merged."""
        with self._lock:
            stale = self.db.execute(
                "SELECT id, text FROM templates WHERE fingerprint_version != ?", [FINGERPRINT_VERSION]
            ).fetchall()
        if not stale:
            return
        with self._writing():
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

    # --- governance ------------------------------------------------------------------------

    def report(self, text: str, *, reporter: str, language: str, activate_at: int) -> tuple[Template, bool]:
        """A user says ``text`` is a template: add it as pending (or confirm the existing entry).

        A pending template turns active once ``activate_at`` distinct reporters confirmed it.
        Returns the template and whether this report was new (the same reporter counts once).
        """
        fp = fingerprint(text)
        now = _now()
        with self._writing():
            self.db.execute(
                """INSERT INTO templates (id, text, language, platform, source, tags, fingerprint,
                   fingerprint_version, times_seen, created_at, updated_at, status, explicit)
                   VALUES (?, ?, ?, NULL, 'feedback', '[]', ?, ?, 0, ?, ?, 'pending', 0) ON CONFLICT DO NOTHING""",
                [template_id_for(fp), text, language, fp, FINGERPRINT_VERSION, now, now],
            )
            tid = self.db.execute("SELECT id FROM templates WHERE fingerprint = ?", [fp]).fetchone()[0]
            new = self._add_report(tid, reporter, "confirm", now)
            self._apply_governance(tid, activate_at, now)
        return self.get(tid), new

    def dispute(self, template_id: str, *, reporter: str, activate_at: int) -> tuple[Template, bool]:
        """A user says a template match was wrong; disputed more than confirmed → suspended."""
        self.get(template_id)
        now = _now()
        with self._writing():
            new = self._add_report(template_id, reporter, "dispute", now)
            self._apply_governance(template_id, activate_at, now)
        return self.get(template_id), new

    def report_rule(self, rule_id: str, *, reporter: str) -> bool:
        """A user says a phrase rule fired wrongly; counted per distinct reporter, no text kept."""
        with self._writing():
            cur = self.db.execute(
                "INSERT INTO rule_reports (rule_id, reporter, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                [rule_id, self._hash(reporter), _now()],
            )
        return bool(cur.rowcount)

    def rule_reports(self) -> dict[str, int]:
        with self._lock:
            return dict(self.db.execute("SELECT rule_id, count(*) FROM rule_reports GROUP BY rule_id").fetchall())

    def _hash(self, value: str) -> str:
        return hashlib.sha256((self._salt + "\x00" + value).encode()).hexdigest()[:32]

    def _add_report(self, template_id: str, reporter: str, kind: str, now: str) -> bool:
        reporter_hash = self._hash(reporter)
        cur = self.db.execute(
            "INSERT INTO reports (template_id, reporter, kind, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [template_id, reporter_hash, kind, now],
        )
        return bool(cur.rowcount)

    def _apply_governance(self, template_id: str, activate_at: int, now: str) -> None:
        """Status from the counts: an explicit write weighs as ``activate_at`` confirmations."""
        explicit, status, confirms, disputes = self.db.execute(
            """SELECT explicit, status,
               (SELECT count(*) FROM reports WHERE template_id = ?1 AND kind = 'confirm'),
               (SELECT count(*) FROM reports WHERE template_id = ?1 AND kind = 'dispute')
               FROM templates WHERE id = ?1""", [template_id]).fetchone()
        confirmations = confirms + (activate_at if explicit else 0)
        if disputes > confirmations:
            new_status = "suspended"
        elif confirmations >= activate_at:
            new_status = "active"
        else:
            new_status = "pending"
        if new_status != status:
            self.db.execute("UPDATE templates SET status = ?, updated_at = ? WHERE id = ?", [new_status, now, template_id])
            self._bump_version()

    # --- sightings -------------------------------------------------------------------------

    def sight(self, skeleton: str, sender: str | None) -> Sighting:
        """Count one analysed message by the salted hash of its skeleton; keep no text.

        Counted in memory and written behind (``flush``), so analyses never wait for SQLite's write
        lock; the answer includes what this process has not written yet.
        """
        key = hashlib.sha256((self._salt + skeleton).encode()).hexdigest()
        sender_key = self._hash(sender) if sender else None
        now = _now()
        with self._read_lock:
            row = self._reader.execute("SELECT total, senders, first_seen FROM sightings WHERE skeleton = ?",
                                       [key]).fetchone() or (0, 0, now)
            pending = self._pending.sightings.setdefault(key, _PendingSighting(first_seen=now))
            inflight = self._inflight.sightings.get(key) or _PendingSighting(first_seen=now)
            pending.total += 1
            pending.last_seen = now
            if sender_key and sender_key not in inflight.senders:
                known = self._reader.execute("SELECT 1 FROM sighting_senders WHERE skeleton = ? AND sender = ?",
                                             [key, sender_key]).fetchone()
                if not known:
                    pending.senders.add(sender_key)
            seen = Sighting(total=row[0] + pending.total + inflight.total,
                            senders=row[1] + len(pending.senders | inflight.senders),
                            first_seen=min(row[2], pending.first_seen, inflight.first_seen), last_seen=now)
        self._schedule_flush()
        return seen

    def flush(self) -> None:
        """Write the counts gathered in memory in one transaction (also at close).

        The counts move to ``_inflight`` while they are written, so readers keep adding them
        until the moment of the commit (taken under ``_read_lock``): never counted twice.
        """
        with self._lock:
            with self._read_lock:
                self._flush_timer = None
                pending, self._pending = self._pending, _Pending()
                self._inflight = pending
            if not pending.matches and not pending.sightings:
                return
            self._write_counts(pending)
        # SQLite would checkpoint a long write-ahead log inside that COMMIT, under _read_lock;
        # it is done here instead, every few seconds, where no analysis waits for it.
        if time.monotonic() - self._checkpointed > CHECKPOINT_SECONDS:
            with self._lock:
                self.db.execute("PRAGMA wal_checkpoint(PASSIVE)")
                self._checkpointed = time.monotonic()

    def _write_counts(self, pending: _Pending) -> None:
        self.db.execute("PRAGMA wal_autocheckpoint = 0")
        try:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.conn.executemany("UPDATE templates SET times_seen = times_seen + ? WHERE id = ?",
                                     [(n, tid) for tid, n in pending.matches.items()])
            for key, p in pending.sightings.items():
                new_senders = sum(
                    self.db.execute("INSERT INTO sighting_senders (skeleton, sender) VALUES (?, ?) "
                                    "ON CONFLICT DO NOTHING", [key, s]).rowcount
                    for s in p.senders
                )
                self.db.execute(
                    """INSERT INTO sightings (skeleton, total, senders, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)
                       ON CONFLICT (skeleton) DO UPDATE SET total = total + excluded.total,
                       senders = senders + excluded.senders, last_seen = excluded.last_seen""",
                    [key, p.total, new_senders, p.first_seen, p.last_seen],
                )
            with self._read_lock:  # readers see either the counts in flight or the committed ones
                self.db.execute("COMMIT")
                self._inflight = _Pending()
        except BaseException:
            if self.db.conn.in_transaction:
                self.db.execute("ROLLBACK")
            with self._read_lock:
                if self._inflight is pending:  # not committed: keep the counts for the next try
                    self._pending.merge(pending)
                    self._inflight = _Pending()
            raise
        finally:
            self.db.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT}")

    def _schedule_flush(self) -> None:
        with self._read_lock:
            if self._flush_timer is None:
                self._flush_timer = threading.Timer(FLUSH_SECONDS, self._flush_quietly)
                self._flush_timer.daemon = True
                self._flush_timer.start()

    def _flush_quietly(self) -> None:
        try:
            self.flush()
        except sqlite3.Error as exc:  # retried with the next flush; never crashes the worker
            log.warning("could not write counts yet: %s", exc)

    # --- seed ------------------------------------------------------------------------------

    def seed(self, files: Iterable[Path]) -> int:
        """Load the seed corpus once (first start); later starts change nothing."""
        with self._lock:
            done = self.db.execute("SELECT value FROM meta WHERE key = 'seeded'").fetchone()
        if done:
            return 0
        inserted = len(self.add_many(_read_jsonl(files)))
        with self._writing():
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('seeded', ?)", [_now()])
        return inserted


def _read_jsonl(files: Iterable[Path]) -> Iterator[dict[str, Any]]:
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                yield {
                    "id": row["id"], "text": row["text"], "language": row["language"],
                    "platform": row.get("platform"), "source": row.get("source", "seed"), "tags": row.get("tags", []),
                }
