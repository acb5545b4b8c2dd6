"""Shared fixtures: the real pipelines and lexicons (built once per session), real SQLite files."""

from __future__ import annotations

from pathlib import Path

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
