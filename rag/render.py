"""Human-readable terminal output for the CLI (JSON output lives beside each command)."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any

import click

from rag.core.types import render_locator

if TYPE_CHECKING:
    from ingest.pipeline import IngestSummary
    from rag.core.types import Answer, Hit
    from rag.maintain import RepairOutcome
    from rag.store.check import Report
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
    if s.kept:
        click.echo(f"  kept     {_plural(s.kept, 'document')} under what could not be read (not removed)")
    for source in s.repaired:
        click.echo(click.style("  repaired ", fg="yellow") + f"{source}: its rows in the index were damaged; "
                   + ("it would be read again" if s.dry_run else "read again from the file"))
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
    print_suspects([(f"hit {rank}", h) for rank, h in enumerate(hits, start=1) if h.suspect])


def print_suspects(suspects: list[tuple[str, Hit]]) -> None:
    """A warning line (on stderr) per passage that addresses the assistant: answers never use it."""
    for what, hit in suspects:
        where = render_locator(hit.chunk.locator)
        click.echo(click.style("warning: ", fg="yellow") + f"{what}, {hit.source}{', ' + where if where else ''}, "
                   f"{hit.suspect} — it looks like instructions to the assistant, so answers never use it", err=True)


def print_answer(answer: Answer, show_prompt: bool, streamed: bool, show_steps: bool = False) -> None:
    if show_steps and answer.steps:
        click.echo(click.style("── how this was answered (self-ask) ──", dim=True))
        for n, (question, text, citations) in enumerate(answer.steps, start=1):
            click.echo(f"  Follow up {n}: {question}\n  Intermediate answer: {text}")
            for c in citations:
                click.echo(f"      [{c.number}] {c.label()}")
        click.echo(click.style("── answer ──", dim=True))
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
    print_suspects([("left out", h) for h in answer.suspects])
    click.echo(click.style(f"(answered by {answer.model})", dim=True))


def print_documents(docs: list[DocRecord]) -> None:
    if not docs:
        click.echo("the index is empty — add files with: rag ingest FOLDER --index DIR")
        return
    for d in docs:
        status = d.status if not d.error else f"{d.status}; last update failed: {d.error}"
        click.echo(f"{d.source}\t{_extent(d)}\t{_plural(d.chunks, 'chunk')}\t{status}")


def print_stats(stats: dict[str, Any]) -> None:
    """`rag ls --stats`: the totals, then the vector index (its kind, parameters, base and delta) and BM25's."""
    v = stats["vectors"]
    shape = ", ".join(f"{k} {v[k]}" for k in ("nlist", "nprobe") if k in v)
    delta = f"; +{v['delta_added']} −{v['delta_removed']} since commit {v['base_commit']}" \
        if v.get("delta_added") or v.get("delta_removed") else ""
    click.echo(f"{_plural(stats['documents'], 'document')}, {_plural(stats['chunks'], 'chunk')}, commit "
               f"{stats['commit']}, {stats['disk_bytes'] / 1e6:.1f} MB on disk")
    click.echo(f"vector index: {v['kind']}{f' ({shape})' if shape else ''}{delta}"
               + (f" (approximate from {v['approximate_from']:,} chunks)" if "approximate_from" in v else ""))
    lex = stats.get("lexical") or {}
    if lex.get("kind") == "postings":
        changed = f"; +{lex['delta_added']} −{lex['delta_removed']} since commit {lex['base_commit']}" \
            if lex.get("delta_added") or lex.get("delta_removed") else ""
        click.echo(f"BM25: postings of its own ({lex.get('postings') or 0:,} postings{changed}; kept from "
                   f"{lex['postings_from']:,} chunks)")
    elif lex.get("kind") == "fts5":
        click.echo(f"BM25: FTS5 (postings of its own from {lex['postings_from']:,} chunks)")


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


def print_check(report: Report, outcome: RepairOutcome | None = None) -> None:
    """`rag check`: what was checked, each finding, and (with --repair) what was done."""
    if outcome is not None:
        for finding in outcome.before.findings:
            _finding(finding.damage, f"found: {finding.problem}", finding.sources)
        for action in outcome.actions:
            click.echo(click.style("  repaired ", fg="green") + action)
        if outcome.restored:
            click.echo(f"  restored {', '.join(outcome.restored)}")
        for path in outcome.missing:
            click.echo(click.style("  missing  ", fg="red") + f"{path}: its file is not there — ingest it again")
    state = "ok" if report.ok else click.style("DAMAGED", fg="red", bold=True)
    click.echo(f"{report.folder}: {state} — {_plural(report.documents, 'document')}, "
               f"{_plural(report.chunks, 'chunk')}, commit {report.commit}, format {report.format}")
    for finding in report.findings:
        _finding(finding.damage, finding.problem, finding.sources)
    if not report.ok and outcome is None:
        click.echo(f"run `rag check --index {report.folder} --repair` to repair it")


def _finding(damage: bool, text: str, sources: tuple[str, ...]) -> None:
    label = click.style("  damaged  ", fg="red") if damage else "  note     "
    shown = ", ".join(sources[:10]) + (f" and {len(sources) - 10} more" if len(sources) > 10 else "")
    click.echo(label + text + (f" (documents: {shown})" if shown else ""))
