"""The `rag` command. Only click is imported at start, so `rag --help` is instant."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

INDEX_HELP = "Index folder (created if missing). Default: $RAG_INDEX or ./rag-index."


def _default_index() -> str:
    return os.environ.get("RAG_INDEX", "rag-index")


class RagGroup(click.Group):
    """Turns every RagError into one readable line (no traceback) and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        from rag.core.errors import RagError

        try:
            return super().invoke(ctx)
        except RagError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted — the index keeps every file committed so far; run again to finish",
                       err=True)
            sys.exit(130)


def index_option(f: Any) -> Any:
    return click.option("--index", "index_dir", default=_default_index, show_default=False,
                        type=click.Path(file_okay=False), help=INDEX_HELP)(f)


def _open(index_dir: str, embedder: str | None = None, overrides: dict[str, Any] | None = None) -> Any:
    from rag.config import load_settings
    from rag.index import Index

    settings = load_settings(Path(index_dir), {k: v for k, v in (overrides or {}).items() if v is not None})
    return Index.open(index_dir, embedder=embedder, settings=settings)


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
def ingest(folder: str, index_dir: str, as_json: bool, dry_run: bool, embedder: str | None,
           lock_wait: float, retry_failed: bool, loader_timeout: float | None, loader_memory: int) -> None:
    """Add FOLDER (or one file) to the index; only new and changed files are processed.

    Files deleted from FOLDER leave the index; renamed files are not re-embedded. Safe to interrupt:
    every file is committed on its own, and running again finishes the job. Each file is read in a
    separate worker process with a time and a memory limit: a broken or hostile file is reported
    with the reason, and every other file still goes in.
    """
    from ingest.isolation import LoaderLimits

    idx = _open(index_dir, embedder)
    limits = LoaderLimits(fixed_seconds=loader_timeout, memory_mb=loader_memory)
    summary = idx.ingest(folder, dry_run=dry_run, progress=not as_json, lock_wait=lock_wait,
                         retry_failed=retry_failed, limits=limits)
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
    hits = _open(index_dir).search(question, k)
    if as_json:
        _emit({"hits": [h.to_json() for h in hits]})
        return
    from rag.render import print_hits

    print_hits(hits)


@main.command()
@click.argument("question")
@index_option
@click.option("--llm", "backend", default=None,
              help="embedded (bundled SmolLM2, default) | openai (any OpenAI-compatible server) | "
                   "ollama | none (extractive, no model). Also $RAG_LLM or rag.toml.")
@click.option("--base-url", default=None, help="Server URL for openai/ollama, e.g. http://127.0.0.1:8000/v1")
@click.option("--model", default=None, help="Model name on the server, or a .gguf path for embedded.")
@click.option("--api-key-env", default=None, help="Environment variable holding the API key "
              "(default OPENAI_API_KEY).")
@click.option("--max-tokens", default=None, type=int, help="Longest answer, in tokens.")
@click.option("-k", "k", default=None, type=click.IntRange(1, 50), help="Passages to retrieve (default 5).")
@click.option("--show-prompt", is_flag=True, help="Print the exact prompt sent to the model.")
@click.option("--json", "as_json", is_flag=True, help='Print {"answer", "citations"} as JSON.')
def ask(question: str, index_dir: str, backend: str | None, base_url: str | None, model: str | None,
        api_key_env: str | None, max_tokens: int | None, k: int | None, show_prompt: bool,
        as_json: bool) -> None:
    """Answer QUESTION from the indexed documents, with citations; says so when they do not contain it."""
    overrides = {"backend": backend, "base_url": base_url, "model": model, "api_key_env": api_key_env,
                 "max_tokens": max_tokens, "top_k": k}
    idx = _open(index_dir, overrides=overrides)
    stream = None if as_json or show_prompt else _streamer()
    answer = idx.ask(question, on_token=stream)
    if as_json:
        data = answer.to_json()
        if show_prompt:
            data["prompt"] = answer.prompt
        _emit(data)
        return
    from rag.render import print_answer

    print_answer(answer, show_prompt=show_prompt, streamed=stream is not None and answer.found)


def _streamer() -> Any:
    if not sys.stdout.isatty():
        return None

    def write(piece: str) -> None:
        click.echo(piece, nl=False)

    return write


@main.command(name="ls")
@index_option
@click.option("--json", "as_json", is_flag=True, help='Print {"documents": [...]} as JSON.')
def list_documents(index_dir: str, as_json: bool) -> None:
    """List the indexed documents: source, kind, sections, chunks, status."""
    docs = _open(index_dir).documents()
    if as_json:
        _emit({"documents": [{"source": d.source, "root": d.root, "kind": d.kind, "title": d.title,
                              "chunks": d.chunks, "status": d.status, "error": d.error,
                              "content_hash": d.content_hash} for d in docs]})
        return
    from rag.render import print_documents

    print_documents(docs)


@main.command(name="rm")
@click.argument("path")
@index_option
@click.option("--wait", "lock_wait", default=0.0, type=float, help="Seconds to wait for another writer.")
def remove(path: str, index_dir: str, lock_wait: float) -> None:
    """Remove a document (its source path as `rag ls` shows it) from the index."""
    count = _open(index_dir).remove(path, lock_wait)
    click.echo(f"removed {count} document{'s' if count != 1 else ''}: {path}")


@main.command(name="app")
@index_option
@click.option("--port", default=8501, show_default=True, type=click.IntRange(1, 65535), help="Port to serve on.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; the default keeps the app on this machine.")
def app(index_dir: str, port: int, host: str) -> None:
    """Open the chat app (Streamlit) on INDEX: upload files, chat with citations, see the sources."""
    from rag.launch import app_environment, streamlit_command, url

    Path(index_dir).expanduser().mkdir(parents=True, exist_ok=True)
    command = streamlit_command(port, host)
    click.echo(f"rag app: {url(port, host)}  (index {Path(index_dir).resolve()}; Ctrl+C stops it)")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(command[0], command, app_environment(index_dir))   # signals now go to Streamlit itself


@main.command(name="chat")
@index_option
@click.option("--conversation", "conversation", default=None, type=int,
              help="Continue this conversation (its number, as /list or the app's sidebar shows it).")
@click.option("--llm", "backend", default=None, help="embedded | openai | ollama | none (as for `rag ask`).")
@click.option("--base-url", default=None, help="Server URL for openai/ollama.")
@click.option("--model", default=None, help="Model name on the server, or a .gguf path for embedded.")
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
