"""HTTP handlers: decode → Analyzer / Store → encode. No logic lives here."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import anyio
import msgspec
from litestar import Controller, MediaType, Request, Response, delete, get, patch, post
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.exceptions import NotAuthorizedException, ValidationException
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, Parameter, RawBody
from litestar.response import File, Stream

from textsvc.corpus import export_lines, import_templates, parse_import, template_out
from textsvc.engine import Analyzer
from textsvc.observability import count_analysis
from textsvc.problems import responses
from textsvc.schemas import (
    AnalyzeRequest,
    AnalyzeResponse,
    BatchRequest,
    BatchResponse,
    BatchResult,
    CheckResponse,
    FeedbackIn,
    FeedbackOut,
    Health,
    ImportReport,
    Ready,
    RulesResponse,
    TemplateIn,
    TemplateOut,
    TemplatePage,
    TemplatePatch,
)

STATIC_DIR = Path(__file__).resolve().parent / "static"
NDJSON = "application/x-ndjson"
T = TypeVar("T")


def _analyzer(state: State) -> Analyzer:
    return state.analyzer  # type: ignore[no-any-return]


async def _run_analysis(analyzer: Analyzer, run: Callable[[AnalyzeRequest], T], data: AnalyzeRequest) -> T:
    """Run an analysis on the event loop while the template index is current: it is ~1 ms of CPU
    with no I/O (counts are kept in memory and read on their own connection), and a hand-off to a
    thread cost a quarter of that again. When the index must first catch up with other writers
    (~35 µs a template, seconds after a large import), the analysis goes to a thread so the
    worker's other requests are not held up."""
    if analyzer.index_is_current():
        return run(data)
    return await anyio.to_thread.run_sync(run, data)


def has_write_key(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """Does the request carry one of the configured API keys (constant-time comparison)?"""
    keys: tuple[str, ...] = connection.app.state.api_keys
    given = connection.headers.get("x-api-key", "")
    return any(hmac.compare_digest(given.encode(), key.encode()) for key in keys)


def require_write_key(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Corpus writes need ``X-API-Key`` when ``TEXTSVC_API_KEYS`` is set; reads stay open."""
    if connection.app.state.api_keys and not has_write_key(connection):
        raise NotAuthorizedException("a valid X-API-Key header is required to change the template corpus")


WRITE = {"guards": [require_write_key], "security": [{"apiKey": []}]}


class AnalysisController(Controller):
    path = "/v1"
    tags = ["analysis"]

    @post("/analyze", status_code=200, operation_id="Analyze", responses=responses(400, 413, 422, 500))
    async def analyze(self, state: State, data: JSONBody[AnalyzeRequest]) -> AnalyzeResponse:
        """Judge an incoming contact request: phrases, templates, personalization, profile, verdict."""
        analyzer = _analyzer(state)
        result = await _run_analysis(analyzer, analyzer.analyze, data)
        count_analysis(result)
        return result

    @post("/analyze/batch", status_code=200, sync_to_thread=True, operation_id="AnalyzeBatch",
          responses=responses(400, 413, 422, 500))
    def analyze_batch(self, state: State, data: JSONBody[BatchRequest]) -> BatchResponse:
        """Judge up to 100 requests in one call; results come back in the order of the items."""
        analyzer = _analyzer(state)
        results = []
        for item in data.items:
            result = analyzer.analyze(item)
            count_analysis(result)
            results.append(BatchResult(id=item.id, **msgspec.structs.asdict(result)))
        return BatchResponse(results=results)

    @post("/check", status_code=200, operation_id="CheckDraft", responses=responses(400, 413, 422, 500))
    async def check(self, state: State, data: JSONBody[AnalyzeRequest]) -> CheckResponse:
        """Coach an outgoing draft: findings plus what to add or fix; nothing is stored or logged."""
        analyzer = _analyzer(state)
        return await _run_analysis(analyzer, analyzer.check, data)

    @post("/feedback", status_code=202, sync_to_thread=True, operation_id="Feedback",
          responses=responses(400, 404, 413))
    def feedback(self, state: State, data: JSONBody[FeedbackIn]) -> FeedbackOut:
        """Report a template (it becomes pending until confirmed) or dispute a match or a rule."""
        return _analyzer(state).feedback(data)

    @get("/rules", operation_id="ListRules", sync_to_thread=False)
    def rules(self, state: State) -> RulesResponse:
        """Every rule of the lexicon with its message, weight, replacements and examples."""
        analyzer = _analyzer(state)
        return RulesResponse(rules=analyzer.rules(), ruleset_version=analyzer.ruleset_version)


class TemplateController(Controller):
    path = "/v1/templates"
    tags = ["templates"]

    @get("/", sync_to_thread=True, operation_id="ListTemplates", responses=responses(400))
    def list_templates(
        self, state: State,
        q: Annotated[str | None, Parameter(max_length=200, description="Search the text (≥ 3 characters: FTS5 trigram).")] = None,
        language: Annotated[str | None, Parameter(pattern="^(de|en)$")] = None,
        status: Annotated[str | None, Parameter(pattern="^(active|pending|suspended)$")] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, Parameter(max_length=100)] = None,
    ) -> TemplatePage:
        """List or search templates, oldest first, one page at a time (``nextCursor``)."""
        try:
            items, next_cursor = _analyzer(state).store.list(q=q, language=language, status=status, limit=limit,
                                                             cursor=cursor)
        except ValueError as exc:
            raise ValidationException(str(exc)) from exc
        return TemplatePage(items=[template_out(t) for t in items], next_cursor=next_cursor)

    @post("/", sync_to_thread=True, operation_id="CreateTemplate", **WRITE,
          responses={**responses(400, 401, 413, 500),
                     200: ResponseSpec(TemplateOut, description="The same normalised text was already known")})
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

    @post("/import", status_code=200, sync_to_thread=True, operation_id="ImportTemplates",
          responses=responses(400, 401, 413), request_max_body_size=64 * 1024 * 1024, **WRITE)
    def import_(self, state: State, body: RawBody) -> ImportReport:
        """Import many templates from NDJSON (one object a line) or a JSON array of
        ``{text, language, platform?, source?, tags?}``: idempotent, with the line and reason of
        every rejected line; each batch is written all or nothing."""
        analyzer = _analyzer(state)
        report = import_templates(analyzer.store, parse_import(body, min_words=analyzer.policy.templates.min_words))
        analyzer.refresh_index()
        return report

    @get("/export", sync_to_thread=False, operation_id="ExportTemplates", media_type=NDJSON)
    def export(self, state: State) -> Stream:
        """The whole corpus as NDJSON, in the format the import reads."""
        lines: Iterator[bytes] = export_lines(_analyzer(state).store.iter_all())
        return Stream(lines, media_type=NDJSON)

    @get("/{template_id:str}", sync_to_thread=True, operation_id="GetTemplate", responses=responses(404))
    def read(self, state: State, template_id: FromPath[str]) -> TemplateOut:
        """One template with its provenance and how often it was seen."""
        return template_out(_analyzer(state).store.get(template_id))

    @patch("/{template_id:str}", sync_to_thread=True, operation_id="UpdateTemplate",
           responses=responses(400, 401, 404), **WRITE)
    def update(self, state: State, template_id: FromPath[str], data: JSONBody[TemplatePatch]) -> TemplateOut:
        """Change tags, language, platform, source, or activate / suspend a template."""
        analyzer = _analyzer(state)
        template = analyzer.store.update(template_id, language=data.language, platform=data.platform,
                                         source=data.source, tags=data.tags, status=data.status)
        analyzer.refresh_index()
        return template_out(template)

    @delete("/{template_id:str}", sync_to_thread=True, operation_id="DeleteTemplate",
            responses=responses(401, 404), **WRITE)
    def remove(self, state: State, template_id: FromPath[str]) -> None:
        """Delete a template for good."""
        analyzer = _analyzer(state)
        analyzer.store.delete(template_id)
        analyzer.refresh_index()


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
    def ready(self, state: State, request: Request[Any, Any, Any]) -> Response[Any]:
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
