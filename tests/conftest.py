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
