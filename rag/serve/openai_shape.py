"""OpenAI's chat completion shapes around one of our answers.

The conversation in: the last message is the question; each earlier assistant message, with the user
message before it, is one earlier turn (an `Exchange`, what the follow-up rewrite reads).
The answer out: `chat.completion` whose message keeps the answer's [n] markers and carries `citations`;
streamed, `chat.completion.chunk`s: the role first, then the text in pieces, then a last chunk (before
`[DONE]`) with `finish_reason` and the citations in `choices[0].delta.citations` and at its top level.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from rag.chat.rewrite import Exchange
from rag.serve.errors import ApiError
from rag.serve.schemas import MAX_QUESTION, ChatMessage

if TYPE_CHECKING:
    from rag.core.types import Answer


def text_of(message: ChatMessage) -> str:
    """The message's text: a string, or the "text" parts of a list of parts joined (images are ignored)."""
    if message.content is None:
        return ""
    if isinstance(message.content, str):
        return message.content
    return "\n".join(part.text for part in message.content if part.type == "text" and part.text)


def conversation(messages: Sequence[ChatMessage]) -> tuple[str, list[Exchange]]:
    """(the question, the earlier turns oldest first). System and tool messages are not turns."""
    last = messages[-1]
    if last.role != "user":
        raise ApiError(400, f"the last message is a {last.role!r} message — end `messages` with the user's "
                            "question ({\"role\": \"user\", \"content\": \"…\"})", param="messages")
    question = text_of(last).strip()
    if not question:
        raise ApiError(400, "the question (the last user message) is empty — put the question in its content",
                       param="messages")
    if len(question) > MAX_QUESTION:
        raise ApiError(400, f"the question is {len(question):,} characters, over the limit of {MAX_QUESTION:,} — "
                            "ask a shorter question", param="messages")
    history: list[Exchange] = []
    asked = ""
    for message in messages[:-1]:
        if message.role == "user":
            asked = text_of(message).strip()
        elif message.role == "assistant" and asked:
            history.append((asked, text_of(message)))
            asked = ""
    return question, history


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def citations(answer: Answer) -> list[dict[str, Any]]:
    return [c.to_json() for c in answer.citations]


def completion(answer: Answer, model: str, searched: str) -> dict[str, Any]:
    """The non-streamed response."""
    return {"id": completion_id(), "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": answer.text, "citations": citations(answer),
                                     "refusal": None}}],
            "usage": usage(), "searched": searched, "system_fingerprint": None}


def usage() -> dict[str, int]:
    """Tokens are not counted (the answer may come from the extractive path, which has none): zeros."""
    return {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


def pieces(text: str) -> list[str]:
    """The text in word-sized pieces (whitespace kept, so that joined they are the text again)."""
    return re.findall(r"\s*\S+\s*", text) or ([text] if text else [])


def chunks(answer: Answer, model: str, searched: str, include_usage: bool = False) -> Iterator[dict[str, Any]]:
    """The streamed response, chunk by chunk; joined, the deltas' content is exactly `answer.text`."""
    base = {"id": completion_id(), "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
            "system_fingerprint": None}

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
                **extra}

    yield chunk({"role": "assistant", "content": ""})
    for piece in pieces(answer.text):
        yield chunk({"content": piece})
    cited = citations(answer)
    yield chunk({"citations": cited}, "stop", citations=cited, searched=searched)
    if include_usage:
        yield {**base, "choices": [], "usage": usage(), "citations": cited}


def sse(events: Iterator[dict[str, Any]]) -> Iterator[str]:
    """Server-sent events: `data: {json}` per chunk, then `data: [DONE]`."""
    for event in events:
        yield f"data: {json.dumps(event, ensure_ascii=False)}\n\n"
    yield "data: [DONE]\n\n"
