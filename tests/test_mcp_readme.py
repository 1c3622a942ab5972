"""The README's MCP client config: it parses as a Claude Desktop-style `mcpServers` block, and its command and
args, pointed at a real index, start a server that the SDK's stdio client can use."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import anyio
from conftest import ROOT
from mcp import ClientSession, StdioServerParameters, stdio_client


def config_block() -> dict:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("\n## From MCP clients")
    blocks = re.findall(r"```json\n(.*?)```", text[start:text.find("\n## ", start + 1)], re.S)
    assert len(blocks) == 1
    return json.loads(blocks[0])


def test_the_readme_config_starts_the_server(built: Path, tmp_path: Path) -> None:
    server = config_block()["mcpServers"]["rag"]
    assert server["command"] == "rag" and server["args"][:2] == ["mcp", "--index"]
    index = shutil.copytree(built, tmp_path / "my-index")
    args = [str(index) if a == server["args"][2] else a for a in server["args"]]
    params = StdioServerParameters(command=str(Path(sys.executable).parent / server["command"]), args=args,
                                   env={"RAG_NO_NETWORK": "1"})

    async def run() -> None:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            info = await session.initialize()
            assert info.server_info.name == "rag"
            assert {t.name for t in (await session.list_tools()).tools} == {"search", "ask", "remember",
                                                                           "list_documents"}
            result = await session.call_tool("search", {"query": "When is the annual review?", "k": 1})
            assert result.structured_content["citations"][0]["source"] == "meeting.txt"  # type: ignore[index]
    anyio.run(run)
