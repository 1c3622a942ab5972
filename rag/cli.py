"""The `rag` command. Only click is imported at start, so `rag --help` is instant."""

from __future__ import annotations

import sys
from typing import Any

import click

from rag.cli_common import emit as _emit
from rag.cli_common import index_option
from rag.cli_common import open_index as _open
from rag.cli_faces import COMMANDS
from rag.messages import RagGroup


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
@click.option("--embedder", default=None, help="Embedding model for a new index: all-MiniLM-L6-v2-bf16 "
              "(bundled, default), all-MiniLM-L6-v2 (float32), all-MiniLM-L6-v2-int8, or a "
              "sentence-transformers model folder.")
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


for _command in COMMANDS:   # watch, app, serve, chat, mcp, eval: rag/cli_faces.py
    main.add_command(_command)


if __name__ == "__main__":
    main()
