"""The request and response bodies of `rag serve`, as pydantic models (they make /openapi.json).

The chat request takes every field of OpenAI's chat completions request, and any other field too
(`extra="allow"`), so that existing clients work unchanged; the fields that do not apply to an answer
from the index (temperature, top_p, n, stop, tools, …) are accepted and ignored. Responses allow extra
fields as well: they are contracts to which fields are added, never renamed or dropped. Request fields
are strict: `"stream": 0` or `"k": "5"` is an error that names the field, not a guess.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt

MAX_QUESTION = 20_000
"""The longest question or search query, in characters."""

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ContentPart(Open):
    type: str = Field(description='"text" parts are read; others (images, audio) are ignored')
    text: str | None = None


class ChatMessage(Open):
    role: Role
    content: str | list[ContentPart] | None = None
    name: str | None = None


class StreamOptions(Open):
    include_usage: StrictBool | None = None


class ChatRequest(Open):
    """OpenAI's chat completions request. The last message is the question (a `user` message); earlier
    user and assistant turns are the conversation, used to make a follow-up stand-alone."""

    model: str | None = Field(None, description="the index name (GET /v1/models); any value is answered from "
                                                "this server's index")
    messages: list[ChatMessage] = Field(min_length=1, max_length=1000)
    stream: StrictBool | None = False
    stream_options: StreamOptions | None = None
    temperature: StrictFloat | None = None
    top_p: StrictFloat | None = None
    n: StrictInt | None = Field(None, description="only 1 answer is made; any value is accepted")
    max_tokens: StrictInt | None = None
    max_completion_tokens: StrictInt | None = None
    stop: str | list[str] | None = None
    presence_penalty: StrictFloat | None = None
    frequency_penalty: StrictFloat | None = None
    logit_bias: dict[str, StrictFloat] | None = None
    logprobs: StrictBool | None = None
    top_logprobs: StrictInt | None = None
    seed: StrictInt | None = None
    user: str | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: StrictBool | None = None
    response_format: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    store: StrictBool | None = None
    service_tier: str | None = None
    reasoning_effort: str | None = None
    modalities: list[str] | None = None


class CitationOut(Open):
    number: int
    source: str
    locator: dict[str, Any]
    quote: str
    start: int
    end: int


class AssistantMessage(Open):
    role: Literal["assistant"] = "assistant"
    content: str
    citations: list[CitationOut] = Field(description="the passages the [n] markers in `content` refer to")


class Choice(Open):
    index: int
    message: AssistantMessage
    finish_reason: str
    logprobs: None = None


class Usage(Open):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(Open):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage


class SearchRequest(Open):
    query: str = Field(min_length=1, max_length=MAX_QUESTION)
    k: StrictInt = Field(5, ge=1, le=1000)


class HitOut(Open):
    source: str
    locator: dict[str, Any]
    text: str
    score: float
    suspect: bool


class SearchResponse(Open):
    """`rag search --json`."""

    hits: list[HitOut]


class AskRequest(Open):
    question: str = Field(min_length=1, max_length=MAX_QUESTION)
    k: StrictInt | None = Field(None, ge=1, le=50)
    show_prompt: StrictBool = False


class AskResponse(Open):
    """`rag ask --json`."""

    answer: str
    citations: list[CitationOut]
    suspect_sources: list[dict[str, Any]]
    model: str
    steps: list[dict[str, Any]]
    prompt: str | None = None


class DocumentOut(Open):
    source: str
    root: str
    kind: str
    title: str
    chunks: int
    status: str
    error: str | None
    content_hash: str


class DocumentsResponse(Open):
    """`rag ls --json`."""

    index: str
    documents: list[DocumentOut]


class UploadResponse(Open):
    name: str = Field(description="the file name as uploaded")
    saved_as: str = Field(description="its name under <index>/uploads/")
    status: str = Field(description="added | updated | unchanged")
    chunks: int
    ocr_pages: int
    document: DocumentOut | None


class RemoveResponse(Open):
    removed: int
    source: str


class ModelOut(Open):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(Open):
    object: Literal["list"] = "list"
    data: list[ModelOut]


class Health(Open):
    status: Literal["ok"] = "ok"
    index: str
    documents: int


class ErrorDetail(Open):
    message: str = Field(description="what is wrong and how to fix it")
    type: str
    param: str | None = None
    code: str | None = None


class ErrorBody(Open):
    error: ErrorDetail
