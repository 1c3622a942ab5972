"""`ask` end to end through the OpenAI-compatible backend, against a fake server on 127.0.0.1 that
speaks the real HTTP protocol: the prompt sent, the citations parsed, unsupported sentences checked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest
from conftest import SAMPLES
from fake_openai import fake_chat_server

from rag import Index
from rag.answer.prompts import MODEL_MISSED, NOT_FOUND, SET_ASIDE, UNSUPPORTED_NOTE
from rag.answer.support import check_support
from rag.core.types import Chunk, Hit
from rag.llm.protocol import LLMSettings


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    with fake_chat_server() as srv:
        yield srv


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Index:
    idx = Index.open(tmp_path_factory.mktemp("idx") / "index")
    idx.ingest(SAMPLES)
    return idx


def llm(server: ThreadingHTTPServer) -> LLMSettings:
    return LLMSettings(backend="openai", model="fake-model", base_url=f"http://127.0.0.1:{server.server_port}/v1")


@pytest.mark.slow
def test_cited_answer_comes_back_with_page_citation(index: Index, server: ThreadingHTTPServer) -> None:
    server.reply = "Lumen was trained on the Harbor-7 corpus of 1.2 million field notes [1]."  # type: ignore[attr-defined]
    answer = index.ask("What corpus was Lumen trained on?", llm=llm(server))
    said, evidence = answer.text.split("\n")   # the model's sentence, then the reader's quoted unit
    assert said == server.reply and evidence.startswith("“") and evidence.endswith("” [1]")  # type: ignore[attr-defined]
    assert "Harbor-7" in evidence
    assert {(c.source, c.locator["page"], c.number) for c in answer.citations} == {("paper.pdf", 2, 1)}
    assert "Harbor-7" in answer.citations[0].quote
    sent = server.requests[0]["messages"]  # type: ignore[attr-defined]
    question = "Question: What corpus was Lumen trained on?\n"
    assert sent[1]["content"].endswith(question + "Answer in one sentence, citing [n]:")
    assert "[1] paper.pdf (p. 2 (printed 102))" in sent[1]["content"]
    assert json.loads(answer.prompt) == [{"role": m["role"], "content": m["content"]} for m in sent]


@pytest.mark.slow
def test_unsupported_answer_is_replaced_by_quotes(index: Index, server: ThreadingHTTPServer) -> None:
    server.reply = "Lumen was trained on Wikipedia dumps from 2019 using eight GPUs [1]."  # type: ignore[attr-defined]
    answer = index.ask("What corpus was Lumen trained on?", llm=llm(server))
    assert UNSUPPORTED_NOTE in answer.text and "Harbor-7" in answer.text
    assert answer.dropped and answer.raw == server.reply  # type: ignore[attr-defined]


@pytest.mark.slow
def test_model_saying_not_found_is_passed_on(index: Index, server: ThreadingHTTPServer) -> None:
    server.reply = NOT_FOUND  # type: ignore[attr-defined]
    answer = index.ask("What learning rate was Lumen trained with?", llm=llm(server))
    assert not answer.found and answer.text == NOT_FOUND and answer.citations == ()


def citing(source: str, sentence: str) -> object:
    """A reply that cites `source` by the number the prompt gives it."""
    def reply(body: dict) -> str:
        user = body["messages"][-1]["content"]
        number = next(line.split("]")[0][1:] for line in user.splitlines() if line.startswith("[") and source in line)
        return sentence.replace("[n]", f"[{number}]")
    return reply


ENGINE = "How much did the board approve for the new engine of the survey boat?"


@pytest.mark.slow
def test_a_model_answer_stating_the_quoted_value_stands(index: Index, server: ThreadingHTTPServer) -> None:
    server.reply = citing("meeting.txt", "The board approved 48,000 euros for a new engine [n].")  # type: ignore[attr-defined]
    answer = index.ask(ENGINE, llm=llm(server))
    assert answer.found and answer.model == "fake-model"
    assert answer.text.startswith("The board approved 48,000 euros") and answer.citations[0].source == "meeting.txt"


@pytest.mark.slow
def test_a_model_answer_with_another_value_is_set_aside_for_the_quote(index: Index,
                                                                      server: ThreadingHTTPServer) -> None:
    """The model's sentence is supported by its source, but its date is not the one near the question's
    words: the reader's unit, which holds it, is shown instead, and the model's words are kept in `raw`."""
    server.reply = citing("meeting.txt", "The team meeting was held on 14 March 2024 [n].")  # type: ignore[attr-defined]
    answer = index.ask("When will the annual review be held?", llm=llm(server))
    assert answer.found and "12 June 2024" in answer.text and SET_ASIDE in answer.text
    assert answer.model == "extractive (fake-model's answer set aside)" and "14 March" in answer.raw


@pytest.mark.slow
def test_a_model_that_misses_what_the_reader_finds_is_overruled(index: Index, server: ThreadingHTTPServer) -> None:
    server.reply = NOT_FOUND  # type: ignore[attr-defined]
    answer = index.ask(ENGINE, llm=llm(server))
    assert answer.found and answer.text.startswith("48,000") and MODEL_MISSED in answer.text
    assert answer.citations[0].source == "meeting.txt" and answer.raw == NOT_FOUND


@pytest.mark.slow
def test_when_the_reader_finds_no_answer_the_model_is_not_asked(index: Index, server: ThreadingHTTPServer) -> None:
    server.reply = "Lumen was trained with a learning rate of 0.001 [1]."  # type: ignore[attr-defined]
    answer = index.ask("What learning rate was Lumen trained with?", llm=llm(server))
    assert not answer.found and answer.text == NOT_FOUND and server.requests == []  # type: ignore[attr-defined]
    assert "not sent to the model: the extractive reader found no answer" in answer.prompt


@pytest.mark.slow
def test_irrelevant_question_never_reaches_the_model(index: Index, server: ThreadingHTTPServer) -> None:
    answer = index.ask("What is the capital of Australia?", llm=llm(server))
    assert answer.text == NOT_FOUND and server.requests == []  # type: ignore[attr-defined]


def source(text: str) -> Hit:
    return Hit(Chunk("c", "d", text, {"page": 1}, 0, len(text)), 1.0, "a.pdf")


def test_check_support_keeps_recites_and_drops() -> None:
    sources = [source("The boat engine cost 48,000 euros in 2024."),
               source("Hydrophones are recalibrated every 90 days.")]
    text = ("The hydrophones are recalibrated every 90 days [1]. The answer is [n]. "
            "The engine cost 48,000 euros [1]. The engine cost 48,000 euros.\nThe moon is made of cheese [2].")
    checked, dropped = check_support(text, sources, 0.6)
    assert checked == "The hydrophones are recalibrated every 90 days [2]. The engine cost 48,000 euros [1]."
    assert dropped == ("The moon is made of cheese.",)
