"""The Litestar application: routes, lifespan (build the Analyzer once), errors, OpenAPI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgspec
import yaml
from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.static_files import create_static_files_router
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin, YamlRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from textsvc import __version__
from textsvc.api import STATIC_DIR, AnalysisController, OperationsController, TemplateController
from textsvc.engine import Analyzer
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
        try:
            yield
        finally:
            store.close()

    return Litestar(
        route_handlers=[
            AnalysisController,
            TemplateController,
            OperationsController,
            create_static_files_router(path="/static", directories=[STATIC_DIR]),
        ],
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="textsvc",
            version=__version__,
            description=DESCRIPTION,
            path="/schema",
            render_plugins=[JsonRenderPlugin(), YamlRenderPlugin(), SwaggerRenderPlugin()],
            components=Components(
                security_schemes={"apiKey": SecurityScheme(type="apiKey", name="X-API-Key", security_scheme_in="header")}
            ),
        ),
        debug=False,
    )


def openapi_yaml(app: Litestar) -> str:
    """The app's OpenAPI document as YAML with sorted keys (the committed ``openapi.yaml``)."""
    schema = msgspec.to_builtins(app.openapi_schema.to_schema())
    return yaml.safe_dump(schema, sort_keys=True, allow_unicode=True, default_flow_style=False, width=100)
