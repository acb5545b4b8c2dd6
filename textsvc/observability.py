"""Request IDs, one structured log line per request (never the body), Prometheus metrics.

Logs carry method, path, status, duration and the request id; message texts are never logged
(they contain names). Metrics are per worker process; scrape each worker or run one.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import TYPE_CHECKING, Any

from litestar import Request
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import HTTPException
from litestar.middleware import ASGIMiddleware
from litestar.plugins.prometheus import PrometheusConfig
from prometheus_client import Counter, Gauge

from textsvc.problems import on_http_error

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("textsvc.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")

VERDICTS = Counter("textsvc_verdicts_total", "Analyses by verdict action.", ["action"])
TEMPLATE_MATCHES = Counter("textsvc_template_matches_total", "Analyses that matched a known template.")
MASS_SENT = Counter("textsvc_mass_sent_unlisted_total", "Analyses flagged by sightings of unlisted texts.")
CORPUS_SIZE = Gauge("textsvc_corpus_templates", "Templates in the corpus, by status.", ["status"])

PROMETHEUS = PrometheusConfig(app_name="textsvc", prefix="textsvc", group_path=True,
                              exclude=["/metrics", "/health"])


class RequestLogMiddleware(ASGIMiddleware):
    """Echo or issue ``X-Request-ID`` and log one JSON line per request."""

    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableScopeHeaders.from_message(message)["X-Request-ID"] = request_id
            await send(message)

        try:
            try:
                await next_app(scope, receive, send_with_id)
            except HTTPException as exc:  # raised by middleware (rate limit), not by a handler
                request: Request[Any, Any, Any] = Request(scope, receive)
                response = on_http_error(request, exc).to_asgi_response(None, request)
                await response(scope, receive, send_with_id)
        finally:
            access_log.info(json.dumps({
                "event": "request", "requestId": request_id, "method": scope.get("method"),
                "path": scope.get("path"), "status": status,
                "ms": round((time.perf_counter() - started) * 1000, 2),
            }))


def set_corpus_size(counts: dict[str, int]) -> None:
    for status, n in counts.items():
        CORPUS_SIZE.labels(status).set(n)


def count_analysis(result: Any) -> None:
    VERDICTS.labels(result.verdict.action).inc()
    if result.template_matches:
        TEMPLATE_MATCHES.inc()
    if result.sighting is not None and result.sighting.mass_sent and not result.template_matches:
        MASS_SENT.inc()
