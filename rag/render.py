"""Human-readable terminal output for the CLI (JSON output lives beside each command)."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import click

from rag.core.types import render_locator

if TYPE_CHECKING:
    from ingest.pipeline import IngestSummary
    from rag.core.types import Answer, Hit
    from rag.store.records import DocRecord


def print_summary(s: IngestSummary) -> None:
    head = "dry run (nothing changed): would have " if s.dry_run else ""
    click.echo(f"{head}added {s.added}, changed {s.changed}, removed {s.removed}, unchanged {s.unchanged}, "
               f"renamed {s.renamed}, failed {len(s.failed)}, skipped {len(s.skipped)}")
    if not s.dry_run:
        ocr = f"; OCR read {s.ocr_pages} page{'s' * (s.ocr_pages != 1)}" if s.ocr_pages else ""
        click.echo(f"embedded {s.embedded_chunks} chunks (reused {s.reused_chunks}){ocr} in {s.seconds:.1f} s")
    for action, sources in s.plan.items():
        for source in sources:
            click.echo(f"  {action:<9} {source}")
    for f in s.failed:
        click.echo(click.style("  failed   ", fg="red") + f.error)
    for k in s.skipped:
        click.echo(f"  skipped  {k.source}: {k.reason}")
    for w in s.warnings:
        click.echo(click.style("  warning  ", fg="yellow") + w)


def print_hits(hits: list[Hit]) -> None:
    if not hits:
        click.echo("no matches (is the index empty? `rag ls` shows what is in it)")
    for rank, hit in enumerate(hits, start=1):
        where = render_locator(hit.chunk.locator)
        click.echo(click.style(f"{rank}. {hit.source}" + (f", {where}" if where else ""), bold=True)
                   + f"  (score {hit.score:.4f})")
        click.echo(textwrap.indent(textwrap.shorten(hit.chunk.text, 400), "   "))


def print_answer(answer: Answer, show_prompt: bool, streamed: bool) -> None:
    if show_prompt:
        click.echo(click.style("── prompt sent to the model ──", dim=True))
        click.echo(answer.prompt)
        click.echo(click.style("── answer ──", dim=True))
    if not streamed:
        click.echo(answer.text)
    elif answer.text.strip() != answer.raw.strip():
        removed = f"; removed {len(answer.dropped)} sentence(s) no source supports" if answer.dropped else ""
        click.echo(click.style(f"\n── checked against the sources{removed} ──", dim=True))
        click.echo(answer.text)
    else:
        click.echo("")
    if answer.citations:
        click.echo("\nSources:")
    for c in answer.citations:
        click.echo(f"  [{c.number}] {c.label()}")
        click.echo(textwrap.indent(f"“{textwrap.shorten(c.quote, 300)}”", "      "))
    if not answer.found and answer.hits:
        click.echo("\nClosest passages:")
        for hit in answer.hits[:3]:
            click.echo(f"  - {hit.source}, {render_locator(hit.chunk.locator)}: "
                       f"{textwrap.shorten(hit.chunk.text, 160)}")


def print_documents(docs: list[DocRecord]) -> None:
    if not docs:
        click.echo("the index is empty — add files with: rag ingest FOLDER --index DIR")
        return
    for d in docs:
        status = d.status if not d.error else f"{d.status}; last update failed: {d.error}"
        click.echo(f"{d.source}\t{_extent(d)}\t{_plural(d.chunks, 'chunk')}\t{status}")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def _extent(d: DocRecord) -> str:
    """The kind, with pages (and how many were OCR'd) or duration where the loader reported them."""
    pages = d.meta.get("page_count") or d.meta.get("pages")
    extent = _plural(int(pages), "page") if pages else ""
    if d.meta.get("ocr_pages"):
        extent += f" ({d.meta['ocr_pages']} OCR'd)" if pages else "OCR'd"
    if d.meta.get("duration"):
        s = int(float(d.meta["duration"]))
        extent = f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
    return f"{d.kind or '—'} {extent}".strip()
