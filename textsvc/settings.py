"""Settings from ``TEXTSVC_*`` environment variables, read once and passed down."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import platformdirs

_PACKAGE = Path(__file__).resolve().parent


def default_corpora_dir() -> Path:
    """The corpora shipped inside the wheel, else the checkout's ``corpora/`` (editable install)."""
    bundled = _PACKAGE / "corpora"
    return bundled if bundled.is_dir() else _PACKAGE.parent / "corpora"


def default_db_path() -> Path:
    """Per-user data directory: ``~/.local/share/textsvc/textsvc.db`` on Linux."""
    return Path(platformdirs.user_data_dir("textsvc", appauthor=False)) / "textsvc.db"


@dataclass(frozen=True, slots=True)
class Settings:
    db_path: Path = field(default_factory=default_db_path)
    corpora_dir: Path = field(default_factory=default_corpora_dir)
    # An installed trained German pipeline (de_core_news_sm/md/lg or a path) instead of the blank one.
    spacy_model: str | None = None
    # Request bodies above this size get 413 (the text itself is capped at 5,000 characters).
    max_body_bytes: int = 256 * 1024
    seed: bool = True
    # Keys that may change the template corpus (X-API-Key); none configured = writes are open.
    api_keys: tuple[str, ...] = ()
    # Requests per client and unit, e.g. "600/minute"; none = no limit. Counted per worker.
    rate_limit: tuple[str, int] | None = None
    # Browser origins allowed to call the API (CORS); none = CORS off.
    cors_origins: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
        env = os.environ if environ is None else environ
        s = cls()
        if v := env.get("TEXTSVC_DB_PATH"):
            s = replace(s, db_path=Path(v).expanduser())
        if v := env.get("TEXTSVC_CORPORA_DIR"):
            s = replace(s, corpora_dir=Path(v).expanduser())
        if v := env.get("TEXTSVC_SPACY_MODEL"):
            s = replace(s, spacy_model=None if v in ("blank", "") else v)
        if v := env.get("TEXTSVC_API_KEYS"):
            s = replace(s, api_keys=tuple(k.strip() for k in v.split(",") if k.strip()))
        if v := env.get("TEXTSVC_RATE_LIMIT"):
            count, _, unit = v.partition("/")
            s = replace(s, rate_limit=(unit.strip() or "minute", int(count)))
        if v := env.get("TEXTSVC_CORS_ORIGINS"):
            s = replace(s, cors_origins=tuple(o.strip() for o in v.split(",") if o.strip()))
        if v := env.get("TEXTSVC_MAX_BODY_BYTES"):
            s = replace(s, max_body_bytes=int(v))
        return replace(s, **overrides)  # type: ignore[arg-type]
