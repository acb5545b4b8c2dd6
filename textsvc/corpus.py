"""Growing the template corpus in bulk: NDJSON / JSON-array import with a line report, export.

Import is idempotent (templates are keyed by their fingerprint), one bad line never spoils the
others, and each batch is written in one transaction, so an interrupted import leaves whole
batches and can simply be run again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import msgspec

from textsvc.schemas import ImportRejected, ImportReport, TemplateImport, TemplateOut
from textsvc.store import Store, Template
from textsvc.templates import fingerprint

BATCH = 500


@dataclass
class ParsedImport:
    min_words: int
    items: list[tuple[int, TemplateImport]] = field(default_factory=list)
    rejected: list[ImportRejected] = field(default_factory=list)
    received: int = 0


def parse_import(body: bytes, *, min_words: int) -> ParsedImport:
    """Read a JSON array or NDJSON (one object per line); keep the line number of each item.

    A text whose skeleton has fewer than ``min_words`` words is rejected: it could never match.
    """
    parsed = ParsedImport(min_words=min_words)
    if body.lstrip()[:1] == b"[":
        try:
            rows = msgspec.json.decode(body)
        except msgspec.DecodeError as exc:
            parsed.rejected.append(ImportRejected(line=1, detail=f"invalid JSON array: {exc}"))
            return parsed
        for n, row in enumerate(rows, 1):
            parsed.received += 1
            _validate(parsed, n, row)
        return parsed
    for n, line in enumerate(body.splitlines(), 1):
        if not line.strip():
            continue
        parsed.received += 1
        try:
            row = msgspec.json.decode(line)
        except msgspec.DecodeError as exc:
            parsed.rejected.append(ImportRejected(line=n, detail=f"invalid JSON: {exc}"))
            continue
        _validate(parsed, n, row)
    return parsed


def _validate(parsed: ParsedImport, n: int, row: object) -> None:
    try:
        item = msgspec.convert(row, TemplateImport)
    except msgspec.ValidationError as exc:
        parsed.rejected.append(ImportRejected(line=n, detail=str(exc)))
        return
    if len(fingerprint(item.text).split()) < parsed.min_words:
        parsed.rejected.append(ImportRejected(
            line=n, detail=f"too short: a template needs at least {parsed.min_words} words besides greeting, "
                           "sign-off, numbers and merge fields"))
        return
    parsed.items.append((n, item))


def import_templates(store: Store, parsed: ParsedImport, *, source: str = "import",
                     progress=None) -> ImportReport:  # type: ignore[no-untyped-def]
    """Insert the valid items in batches; a known fingerprint counts as a duplicate."""
    inserted = 0
    for start in range(0, len(parsed.items), BATCH):
        batch = parsed.items[start:start + BATCH]
        inserted += len(store.add_many(
            {"id": t.id, "text": t.text, "language": t.language, "platform": t.platform, "source": t.source or source,
             "tags": t.tags, "status": t.status, "times_seen": t.times_seen, "created_at": t.created_at,
             "updated_at": t.updated_at}
            for _, t in batch
        ))
        if progress:
            progress(len(batch))
    valid = len(parsed.items)
    return ImportReport(received=parsed.received, inserted=inserted, duplicates=valid - inserted,
                        rejected=sorted(parsed.rejected, key=lambda r: r.line))


def template_out(t: Template, duplicate: bool = False) -> TemplateOut:
    return TemplateOut(id=t.id, text=t.text, language=t.language, platform=t.platform, source=t.source,
                       tags=list(t.tags), status=t.status, times_seen=t.times_seen, reports=t.reports,
                       disputes=t.disputes, fingerprint_version=t.fingerprint_version,
                       created_at=t.created_at, updated_at=t.updated_at, duplicate=duplicate)


def export_lines(templates: Iterable[Template]) -> Iterator[bytes]:
    """NDJSON lines that ``parse_import`` reads back into the same corpus."""
    for t in templates:
        row = {"id": t.id, "text": t.text, "language": t.language, "platform": t.platform, "source": t.source,
               "tags": list(t.tags), "status": t.status, "timesSeen": t.times_seen,
               "createdAt": t.created_at, "updatedAt": t.updated_at}
        yield msgspec.json.encode(row) + b"\n"
