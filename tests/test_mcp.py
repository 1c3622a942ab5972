"""`rag mcp`: driven by the MCP SDK's own stdio client (and once by hand, line by line, to see that stdout
carries nothing but the protocol), over the sample files (hashing embedder, `--llm none`)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client

RAG = str(Path(sys.executable).parent / "rag")
ENV = {"RAG_NO_NETWORK": "1", "OMP_WAIT_POLICY": "passive", "HF_HUB_OFFLINE": "1"}


@pytest.fixture
def index(built: Path, tmp_path: Path) -> Path:
    """A copy of the sample index (remember writes into it)."""
    return Path(shutil.copytree(built, tmp_path / "index"))


@asynccontextmanager
async def connect(command: str, args: list[str]) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(command=command, args=args, env=ENV)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


async def call(session: ClientSession, tool: str, **arguments: Any) -> tuple[str, dict[str, Any]]:
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.content[0].text, result.structured_content  # type: ignore[union-attr]


def test_tools_answer_with_sources_and_citations(index: Path) -> None:
    async def run() -> None:
        async with connect(RAG, ["mcp", "--index", str(index), "--llm", "none"]) as session:
            tools = {t.name: t for t in (await session.list_tools()).tools}
            assert set(tools) == {"search", "ask", "remember", "list_documents"}
            for name in ("search", "ask", "remember"):
                assert "citations" in tools[name].output_schema["properties"], name
            assert tools["search"].input_schema["required"] == ["query"]

            text, data = await call(session, "search", query="Harbor-7 corpus of field notes", k=3)
            assert len(data["hits"]) == 3
            assert "[1] paper.pdf, p. 2 (printed 102)" in text
            first = data["citations"][0]
            assert (first["source"], first["locator"]["page"], first["where"]) == ("paper.pdf", 2, "p. 2 (printed 102)")
            assert "Harbor-7" in first["quote"] and first["end"] - first["start"] == len(first["quote"])

            text, data = await call(session, "ask", question="Who is the data steward?")
            assert data["found"] and "Jonas Berg" in data["answer"] and "[1]" in data["answer"]
            cited = data["citations"][0]
            assert cited["source"] == "notes.md" and cited["locator"]["heading"].endswith("Contacts")
            assert "Jonas Berg" in cited["quote"]
            assert "[1] notes.md, § Brackwater Field Station Notes > Contacts" in text

            _, data = await call(session, "ask", question="What learning rate was Lumen trained with?")
            assert not data["found"] and data["citations"] == []

            _, data = await call(session, "list_documents")
            assert sorted(d["source"] for d in data["documents"]) == ["guide.html", "meeting.txt", "notes.md",
                                                                      "paper.pdf"]
    anyio.run(run)


def test_remember_then_search_and_ask_cite_the_note(index: Path) -> None:
    note = "The Kestrel rover launches from the Brackwater pier on 4 May 2027."

    async def run() -> None:
        async with connect(RAG, ["mcp", "--index", str(index), "--llm", "none"]) as session:
            text, data = await call(session, "remember", text=note)
            source = data["source"]
            assert source.startswith("note-") and source.endswith(".md") and "Remembered as" in text
            assert data["citations"][0]["quote"] == note
            assert data["citations"][0]["where"].startswith("§ Note of ")
            assert (index / "memory" / source).read_text(encoding="utf-8").endswith(note + "\n")

            _, data = await call(session, "search", query="When does the Kestrel rover launch?", k=3)
            assert data["hits"][0]["source"] == source

            _, data = await call(session, "ask", question="When does the Kestrel rover launch?")
            assert data["found"] and "4 May 2027" in data["answer"]
            assert data["citations"][0]["source"] == source

            long_note = " ".join(f"Crate {n} of the field kit holds {n * 3} sample jars." for n in range(1, 120))
            _, data = await call(session, "remember", text=long_note)   # more than one passage
            quote = data["citations"][0]
            assert quote["quote"] in (index / "memory" / data["source"]).read_text(encoding="utf-8")
            assert quote["end"] - quote["start"] == len(quote["quote"]) < len(long_note)

            _, data = await call(session, "list_documents")
            assert source in {d["source"] for d in data["documents"]} and data["count"] == 6
    anyio.run(run)


BAD_CALLS = [
    ("search", {"query": "   "}, "the question is empty"),
    ("search", {"query": "corpus", "k": 0}, "greater than or equal to 1"),
    ("search", {"query": "corpus", "k": "many"}, "valid integer"),
    ("search", {}, "query"),
    ("ask", {"question": ""}, "empty"),
    ("remember", {"text": "  \n "}, "the note is empty"),
    ("remember", {"text": "x" * 100_001}, "over the limit"),
    ("no_such_tool", {}, "no_such_tool"),
]


def test_bad_input_is_a_tool_error_and_the_server_carries_on(index: Path) -> None:
    async def run() -> None:
        async with connect(RAG, ["mcp", "--index", str(index), "--llm", "none"]) as session:
            for tool, arguments, message in BAD_CALLS:
                result = await session.call_tool(tool, arguments)
                assert result.is_error, (tool, arguments)
                assert message in result.content[0].text, (tool, result.content)  # type: ignore[union-attr]
            _, data = await call(session, "search", query="hydrophones recalibrated", k=1)
            assert data["hits"][0]["source"] == "notes.md"
    anyio.run(run)


def test_stdout_carries_only_the_protocol(index: Path) -> None:
    """By hand: every line the server writes to stdout is a JSON-RPC message, remember's ingest included."""
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "by-hand", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "remember",
                                                                       "arguments": {"text": "Ferry at noon."}}},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "search",
                                                                       "arguments": {"query": "ferry noon"}}},
    ]
    proc = subprocess.Popen([RAG, "mcp", "--index", str(index), "--llm", "none"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**ENV, "PATH": "/usr/bin:/bin"})
    assert proc.stdin is not None and proc.stdout is not None
    replies = []
    try:
        for message in messages:
            proc.stdin.write(json.dumps(message) + "\n")
            proc.stdin.flush()
            if "id" in message:   # the reply comes before the next request is sent; any stray print fails here
                replies.append(json.loads(proc.stdout.readline()))
        proc.stdin.close()
        rest = proc.stdout.read()
        assert proc.wait(timeout=30) == 0, proc.stderr.read()  # type: ignore[union-attr]
    finally:
        proc.kill()
    assert rest == ""
    assert all(r["jsonrpc"] == "2.0" for r in replies)
    by_id = {r["id"]: r["result"] for r in replies if "id" in r}
    assert by_id[1]["serverInfo"]["name"] == "rag"
    assert not by_id[2].get("isError") and by_id[3]["structuredContent"]["hits"][0]["source"].startswith("note-")


def test_a_missing_index_is_made_and_remember_fills_it(tmp_path: Path) -> None:
    async def run() -> None:
        async with connect(RAG, ["mcp", "--index", str(tmp_path / "new"), "--llm", "none"]) as session:
            text, data = await call(session, "list_documents")
            assert data == {"documents": [], "count": 0} and "no documents yet" in text
            _, data = await call(session, "remember", text="The spare key is under the blue pot.")
            _, found = await call(session, "search", query="where is the spare key", k=1)
            assert found["citations"][0]["source"] == data["source"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(ENV, "RAG_EMBEDDER", "hashing-256")   # no model load in this test
        anyio.run(run)


def test_an_index_path_that_is_a_file_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    proc = subprocess.run([RAG, "mcp", "--index", str(tmp_path / "file")], input="", capture_output=True,
                          text=True, timeout=60, env={**ENV, "PATH": "/usr/bin:/bin"})
    assert proc.returncode != 0 and proc.stdout == ""
    assert "is a file" in proc.stderr and "Traceback" not in proc.stderr


def test_ask_goes_through_the_model_given_by_llm_and_base_url(index: Path) -> None:
    """`--llm openai --base-url …` reaches the answer path: a fake OpenAI-compatible server on 127.0.0.1 answers,
    the support check keeps the cited sentence, and the citation comes back structured."""
    from fake_openai import fake_chat_server

    reply = "Questions about data access go to the data steward, Jonas Berg [1]."
    with fake_chat_server(reply) as server:
        url = f"http://127.0.0.1:{server.server_port}/v1"

        async def run() -> None:
            args = ["mcp", "--index", str(index), "--llm", "openai", "--base-url", url, "--model", "fake-model"]
            async with connect(RAG, args) as session:
                _, data = await call(session, "ask", question="Who is the data steward?")
                assert data["found"] and data["answer"].startswith(reply) and data["model"] == "fake-model"
                assert data["citations"][0]["source"] == "notes.md" and "Jonas Berg" in data["citations"][0]["quote"]
        with pytest.MonkeyPatch.context() as patch:
            patch.setitem(ENV, "OPENAI_API_KEY", "test-key")
            anyio.run(run)
        assert server.requests[0]["model"] == "fake-model"  # type: ignore[attr-defined]
