"""`rag serve`: the index over HTTP — an OpenAI-compatible chat endpoint whose answers keep their [n] markers
and carry `citations`, plus search, ask and the document list in the CLI's JSON shapes (FastAPI + uvicorn).

The routes are plain functions, so FastAPI runs them in its thread pool; what they do is in service.py.
The OpenAPI document is at /openapi.json (no /docs page: it would load its scripts from a CDN).
"""

# No `from __future__ import annotations` here: FastAPI reads the routes' annotations, which name classes
# imported inside `_routes` (fastapi is imported only when the server starts).
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from rag.serve import openai_shape, schemas
from rag.serve.errors import MAX_BODY, ApiError, BodyLimit, install
from rag.serve.service import Service, document_json

if TYPE_CHECKING:
    from fastapi import FastAPI
    from fastapi.responses import StreamingResponse

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": schemas.ErrorBody, "description": why} for status, why in (
        (400, "bad input: the message says which field and how to fix it"),
        (401, "no or wrong API key (when the server has one)"),
        (404, "no such route, model or document"),
        (409, "several documents have that name: pass ?root=FOLDER"),
        (413, "the body is over the limit"),
        (415, "a file type that cannot be ingested"),
        (422, "the file could not be read"),
        (500, "a bug (the server's log has the traceback)"),
        (503, "the index or the model cannot answer now (damaged, locked, model missing)"))}

UPLOAD_SLACK = 1_000_000
"""Bytes allowed on top of the largest file in an upload's body (the multipart framing)."""


def body_limit(path: str) -> int:
    from rag.uploads.files import MAX_UPLOAD_MB

    return MAX_UPLOAD_MB * 1_000_000 + UPLOAD_SLACK if path.rstrip("/") == "/v1/documents" else MAX_BODY


def create_app(service: Service, key: str | None = None) -> "FastAPI":
    from fastapi import FastAPI

    app = FastAPI(title="rag serve", version=_version(), docs_url=None, redoc_url=None, responses=ERRORS,
                  description="A local document memory over HTTP: answers with citations, OpenAI-compatible.")
    install(app)
    _routes(app, service)
    app.add_middleware(BodyLimit, limit=body_limit)
    if key is not None:
        from rag.serve.auth import BearerAuth

        app.add_middleware(BearerAuth, key=key)   # added last, so it runs first
        _document_the_key(app)
    return app


def _document_the_key(app: "FastAPI") -> None:
    """/openapi.json says that every operation but GET /health needs `Authorization: Bearer KEY`."""
    make = app.openapi

    def openapi() -> dict[str, Any]:
        schema = app.openapi_schema
        if schema is None:
            schema = make()
            schema.setdefault("components", {}).setdefault("securitySchemes", {})["apiKey"] = {
                "type": "http", "scheme": "bearer", "description": "$RAG_API_KEY or --api-key-file on the server"}
            schema["security"] = [{"apiKey": []}]
            schema["paths"]["/health"]["get"]["security"] = []
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _routes(app: "FastAPI", service: Service) -> None:
    from fastapi import File, Query, UploadFile

    @app.get("/health", response_model=schemas.Health, tags=["meta"])
    def health() -> dict[str, Any]:
        """Whether the server is up and its index readable (needs no API key)."""
        return {"status": "ok", "index": service.name, "documents": len(service.documents())}

    @app.get("/v1/models", response_model=schemas.ModelList, tags=["openai"])
    def models() -> dict[str, Any]:
        """One model: the index, by its folder's name."""
        return {"object": "list", "data": [_model(service)]}

    @app.get("/v1/models/{model}", response_model=schemas.ModelOut, tags=["openai"])
    def model(model: str) -> dict[str, Any]:
        if model != service.name:
            raise ApiError(404, f"no model {model!r} — this server's one model is {service.name!r} (its index)",
                           param="model", code="model_not_found")
        return _model(service)

    @app.post("/v1/chat/completions", response_model=schemas.ChatCompletion, tags=["openai"],
              responses={200: {"content": {"text/event-stream": {}},
                               "description": "a chat.completion, or with stream: true server-sent chunks"}})
    def chat_completions(request: schemas.ChatRequest) -> Any:
        """Answer the last user message from the index; earlier turns make a follow-up stand-alone."""
        question, history = openai_shape.conversation(request.messages)
        answer, searched = service.ask(question, history=history)
        if not request.stream:
            return openai_shape.completion(answer, service.name, searched)
        include_usage = bool(request.stream_options and request.stream_options.include_usage)
        return _stream(openai_shape.chunks(answer, service.name, searched, include_usage))

    @app.post("/v1/search", response_model=schemas.SearchResponse, tags=["rag"])
    def search(request: schemas.SearchRequest) -> dict[str, Any]:
        """The passages that best match `query` — `rag search --json`."""
        return {"hits": [h.to_json() for h in service.search(request.query, request.k)]}

    @app.post("/v1/ask", response_model=schemas.AskResponse, response_model_exclude_unset=True, tags=["rag"])
    def ask(request: schemas.AskRequest) -> dict[str, Any]:
        """An answer with citations — `rag ask --json` (with `show_prompt`, the exact prompt too)."""
        answer, _ = service.ask(request.question, request.k)
        data = answer.to_json()
        if request.show_prompt:
            data["prompt"] = answer.prompt
        return data

    @app.get("/v1/documents", response_model=schemas.DocumentsResponse, tags=["rag"])
    def documents() -> dict[str, Any]:
        """The indexed documents — `rag ls --json`."""
        return {"index": service.where, "documents": [document_json(d) for d in service.documents()]}

    @app.post("/v1/documents", response_model=schemas.UploadResponse, status_code=201, tags=["rag"])
    def upload(file: Annotated[UploadFile, File(description="one file of a type `rag ingest` reads")]) -> Any:
        """Add one file, as the app's upload does: checked (type, size), saved under <index>/uploads/,
        ingested in the isolated loader worker."""
        data = file.file.read()
        status, record = service.upload(file.filename or "upload", data)
        return {"name": status.name, "saved_as": status.saved_as, "status": status.status, "chunks": status.chunks,
                "ocr_pages": status.ocr_pages, "document": document_json(record) if record else None}

    @app.delete("/v1/documents/{source:path}", response_model=schemas.RemoveResponse, tags=["rag"])
    def remove(source: str, root: Annotated[str | None, Query(description="the ingested folder, when several "
                                                                      "hold a document of that name")] = None
               ) -> dict[str, Any]:
        """Remove a document by its source as GET /v1/documents lists it (an uploaded copy is deleted too)."""
        return {"removed": service.remove(source, root), "source": source}


def _model(service: Service) -> dict[str, Any]:
    return {"id": service.name, "object": "model", "created": 0, "owned_by": "rag"}


def _stream(events: Any) -> "StreamingResponse":
    from fastapi.responses import StreamingResponse

    return StreamingResponse(openai_shape.sse(events), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rag-memory")
    except PackageNotFoundError:
        return "0"


def serve(service: Service, host: str, port: int, key: str | None, ready: Callable[[], None] | None = None) -> None:
    """Run the server until Ctrl+C or SIGTERM (uvicorn handles both and finishes the requests in flight);
    `ready` is called once the port is bound."""
    import uvicorn

    config = uvicorn.Config(create_app(service, key), host=host, port=port, log_level="warning",
                            access_log=False, server_header=False)
    try:
        sock = listen(host, port)
        if ready is not None:
            ready()
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        service.close()


def listen(host: str, port: int) -> socket.socket:
    """The bound socket, or a ConfigError that says why not (a port in use, an address not on this machine)."""
    from rag.core.errors import ConfigError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host} port {port} ({exc.strerror or exc}) — pass another --port, "
                          "or stop what uses it") from exc
    sock.set_inheritable(True)
    return sock
