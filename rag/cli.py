"""The `rag` command. Only click is imported at start, so `rag --help` is instant."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from rag.messages import RagGroup

INDEX_HELP = "Index folder (rag ingest creates it) or postgresql://USER@HOST/DB. Default: $RAG_INDEX or ./rag-index."


def _default_index() -> str:
    from rag.config import index_location

    location, notes = index_location()   # $RAG_INDEX, rag.toml's `index`, else ./rag-index
    for note in notes:
        click.echo(click.style("warning: ", fg="yellow") + note, err=True)
    return location


def index_option(f: Any) -> Any:
    return click.option("--index", "index_dir", default=_default_index, show_default=False,
                        type=click.Path(file_okay=False), help=INDEX_HELP)(f)


def _open(index_dir: str, embedder: str | None = None, overrides: dict[str, Any] | None = None,
          create: bool = True, read_only: bool | None = None) -> Any:
    """The index at `index_dir`; read-only commands pass create=False, so that they never make one."""
    from rag.config import load_settings
    from rag.index import Index
    from rag.store.postgres.url import is_url, shown

    click.get_current_context().meta["rag.index"] = shown(index_dir)   # for error messages (rag/messages.py)
    folder = None if is_url(index_dir) else Path(index_dir)   # a URL is never a path (nor has a rag.toml)
    settings = load_settings(folder, {k: v for k, v in (overrides or {}).items() if v is not None})
    for note in settings.ignored:
        click.echo(click.style("warning: ", fg="yellow") + note, err=True)
    return Index.open(index_dir, embedder=embedder, settings=settings, create=create, read_only=read_only)


def _emit(data: dict[str, Any]) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=None))


@click.group(cls=RagGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rag-memory", prog_name="rag")
def main() -> None:
    """A local document memory: ingest a folder, then ask questions and get answers with citations.

    \b
      rag ingest ./papers --index ./my-index
      rag ask "What corpus did they train on?" --index ./my-index
      rag search "training corpus" --index ./my-index -k 5
    """
    from rag.core.offline import guard_from_environment

    guard_from_environment()   # RAG_NO_NETWORK=1: no connection leaves this machine


@main.command()
@click.argument("folder", type=click.Path(exists=False))
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option("--dry-run", is_flag=True, help="Print the plan (what would be added, changed, removed) "
              "and change nothing.")
@click.option("--embedder", default=None, help="Embedding model for a new index: all-MiniLM-L6-v2 "
              "(bundled, default) or a sentence-transformers model folder.")
@click.option("--wait", "lock_wait", default=0.0, type=float, show_default=True,
              help="Seconds to wait when another process is writing the index.")
@click.option("--retry-failed", is_flag=True, help="Try again files that failed before and have not "
              "changed since (they are otherwise reported, not re-read).")
@click.option("--loader-timeout", type=click.FloatRange(1), default=None, help="Seconds allowed to read "
              "one file. Default: 120 s plus 10 s per MB (a long recording gets longer), at most one hour.")
@click.option("--loader-memory", type=click.IntRange(64), default=4096, show_default=True,
              help="MiB of memory allowed to read one file.")
@click.option("--include-dms", is_flag=True, help="Read Twitter/X archives with their direct messages.")
@click.option("--ray", "ray", default=None, metavar="local|auto|ray://HOST:PORT",
              help="Load and embed on Ray (a new local instance, the running cluster, or this one).")
def ingest(folder: str, index_dir: str, as_json: bool, dry_run: bool, embedder: str | None, lock_wait: float,
           retry_failed: bool, loader_timeout: float | None, loader_memory: int, include_dms: bool = False,
           ray: str | None = None) -> None:
    """Add FOLDER (or one file) to the index; only new and changed files are processed.

    Files deleted from FOLDER leave the index; renamed files are not re-embedded. Safe to interrupt:
    every file is committed on its own, and running again finishes the job. Each file is read in a
    separate worker process with a time and a memory limit: a broken or hostile file is reported
    with the reason, and every other file still goes in.
    """
    from ingest.isolation import LoaderLimits
    from ingest.registry import default_registry

    idx = _open(index_dir, embedder)
    limits = LoaderLimits(fixed_seconds=loader_timeout, memory_mb=loader_memory)
    summary = idx.ingest(folder, dry_run=dry_run, progress=not as_json, lock_wait=lock_wait,
                         retry_failed=retry_failed, limits=limits, registry=default_registry(include_dms), ray=ray)
    if as_json:
        _emit(summary.to_json())
        return
    from rag.render import print_summary

    print_summary(summary)


@main.command()
@click.argument("question")
@index_option
@click.option("-k", "k", default=5, show_default=True, type=click.IntRange(1, 1000), help="Number of hits.")
@click.option("--json", "as_json", is_flag=True, help='Print {"hits": [...]} as JSON.')
def search(question: str, index_dir: str, k: int, as_json: bool) -> None:
    """Find the passages that best match QUESTION (dense + BM25, fused)."""
    hits = _open(index_dir, create=False).search(question, k)
    if as_json:
        _emit({"hits": [h.to_json() for h in hits]})
        return
    from rag.render import print_hits

    print_hits(hits)


@main.command()
@click.argument("question")
@index_option
@click.option("--llm", "backend", default=None,
              help="embedded (bundled Qwen2.5-Coder-0.5B, default) | openai (any OpenAI-compatible server) | "
                   "ollama | none (extractive, no model). Also $RAG_LLM or rag.toml.")
@click.option("--base-url", default=None, help="Server URL for openai/ollama, e.g. http://127.0.0.1:8000/v1")
@click.option("--model", default=None, help="embedded: qwen-0.5b (bundled, default) | qwen-1.5b | smollm2 | "
              "a .gguf path; openai/ollama: the model name on the server. Also $RAG_MODEL or rag.toml.")
@click.option("--api-key-env", default=None, help="Environment variable holding the API key "
              "(default OPENAI_API_KEY).")
@click.option("--max-tokens", default=None, type=int, help="Longest answer, in tokens.")
@click.option("-k", "k", default=None, type=click.IntRange(1, 50), help="Passages to retrieve (default 5).")
@click.option("--show-prompt", is_flag=True, help="Print the exact prompt sent to the model.")
@click.option("--show-steps", is_flag=True, help="Print the follow-up questions a two-hop question was "
              "answered by (self-ask).")
@click.option("--json", "as_json", is_flag=True, help='Print {"answer", "citations"} as JSON.')
def ask(question: str, index_dir: str, backend: str | None, base_url: str | None, model: str | None,
        api_key_env: str | None, max_tokens: int | None, k: int | None, show_prompt: bool,
        as_json: bool, show_steps: bool = False) -> None:
    """Answer QUESTION from the indexed documents, with citations; says so when they do not contain it."""
    overrides = {"backend": backend, "base_url": base_url, "model": model, "api_key_env": api_key_env,
                 "max_tokens": max_tokens, "top_k": k}
    idx = _open(index_dir, overrides=overrides, create=False)
    stream = None if as_json or show_prompt else _streamer()
    answer = idx.ask(question, on_token=stream)
    if as_json:
        data = answer.to_json()
        if show_prompt:
            data["prompt"] = answer.prompt
        _emit(data)
        return
    from rag.render import print_answer

    print_answer(answer, show_prompt=show_prompt, streamed=stream is not None and answer.found, show_steps=show_steps)


def _streamer() -> Any:
    if not sys.stdout.isatty():
        return None

    def write(piece: str) -> None:
        click.echo(piece, nl=False)

    return write


@main.command(name="ls")
@index_option
@click.option("--json", "as_json", is_flag=True, help='Print {"documents": [...]} as JSON.')
@click.option("--stats", is_flag=True, help="Also the totals and the vector index's kind (flat or ivf-sq8).")
def list_documents(index_dir: str, as_json: bool, stats: bool) -> None:
    """List the indexed documents: source, kind, sections, chunks, status."""
    from rag.store.postgres.url import is_url, shown

    idx = _open(index_dir, create=False)
    docs = idx.documents()
    totals = idx.stats() if stats else None
    if as_json:
        _emit({"index": shown(index_dir), "documents": [{
            "source": d.source, "root": d.root, "kind": d.kind, "title": d.title, "chunks": d.chunks,
            "status": d.status, "error": d.error, "content_hash": d.content_hash} for d in docs],
            **({"stats": totals} if totals else {})})
        return
    from rag.render import print_documents, print_stats

    if is_url(index_dir):
        click.echo(f"index: {shown(index_dir)}")   # the database, without its password
    print_documents(docs)
    if totals:
        print_stats(totals)


@main.command(name="check")
@index_option
@click.option("--repair", is_flag=True, help="Rebuild what is derived (full-text index, vector file) and read "
              "damaged or lost documents again from their files.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option("--wait", "lock_wait", default=0.0, type=float, help="Seconds to wait for another writer (--repair).")
def check(index_dir: str, repair: bool, as_json: bool, lock_wait: float) -> None:
    """Verify the index end to end: SQLite's and FTS5's integrity checks, every row's checksum, the vector
    file against SQLite, lost commits. Names what is damaged and which documents; exit 1 if anything is."""
    from rag.render import print_check

    idx = _open(index_dir, create=False, read_only=not repair)
    outcome = idx.repair(lock_wait) if repair else None
    report = outcome.after if outcome else idx.check()
    if as_json:
        _emit(outcome.to_json() if outcome else report.to_json())
    else:
        print_check(report, outcome)
    sys.exit(0 if report.ok else 1)


@main.command(name="rm")
@click.argument("path")
@index_option
@click.option("--wait", "lock_wait", default=0.0, type=float, help="Seconds to wait for another writer.")
@click.option("--root", default=None, type=click.Path(file_okay=False),
              help="The ingested folder the document is in, when several hold that name.")
def remove(path: str, index_dir: str, lock_wait: float, root: str | None) -> None:
    """Remove a document (its path, or its source path as `rag ls` shows it) from the index. When
    several ingested folders hold that name, nothing is removed until --root or the full path says which."""
    count = _open(index_dir).remove(path, lock_wait, root=root)
    click.echo(f"removed {count} document{'s' if count != 1 else ''}: {path}")


@main.command(name="watch")
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


@main.command(name="app")
@index_option
@click.option("--port", default=8501, show_default=True, type=click.IntRange(1, 65535), help="Port to serve on.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; the default keeps the app on this machine. Any other address needs a "
                   "password (--password-file or $RAG_APP_PASSWORD).")
@click.option("--password-file", default=None, type=click.Path(dir_okay=False),
              help="A file holding the password the app asks for first (also $RAG_APP_PASSWORD).")
def app(index_dir: str, port: int, host: str, password_file: str | None) -> None:
    """Open the chat app (Streamlit) on INDEX: upload files, chat with citations, see the sources."""
    from rag.core.errors import RagError
    from rag.launch import app_environment, app_password, streamlit_command, url
    from rag.store.postgres.url import is_url, shown

    if is_url(index_dir):   # never made into a folder; the app's upload and viewer pages read a folder
        raise RagError(f"{shown(index_dir)}: the app opens index folders only so far — use rag ask, search or "
                       "serve on a database index")
    password = app_password(host, password_file)
    Path(index_dir).expanduser().mkdir(parents=True, exist_ok=True)
    command = streamlit_command(port, host)
    click.echo(f"rag app: {url(port, host)}  (index {Path(index_dir).resolve()}; Ctrl+C stops it)")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(command[0], command, app_environment(index_dir, password))   # signals now go to Streamlit itself


@main.command(name="serve")
@index_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; any address but "
              "127.0.0.1, ::1 or localhost needs an API key (--api-key-file or $RAG_API_KEY).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to serve on.")
@click.option("--api-key-file", default=None, type=click.Path(dir_okay=False),
              help="A file holding the key every request must send as `Authorization: Bearer KEY`.")
@click.option("--llm", "backend", default=None, help="embedded | openai | ollama | none (as for `rag ask`).")
@click.option("--base-url", default=None, help="Server URL for openai/ollama.")
@click.option("--model", default=None, help="The model, as for `rag ask` (embedded: qwen-0.5b, qwen-1.5b, smollm2).")
@click.option("--api-key-env", default=None, help="Environment variable holding the LLM server's key.")
@click.option("--max-tokens", default=None, type=int, help="Longest answer, in tokens.")
@click.option("-k", "k", default=None, type=click.IntRange(1, 50), help="Passages to retrieve (default 5).")
def serve(index_dir: str, host: str, port: int, api_key_file: str | None, **llm: Any) -> None:
    """Serve INDEX over HTTP: OpenAI-compatible /v1/chat/completions whose answers keep [n] markers and carry
    citations, plus /v1/search, /v1/ask and /v1/documents (the CLI's JSON). OpenAPI: /openapi.json."""
    from rag.launch import is_loopback
    from rag.serve.app import serve as run_server
    from rag.serve.auth import api_key
    from rag.serve.service import open_service

    key = api_key(is_loopback(host), api_key_file, host)
    llm["top_k"] = llm.pop("k")
    service = open_service(index_dir, lambda **how: _open(index_dir, overrides=llm, **how))
    where = f"[{host}]" if ":" in host else host
    run_server(service, host, port, key, ready=lambda: click.echo(
        f"rag serve: http://{where}:{port}/v1  (model {service.name}, llm {service.llm.backend}"
        f"{', API key required' if key else ''}; Ctrl+C stops it)"))


@main.command(name="chat")
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
    """Chat in the terminal; conversations are shared with the app. /help lists the commands."""
    from rag.chat.conversations import ConversationStore
    from rag.chat.session import HELP, ChatSession, run_chat

    idx = _open(index_dir, overrides={"backend": backend, "base_url": base_url, "model": model, "top_k": k})
    tty = sys.stdin.isatty()
    with ConversationStore.open(idx.folder) as store:
        session = ChatSession(idx, store, idx.settings.llm, idx.settings.top_k, conversation,
                              stream=sys.stdout.isatty())

        def prompt() -> None:
            click.echo("you> ", nl=False)

        if tty:
            click.echo(HELP)
            prompt()
        run_chat(session, sys.stdin, prompt if tty else None)


@main.command(name="mcp")
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


@main.command(name="eval")
@click.argument("dataset", type=click.Path(exists=True))
@index_option
@click.option("--split", default="test", show_default=True, help="BEIR: which qrels/<split>.tsv to score.")
@click.option("--llm", "backend", default=None, help="QA: embedded | openai | ollama | none (as for `rag ask`).")
@click.option("-k", "k", default=None, type=click.IntRange(1, 50), help="QA: passages for hit@k (default 5).")
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="Per-query results (JSON Lines; the summary goes beside it as .json). "
                   "Default: <index>/eval/<dataset>-<split>.jsonl")
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


if __name__ == "__main__":
    main()
