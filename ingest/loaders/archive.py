""".zip files, dispatched by what is inside: a Slack export, a Notion export, or documents.

An archive of documents is one Document (kind "archive"). Each member of a supported type is
unpacked into a temporary folder (under a name made there, see ingest/safezip.py) and read with its
own loader from the registry; its Sections keep their locators, prefixed with {"member":
"inner/path.pdf"} (and "title": the member's title, which the chunker puts before the text, unless
the section has its own). A zip inside is read the same way, up to the nesting limit, and its members
are named "inner.zip/doc.txt"; a Slack or Notion export inside is read as one. Members of other types,
and members whose loader fails, are listed in meta["warnings"]; the archive fails only when nothing
in it can be read. meta["pages"], ["ocr_pages"] and ["duration"] add up the members'.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.loaders import notion, slack, twitter
from ingest.loaders.safezip import Archive, MemberError
from ingest.loaders.spec import LoaderSpec, loader_for
from rag.core.errors import LoaderError
from rag.core.types import Document, Section

_SUMMED = ("pages", "ocr_pages", "duration")


@dataclass
class _Collected:
    sections: list[Section] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    members: int = 0
    totals: dict[str, float] = field(default_factory=dict)

    def add(self, member: str, doc: Document) -> None:
        """The member's sections under {"member": its path}; its warnings, each naming it."""
        self.members += 1
        for section in doc.sections:
            locator = dict(section.locator)
            inner = locator.pop("member", None)
            locator = {"member": f"{member}/{inner}" if inner else member, **locator}
            if doc.title and "title" not in locator:
                locator["title"] = doc.title
            self.sections.append(Section(section.text, locator))
        self.warnings.extend(f"{member}: {w}" for w in doc.meta.get("warnings", []))
        for key in _SUMMED:
            value = doc.meta.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.totals[key] = self.totals.get(key, 0) + value


def _load_member(spec: LoaderSpec, archive: Archive, name: str, folder: Path, doc_id: str) -> Document:
    path = archive.extract(name, folder)
    try:
        return spec.load(path, name, doc_id)
    except LoaderError:
        raise
    except Exception as exc:  # a library's own error about one member: the others still count
        raise LoaderError(f"{name}: could not be read ({type(exc).__name__}: {exc}) — the file may be "
                          "damaged") from exc
    finally:
        path.unlink(missing_ok=True)


def _collect(archive: Archive, folder: Path, registry: dict[str, LoaderSpec], doc_id: str,
             found: _Collected, within: str = "") -> None:
    """Load every member into `found`; `within` is the path of this archive inside the outer one."""
    said = f"{within[:-1]}: " if within else ""   # a nested archive's warnings name it first
    found.warnings.extend(said + w for w in archive.warnings)
    for slot, name in enumerate(archive.names()):
        try:
            if name.lower().endswith(".zip"):
                with archive.open_nested(name) as nested:
                    export = _export_document(nested, within + name, doc_id)
                    if export is not None:
                        found.add(within + name, export)
                    else:
                        _collect(nested, folder / f"z{slot}", registry, doc_id, found, f"{within}{name}/")
                continue
            spec = loader_for(registry, Path(name))
            if spec is None:
                found.unsupported.append(within + name)
                continue
            found.add(within + name, _load_member(spec, archive, name, folder / f"m{slot}", doc_id))
        except (MemberError, LoaderError) as exc:
            found.warnings.append(said + str(exc))


def _generic(archive: Archive, source: str, doc_id: str, folder: Path,
             registry: dict[str, LoaderSpec]) -> Document:
    found = _Collected()
    _collect(archive, folder, registry, doc_id, found)
    warnings = found.warnings
    if found.unsupported:
        kinds = " ".join(sorted(k for k in registry if k.startswith(".")))
        warnings.append(f"not read, no loader for their type: {', '.join(found.unsupported)} — supported: {kinds}")
    if not found.sections:
        detail = "; ".join(warnings[:3]) if warnings else "it holds no files"
        raise LoaderError(f"{source}: nothing in the archive could be read ({detail}) — add documents of a "
                          "supported type, or unzip it and ingest the folder")
    meta: dict[str, Any] = {"members": found.members, "warnings": warnings, **found.totals}
    return Document(doc_id=doc_id, source=source, kind="archive", title=Path(source).stem or source,
                    sections=tuple(found.sections), meta=meta)


def _export_document(archive: Archive, source: str, doc_id: str, include_dms: bool = False) -> Document | None:
    """The archive as a Slack, Notion or Twitter/X export, or None when it is none of them."""
    names = archive.names()
    if twitter.export_root(names) is not None:
        return twitter.twitter_document(archive, source, doc_id, include_dms)
    if slack.export_root(names) is not None:
        return slack.slack_document(archive, source, doc_id)
    if notion.looks_like_export(names):
        return notion.notion_document(archive, source, doc_id)
    if names and all(n.lower().endswith(".zip") and n.rsplit("/", 1)[-1].startswith("Export-") for n in names):
        try:  # the parts of a big Notion export
            return notion.notion_document(archive, source, doc_id)
        except LoaderError:
            pass   # not Notion after all: read them as archives of documents
    return None


def archive_document(archive: Archive, source: str, doc_id: str, folder: Path,
                     registry: dict[str, LoaderSpec], include_dms: bool = False) -> Document:
    """A Slack, Notion or Twitter/X export, or the documents in the archive (unpacked under `folder`)."""
    export = _export_document(archive, source, doc_id, include_dms)
    return export if export is not None else _generic(archive, source, doc_id, folder, registry)
