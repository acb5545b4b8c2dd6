"""HTTP handlers: decode → Analyzer → encode. No logic lives here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Controller, MediaType, Response, get, post
from litestar.response import File
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody

from textsvc.engine import Analyzer
from textsvc.problems import responses
from textsvc.schemas import (
    AnalyzeRequest,
    AnalyzeResponse,
    CheckResponse,
    Health,
    Ready,
    RulesResponse,
    TemplateIn,
    TemplateOut,
)
from textsvc.store import Template


def _analyzer(state: State) -> Analyzer:
    return state.analyzer  # type: ignore[no-any-return]


def template_out(t: Template, duplicate: bool = False) -> TemplateOut:
    return TemplateOut(id=t.id, text=t.text, language=t.language, platform=t.platform, source=t.source,
                       tags=list(t.tags), times_seen=t.times_seen, created_at=t.created_at,
                       updated_at=t.updated_at, duplicate=duplicate)


class AnalysisController(Controller):
    path = "/v1"
    tags = ["analysis"]

    @post("/analyze", status_code=200, sync_to_thread=True, operation_id="Analyze",
          responses=responses(400, 413, 422, 500))
    def analyze(self, state: State, data: JSONBody[AnalyzeRequest]) -> AnalyzeResponse:
        """Judge an incoming contact request: phrases, templates, personalization, profile, verdict."""
        return _analyzer(state).analyze(data)

    @post("/check", status_code=200, sync_to_thread=True, operation_id="CheckDraft",
          responses=responses(400, 413, 422, 500))
    def check(self, state: State, data: JSONBody[AnalyzeRequest]) -> CheckResponse:
        """Coach an outgoing draft: findings plus what to add or fix; nothing is stored or logged."""
        return _analyzer(state).check(data)

    @get("/rules", operation_id="ListRules", sync_to_thread=False)
    def rules(self, state: State) -> RulesResponse:
        """Every rule of the lexicon with its message, weight, replacements and examples."""
        analyzer = _analyzer(state)
        return RulesResponse(rules=analyzer.rules(), ruleset_version=analyzer.ruleset_version)


class TemplateController(Controller):
    path = "/v1/templates"
    tags = ["templates"]

    @post("/", sync_to_thread=True, operation_id="CreateTemplate", responses=responses(400, 413, 500))
    def create(self, state: State, data: JSONBody[TemplateIn]) -> Response[TemplateOut]:
        """Add a known template; the same normalised text again returns the existing entry (200)."""
        template, created = _analyzer(state).add_template(
            data.text, language=data.language, source=data.source, platform=data.platform, tags=data.tags
        )
        return Response(
            template_out(template, duplicate=not created),
            status_code=201 if created else 200,
            headers={"Location": f"/v1/templates/{template.id}"},
        )

    @get("/{template_id:str}", sync_to_thread=True, operation_id="GetTemplate", responses=responses(404))
    def read(self, state: State, template_id: FromPath[str]) -> TemplateOut:
        """One template with its provenance and how often it was seen."""
        return template_out(_analyzer(state).store.get(template_id))


STATIC_DIR = Path(__file__).resolve().parent / "static"


class OperationsController(Controller):
    path = "/"
    tags = ["operations"]

    @get("/", media_type=MediaType.HTML, include_in_schema=False, sync_to_thread=False)
    def page(self) -> File:
        """The writing coach page (static files, no build step, no CDN)."""
        return File(STATIC_DIR / "index.html", content_disposition_type="inline")

    @get("/health", operation_id="Health", sync_to_thread=False)
    def health(self) -> Health:
        """Liveness: the process answers."""
        return Health(status="ok")

    @get("/ready", operation_id="Ready", sync_to_thread=True, responses=responses(503))
    def ready(self, state: State) -> Response[Any]:
        """Readiness: pipelines loaded and the database writable (503 otherwise)."""
        analyzer = _analyzer(state)
        writable = analyzer.store.writable()
        body = Ready(
            status="ready" if writable else "not_ready",
            pipelines={lang: p.name for lang, p in analyzer.pipelines.items()},
            templates=analyzer.store.count(),
            ruleset_version=analyzer.ruleset_version,
            database="ok" if writable else "not_writable",
        )
        return Response(body, status_code=200 if writable else 503)
