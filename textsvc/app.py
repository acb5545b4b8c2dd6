"""The Litestar application: routes, lifespan (build the Analyzer once), errors, OpenAPI."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import msgspec
import yaml
from litestar import Litestar, Request, Response, get
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.logging.config import LoggingConfig
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin, YamlRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.prometheus import PrometheusController
from litestar.static_files import create_static_files_router

from textsvc import __version__
from textsvc.api import STATIC_DIR, AnalysisController, OperationsController, TemplateController
from textsvc.engine import Analyzer
from textsvc.observability import PROMETHEUS, RequestLogMiddleware, set_corpus_size
from textsvc.problems import EXCEPTION_HANDLERS
from textsvc.settings import Settings
from textsvc.store import Store

DESCRIPTION = """Tells a genuine, personal contact request on a professional network (XING,
LinkedIn) from boilerplate and mass-sent templates. Errors are RFC 9457 problem details.
Offsets: `start`/`end` count Unicode code points, `offset`/`length` UTF-16 code units."""


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the app; ``settings`` default to the ``TEXTSVC_*`` environment."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        store = Store(settings.db_path)
        app.state.analyzer = Analyzer(settings, store)
        app.state.api_keys = settings.api_keys
        # The ~180k objects built at start-up (lexicons, tables, caches) live as long as the
        # worker; frozen, full collections no longer walk them (~60 ms each, a stall for every
        # request queued behind it).
        gc.collect()
        gc.freeze()
        _return_freed_memory()
        try:
            yield
        finally:
            gc.unfreeze()  # collectable again (matters where one process runs many apps: tests)
            app.state.analyzer.save_index()
            store.close()

    middleware: list[Any] = [RequestLogMiddleware(), PROMETHEUS.middleware]
    if settings.rate_limit:
        middleware.append(RateLimitConfig(
            rate_limit=settings.rate_limit,  # type: ignore[arg-type]
            exclude=["/health", "/ready", "/metrics", "/schema", "/static"],
            identifier_for_request=_client_identity,
        ).middleware)
    cors = CORSConfig(allow_origins=list(settings.cors_origins), allow_headers=["content-type", "x-api-key", "x-request-id"],
                      expose_headers=["x-request-id", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset",
                                      "ratelimit-policy"]) if settings.cors_origins else None
    return Litestar(
        route_handlers=[
            AnalysisController,
            TemplateController,
            OperationsController,
            MetricsController,
            create_static_files_router(path="/static", directories=[STATIC_DIR]),
        ],
        middleware=middleware,
        cors_config=cors,
        logging_config=LoggingConfig(
            loggers={"textsvc": {"level": "INFO", "handlers": ["queue_listener"], "propagate": False}},
            log_exceptions="always",
        ),
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="textsvc",
            version=__version__,
            description=DESCRIPTION,
            path="/schema",
            render_plugins=[
                JsonRenderPlugin(),
                YamlRenderPlugin(),
                # served from textsvc/static/swagger (swagger-ui-dist 5 from npm): no CDN, works offline
                SwaggerRenderPlugin(
                    js_url="/static/swagger/swagger-ui-bundle.js",
                    css_url="/static/swagger/swagger-ui.css",
                    standalone_preset_js_url="/static/swagger/swagger-ui-standalone-preset.js",
                    favicon="<link rel='icon' type='image/png' href='/static/swagger/favicon-32x32.png'>",
                ),
            ],
            components=Components(
                security_schemes={"apiKey": SecurityScheme(type="apiKey", name="X-API-Key", security_scheme_in="header")}
            ),
        ),
        debug=False,
    )


class MetricsController(PrometheusController):
    path = "/metrics"
    include_in_schema = False

    @get()
    async def get(self, state: State) -> Response:  # type: ignore[override]
        """Prometheus text; the corpus size is counted here, at scrape time, not on the analysis
        path (where another worker's import would trigger a full count after every batch)."""
        set_corpus_size(await anyio.to_thread.run_sync(state.analyzer.store.count_by_status))
        return await PrometheusController.get.fn(self)


def _return_freed_memory() -> None:
    """Hand the memory freed while loading (dictionaries, lexicon compilation) back to the OS:
    glibc keeps freed heap otherwise, and it would count in every worker's RSS."""
    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


def _client_identity(request: Request[Any, Any, Any]) -> str:
    """Rate limits count per API key when one is sent, else per client address."""
    key = request.headers.get("x-api-key")
    if key:
        return "key:" + hashlib.sha256(key.encode()).hexdigest()[:16]
    return "addr:" + (request.client.host if request.client else "unknown")


def openapi_yaml(app: Litestar) -> str:
    """The app's OpenAPI document as YAML with sorted keys (the committed ``openapi.yaml``)."""
    schema = msgspec.to_builtins(app.openapi_schema.to_schema())
    return yaml.safe_dump(schema, sort_keys=True, allow_unicode=True, default_flow_style=False, width=100)
