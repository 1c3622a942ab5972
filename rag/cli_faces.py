"""The `rag` commands of the other faces: watch, app, serve, chat, mcp and eval (rag/cli.py adds them to
the group). Only click is imported at start; each command imports what it needs when it runs."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from rag.cli_common import emit as _emit
from rag.cli_common import index_option
from rag.cli_common import open_index as _open
from rag.serve.command import serve_command


@click.command(name="watch")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@index_option
@click.option("--quiet", default=1.0, type=click.FloatRange(0.1), show_default=True,
              help="Seconds without a change before the changes so far are ingested, as one batch.")
@click.option("--include-dms", is_flag=True, help="Read Twitter/X archives with their direct messages.")
@click.option("--embedder", default=None, help="Embedding model for a new index (as for rag ingest).")
def watch(folder: str, index_dir: str, quiet: float, include_dms: bool, embedder: str | None) -> None:
    """Keep the index in step with FOLDER: ingest it, then each batch of added, changed, renamed and deleted
    files as it happens, one line per change. Ctrl-C or SIGTERM stops it and leaves the index consistent."""
    from ingest.registry import default_registry
    from rag.watch.run import watch_folder

    sys.exit(watch_folder(_open(index_dir, embedder), Path(folder), click.echo, default_registry(include_dms), quiet))


@click.command(name="app")
@index_option
@click.option("--port", default=8501, show_default=True, type=click.IntRange(1, 65535), help="Port to serve on.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; the default keeps the app on this machine. Any other address needs a "
                   "password (--password-file or $RAG_APP_PASSWORD).")
@click.option("--password-file", default=None, type=click.Path(dir_okay=False),
              help="A file holding the password the app asks for first (also $RAG_APP_PASSWORD).")
def app(index_dir: str, port: int, host: str, password_file: str | None) -> None:
    """Open the chat app (Streamlit) on INDEX: upload files, chat with citations, see the sources."""
    from rag.launch import app_environment, app_password, streamlit_command, url
    from rag.store.postgres.url import is_url, local_folder, shown

    password = app_password(host, password_file)
    if is_url(index_dir):   # never a path; reached once here, so that a wrong URL or password fails at once
        from rag.store.postgres.schema import read_meta

        read_meta(index_dir)
        where = f"{shown(index_dir)}; conversations and uploads in {local_folder(index_dir)}"
    else:
        Path(index_dir).expanduser().mkdir(parents=True, exist_ok=True)
        where = str(Path(index_dir).resolve())
    command = streamlit_command(port, host)
    click.echo(f"rag app: {url(port, host)}  (index {where}; Ctrl+C stops it)")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(command[0], command, app_environment(index_dir, password))   # signals now go to Streamlit itself


def _is_loopback(host: str) -> bool:
    from rag.launch import is_loopback

    return is_loopback(host)


serve = serve_command(_open, index_option, _is_loopback)   # `rag serve`: rag/serve/command.py


@click.command(name="chat")
@index_option
@click.option("--conversation", "conversation", default=None, type=int,
              help="Continue this conversation (its number, as /list or the app's sidebar shows it).")
@click.option("--llm", "backend", default=None, help="embedded | openai | ollama | none (as for `rag ask`).")
@click.option("--base-url", default=None, help="Server URL for openai/ollama.")
@click.option("--model", default=None, help="embedded: qwen-0.5b (bundled, default) | qwen-1.5b | smollm2 | "
              "a .gguf path; openai/ollama: the model name on the server. Also $RAG_MODEL or rag.toml.")
@click.option("-k", "k", default=None, type=click.IntRange(1, 50), help="Passages to retrieve (default 5).")
def chat(index_dir: str, conversation: int | None, backend: str | None, base_url: str | None,
         model: str | None, k: int | None) -> None:
    """Chat in the terminal; conversations are shared with the app (on a database index: the app on this
    machine; they are kept in this machine's folder for the database). /help lists the commands."""
    from rag.chat.conversations import ConversationStore
    from rag.chat.session import HELP, ChatSession, run_chat

    idx = _open(index_dir, overrides={"backend": backend, "base_url": base_url, "model": model, "top_k": k})
    tty = sys.stdin.isatty()
    with ConversationStore.open(idx.folder) as store:   # a database's local folder (url.py local_folder)
        session = ChatSession(idx, store, idx.settings.llm, idx.settings.top_k, conversation,
                              stream=sys.stdout.isatty())

        def prompt() -> None:
            click.echo("you> ", nl=False)

        if tty:
            click.echo(HELP)
            prompt()
        run_chat(session, sys.stdin, prompt if tty else None)


@click.command(name="mcp")
@index_option
@click.option("--llm", "backend", default=None, help="embedded | openai | ollama | none (as for `rag ask`).")
@click.option("--base-url", default=None, help="Server URL for openai/ollama.")
@click.option("--model", default=None, help="The model, as for `rag ask` (embedded: qwen-0.5b, qwen-1.5b, smollm2).")
@click.option("-k", "top_k", default=None, type=click.IntRange(1, 50), help="Passages an answer uses (default 5).")
def mcp(index_dir: str, **llm: Any) -> None:
    """Serve INDEX to MCP clients over stdio: tools search, ask, remember and list_documents, answering with
    sources, locators and citations. Only the protocol goes to stdout; a missing index is made."""
    from rag.mcp.server import serve as serve_mcp

    serve_mcp(_open(index_dir, overrides=llm))


@click.command(name="eval")
@click.argument("dataset", type=click.Path(exists=True))
@index_option
@click.option("--split", default="test", show_default=True, help="BEIR: which qrels/<split>.tsv to score.")
@click.option("--llm", "backend", default=None, help="QA: embedded | openai | ollama | none (as for `rag ask`).")
@click.option("-k", "k", default=None, type=click.IntRange(1, 50), help="QA: passages for hit@k (default 5).")
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="Per-query results (JSON Lines; the summary goes beside it as .json). "
                   "Default: <index>/eval/<dataset>-<split>.jsonl (a database index: under this machine's "
                   "folder for it, as rag chat's conversations)")
@click.option("--json", "as_json", is_flag=True, help="Print only the summary as one JSON object.")
def evaluate(dataset: str, index_dir: str, split: str, backend: str | None, k: int | None, out: str | None,
             as_json: bool) -> None:
    """Measure retrieval on a BEIR folder (nDCG@10, Recall@100, MRR@10; its corpus is ingested into the
    index first) or answers on a QA .jsonl file (hit@k, correct answers, correct and wrong refusals)."""
    from rag.eval.run import evaluate as run_eval
    from rag.eval.run import table

    idx = _open(index_dir, overrides={"backend": backend, "top_k": k})
    run = run_eval(idx, Path(dataset), split, idx.settings.llm, idx.settings.top_k,
                   Path(out) if out else None, progress=not as_json)
    if as_json:
        _emit(run.summary)
        return
    click.echo(table(run))


COMMANDS = (watch, app, serve, chat, mcp, evaluate)
