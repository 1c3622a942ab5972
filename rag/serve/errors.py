"""Every error `rag serve` answers with is OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`,
with a message that says what to fix: validation errors and broken JSON (400), unknown routes (404) and
methods (405), bodies over the limit (413), our RagErrors (400, or 503 when the index or the model is what
failed), and, for a bug, a 500 that names the exception (the traceback goes to the server's log only).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any

from rag.core.errors import ConfigError, IndexFormatError, IndexLockedError, LLMError, MissingDependency, RagError

if TYPE_CHECKING:
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

log = logging.getLogger("rag.serve")

MAX_BODY = 1_000_000
"""The largest JSON body, in bytes (a question, a conversation)."""

TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
         405: "invalid_request_error", 409: "conflict_error", 413: "invalid_request_error",
         415: "invalid_request_error", 422: "invalid_request_error", 503: "service_unavailable_error"}


class ApiError(Exception):
    """An error with its HTTP status, raised by the routes."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code


def error_body(status: int, message: str, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": TYPES.get(status, "server_error"), "param": param, "code": code}}


def error_response(status: int, message: str, param: str | None = None, code: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    from fastapi.responses import JSONResponse

    return JSONResponse(error_body(status, message, param, code), status_code=status, headers=headers)


def status_of(exc: RagError) -> int:
    """503 when the server cannot answer now (index damaged or busy, model or dependency missing); else 400."""
    if isinstance(exc, (IndexFormatError, IndexLockedError, LLMError, MissingDependency, ConfigError)):
        return 503
    return 400


def validation_message(errors: Sequence[Any], content_type: str = "") -> tuple[str, str | None]:
    """One message for pydantic's list of errors, and the first field it names."""
    parts, first = [], None
    if any(tuple(e.get("loc", ())) == ("body",) and e.get("type") != "missing" for e in errors):
        return (f"the body must be one JSON object, sent with Content-Type: application/json (this one came as "
                f"{content_type or 'no Content-Type'}) — see /openapi.json for its fields"), None
    for err in list(errors)[:5]:
        if err.get("type") == "json_invalid":
            at, ctx = err.get("loc", ("", "?"))[-1], (err.get("ctx") or {}).get("error", "")
            return (f"the body is not valid JSON ({ctx}, at character {at}) — send one JSON object with "
                    "Content-Type: application/json"), None
        loc = [str(x) for x in err.get("loc", ()) if x != "body"]
        where = ".".join(loc)
        first = first or where or None
        if err.get("type") == "missing" and not where:
            parts.append("the body is missing — send a JSON object")
        else:
            parts.append(f"{where or 'body'}: {err.get('msg', 'invalid')}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(parts) + more + " — see /openapi.json for the request's fields", first


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route serves at `path` (Starlette's own 405 names only the first route's)."""
    methods: set[str] = set()
    for route in app.routes:
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path):
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def install(app: FastAPI) -> None:
    """The exception handlers, for every error the app answers with."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.message, exc.param, exc.code)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        message, param = validation_message(exc.errors(), request.headers.get("content-type", ""))
        return error_response(400, message, param)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        where = f"{request.method} {request.url.path}"
        headers = getattr(exc, "headers", None)
        if exc.status_code == 404:
            paths = sorted({getattr(r, "path", "") for r in app.routes} - {""})
            message = f"no such route: {where} — this server answers {', '.join(paths)}"
        elif exc.status_code == 405:
            methods = allowed_methods(app, request.url.path)
            message = f"{where}: method not allowed — use {' or '.join(methods)} (see /openapi.json)"
            headers = {**(headers or {}), "Allow": ", ".join(methods)}
        elif exc.status_code == 413:
            message = str(exc.detail)
        else:
            message = f"{where}: {exc.detail}"
        return error_response(exc.status_code, message, headers=headers)

    async def on_rag_error(request: Request, exc: Exception) -> JSONResponse:
        status = status_of(exc)  # type: ignore[arg-type]
        return error_response(status, str(exc), headers={"Retry-After": "5"} if status == 503 else None)

    async def on_bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return error_response(500, f"internal error ({type(exc).__name__}) while serving {request.url.path} — "
                                   "the server's log has the details; please report it")

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(RagError, on_rag_error)
    app.add_exception_handler(Exception, on_bug)


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Scope]]
Send = Callable[[Scope], Awaitable[None]]


class BodyLimit:
    """ASGI middleware: a request body over `limit(path)` bytes gets 413 before the route reads it all."""

    def __init__(self, app: Any, limit: Callable[[str], int]) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope["path"])
        length = dict(scope.get("headers") or ()).get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await error_response(413, too_large(limit))(scope, receive, send)
            return
        seen = 0

        async def counted() -> Scope:
            """A body sent without Content-Length (chunked) is counted as it arrives."""
            from starlette.exceptions import HTTPException

            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise HTTPException(413, too_large(limit))   # FastAPI passes an HTTPException on as it is
            return message

        await self.app(scope, counted, send)


def too_large(limit: int) -> str:
    return (f"the request body is over the limit of {limit / 1e6:g} MB — send a shorter conversation or question "
            "(a file: split it, or ingest its folder with `rag ingest`)")
