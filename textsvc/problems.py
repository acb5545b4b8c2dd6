"""RFC 9457 problem responses: every error a client can cause, in one place, never a 500.

Litestar's validation errors, HTTP errors (404, 405, 413, …) and textsvc's own errors all become
``application/problem+json`` with a constant ``title`` per ``type`` and the specifics in ``detail``.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec

from textsvc.errors import NotFound, TextsvcError, UnsupportedLanguage
from textsvc.schemas import Problem, ProblemError

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("textsvc")

_STATUS_OF: dict[type[TextsvcError], int] = {UnsupportedLanguage: 422, NotFound: 404}
_TITLES = {
    "validation-error": "The request is not valid.",
    "unsupported-language": "The language is not supported.",
    "not-found": "Not found.",
    "internal-error": "Internal error.",
}
_PATH = re.compile(r"at `\$\.?([^`]*)`")


def problem_type(code: str) -> str:
    return f"urn:textsvc:problem:{code}"


def _response(status: int, code: str, detail: str, errors: list[ProblemError] | None = None,
              headers: dict[str, str] | None = None) -> Response[Problem]:
    title = _TITLES.get(code) or HTTPStatus(status).phrase
    body = Problem(type=problem_type(code), title=title, status=status, detail=detail, errors=errors)
    return Response(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def on_validation_error(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Problem]:
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        message = str(item.get("message", ""))
        key = item.get("key") or ""
        match = _PATH.search(message)
        path = match.group(1) if match else key
        pointer = "#/" + path.replace(".", "/").replace("[", "/").replace("]", "") if path else "#"
        errors.append(ProblemError(pointer=pointer, detail=_PATH.sub("", message).rstrip(" -")))
    detail = errors[0].detail if errors else str(exc.detail)
    return _response(400, "validation-error", detail, errors or None)


def on_http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    status = exc.status_code
    code = HTTPStatus(status).phrase.lower().replace(" ", "-")
    headers = dict(exc.headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", 'ApiKey header="X-API-Key"')
    return _response(status, code, str(exc.detail), headers=headers or None)


def on_textsvc_error(_: Request[Any, Any, Any], exc: TextsvcError) -> Response[Problem]:
    return _response(_STATUS_OF.get(type(exc), 400), exc.code, str(exc))


def on_internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    """Last resort: log the exception type (never the request body) and answer a bare 500."""
    log.error("internal error on %s %s: %s", request.method, request.url.path, type(exc).__name__, exc_info=exc)
    return _response(500, "internal-error", "The server failed to process the request.")


EXCEPTION_HANDLERS = {
    ValidationException: on_validation_error,
    HTTPException: on_http_error,
    TextsvcError: on_textsvc_error,
    Exception: on_internal_error,
}


def responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI declarations of the problem responses a route can give (Litestar documents
    ``application/json`` with another shape by default: litestar#4523)."""
    return {
        status: ResponseSpec(data_container=Problem, media_type=MEDIA_TYPE, generate_examples=False,
                             description=HTTPStatus(status).phrase)
        for status in statuses
    }
