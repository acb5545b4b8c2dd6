"""Shared fixtures: the real pipelines and lexicons (built once per session), real SQLite files."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from textsvc.lexicon import Lexicon, load_lexicon
from textsvc.nlp import Pipeline, build_pipeline
from textsvc.phrases import PhraseChecker

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT / "corpora"


@pytest.fixture(scope="session")
def pipelines() -> dict[str, Pipeline]:
    return {lang: build_pipeline(lang) for lang in ("de", "en")}


@pytest.fixture(scope="session")
def lexicons() -> dict[str, Lexicon]:
    return {lang: load_lexicon(CORPORA / "lexicon", lang) for lang in ("de", "en")}


@pytest.fixture(scope="session")
def checkers(pipelines, lexicons) -> dict[str, PhraseChecker]:
    return {lang: PhraseChecker(pipelines[lang], lexicons[lang]) for lang in ("de", "en")}


@pytest.fixture(scope="session")
def settings(tmp_path_factory):
    from textsvc.settings import Settings

    return Settings(db_path=tmp_path_factory.mktemp("db") / "textsvc.db", corpora_dir=CORPORA)


@pytest.fixture(scope="session")
def analyzer(settings):
    from textsvc.engine import Analyzer
    from textsvc.store import Store

    return Analyzer(settings, Store(settings.db_path))


@pytest.fixture(scope="session")
def client(tmp_path_factory):
    """An in-process HTTP client over the real app, with its own real SQLite file."""
    from litestar.testing import TestClient

    from textsvc.app import create_app
    from textsvc.settings import Settings

    app = create_app(Settings(db_path=tmp_path_factory.mktemp("api") / "textsvc.db", corpora_dir=CORPORA))
    with TestClient(app) as c:
        yield c


def analyze(analyzer, text: str, **fields):
    """Run the analyzer on a request given as keyword arguments in API (camelCase) form."""
    import msgspec

    from textsvc.schemas import AnalyzeRequest

    return analyzer.analyze(msgspec.convert({"text": text, **fields}, AnalyzeRequest))


@contextmanager
def running_server(tmp_path: Path, *, workers: int = 1, env: dict[str, str] | None = None,
                   db: Path | None = None) -> Iterator[tuple[subprocess.Popen, str]]:
    """A real `textsvc serve` process on a free loopback port, its log in a file beside the DB."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db = db or tmp_path / "live.db"
    log = (tmp_path / f"serve-{port}.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "textsvc.cli", "serve", "--port", str(port), "--workers", str(workers)],
        env={**os.environ, "TEXTSVC_DB_PATH": str(db), **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("server did not become ready:\n" + Path(log.name).read_text(errors="replace")[-3000:])
            try:
                if httpx.get(base + "/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield proc, base
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()
