"""Notion exports ("Markdown & CSV"): the zip Notion gives (with the `Export-….zip` parts that big
exports nest inside it), or the folder it unzips to.

Notion names every page and database after its title plus a 32-hex id ("API Integration
3c4d…7e8f.md", "Tasks 6f7a…1c_all.csv", folders alike); the ids are removed from titles and paths. A
wrapping folder ("Export-…", "Private & Shared") is left out of the paths. The
export is one Document (kind "notion"):
- each page (.md) is one Section with the locator {"notion_path": "Projects/API Integration", "title":
  page title}; a page longer than 1,500 characters is split at its headings (adding "heading"). The
  property lines under the title ("Status: In progress", "Owner: Ana") stay in the text and are also
  kept in meta["properties"][notion_path]. Links to other pages (`[Title](Title%20<id>.md)`) become
  their title; embedded local images are dropped;
- each row of a database (.csv) is one Section, "Name: API Integration; Status: In progress; …"
  (empty cells left out), with the locator {"notion_path": "Projects/Tasks", "row": first cell,
  "title": database title}. Notion writes a database twice, `X.csv` (the view's columns) and
  `X_all.csv` (all of them): only `_all` is read when both are there.
Other files (images, attachments) are not read. A page or database that cannot be read is skipped
with a warning naming it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from ingest.loaders.decode import decode_text
from ingest.loaders.safezip import Archive, MemberError, Tree, clean_part, open_tree
from ingest.loaders.spec import LoaderSpec
from ingest.loaders.text import markdown_sections
from rag.core.errors import LoaderError
from rag.core.types import Document, Section

_ID = re.compile(r"\s*\b[0-9a-fA-F]{32}(?:_all)?$")
_LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)")
_CELL_LINK = re.compile(r"\s*\([^()]*?(?:%20| )[0-9a-fA-F]{32}\.(?:md|csv)\)")
_PROPERTY = re.compile(r"^([^\s:#>*|`\-][^:\n]{0,40}): (.+)$")
_TEXT_SUFFIXES = (".md", ".csv")
_WRAPPER = re.compile(r"^(Export-.*|Private & Shared)$")
SPLIT_CHARS = 1500


def has_id(name: str) -> bool:
    """Whether a file or folder name carries a Notion id ("Page 0123….md", "Tasks 0123…_all.csv")."""
    stem = name.rsplit(".", 1)[0] if name.lower().endswith(_TEXT_SUFFIXES) else name
    return bool(_ID.search(stem))


def clean_name(name: str) -> str:
    """A file or folder name as its title: no extension, no Notion id, no control characters."""
    stem = name.rsplit(".", 1)[0] if name.lower().endswith(_TEXT_SUFFIXES) else name
    stem = _ID.sub("", stem)
    return " ".join(clean_part(stem).split()) or "Untitled"


def is_export_listing(files: list[str], folders: list[str]) -> bool:
    """Whether a folder with these files and subfolders is the top of a Notion export: some page, database
    or folder in it carries an id, and every file in it is a page or a database."""
    return any(has_id(n) for n in files + folders) and all(n.lower().endswith(_TEXT_SUFFIXES) for n in files)


def _top(names: list[str]) -> tuple[list[str], list[str]]:
    files = [n for n in names if "/" not in n]
    folders = sorted({n.split("/", 1)[0] for n in names if "/" in n})
    return files, folders


def _wrapper(names: list[str]) -> str:
    """The prefix of folders that only wrap the export ("Export-…/", "Private & Shared/"), left out of paths."""
    prefix = ""
    while names:
        files, folders = _top(names)
        if files or len(folders) != 1 or not _WRAPPER.match(folders[0]):
            break
        prefix += folders[0] + "/"
        names = [n.split("/", 1)[1] for n in names]
    return prefix


def looks_like_export(names: list[str]) -> bool:
    """Whether the names of a tree (an archive's entries) form a Notion export."""
    cut = len(_wrapper(names))
    return is_export_listing(*_top([n[cut:] for n in names]))


def _parts(tree: Tree, stack: ExitStack) -> list[Tree]:
    """The trees to read: the export itself, or the `Export-….zip` parts nested in it."""
    names = tree.names()
    if not isinstance(tree, Archive) or looks_like_export(names):
        return [tree]
    zips = [n for n in names if n.lower().endswith(".zip")]
    parts: list[Tree] = []
    for name in zips if len(zips) == len(names) else []:
        try:
            parts.append(stack.enter_context(tree.open_nested(name)))
        except MemberError as exc:
            tree.warnings.append(str(exc))
    return [p for p in parts if any(has_id(c) for n in p.names() for c in n.split("/"))]


def notion_path(name: str) -> str:
    return "/".join(clean_name(part) for part in name.split("/"))


def _link(match: re.Match[str]) -> str:
    bang, label, target = match.groups()
    local = "://" not in target and not target.startswith(("mailto:", "#"))
    if bang and local:
        return ""
    if local and unquote(target).lower().endswith(_TEXT_SUFFIXES):
        return clean_name(label.strip()) if has_id(label.strip()) else label
    return match.group(0)


def properties(lines: list[str]) -> dict[str, str]:
    """The "Name: value" lines right under the page's title, up to the first blank line."""
    index = 0
    while index < len(lines) and not lines[index].strip():
        index += 1
    if index < len(lines) and lines[index].startswith("# "):
        index += 1
        while index < len(lines) and not lines[index].strip():
            index += 1
    found: dict[str, str] = {}
    for line in lines[index:]:
        match = _PROPERTY.match(line.strip())
        if not line.strip() or not match:
            return found if not line.strip() else {}
        found[match.group(1).strip()] = match.group(2).strip()
    return found


def _page(data: bytes, path: str) -> tuple[list[Section], dict[str, str]]:
    text, _ = decode_text(data)
    text = re.sub(r"\n[ \t]*\n(?:[ \t]*\n)+", "\n\n", _LINK.sub(_link, text)).strip()
    heading = re.match(r"#[ \t]+(.+)", text)
    title = heading.group(1).strip() if heading else path.rsplit("/", 1)[-1]
    props = properties(text.split("\n"))
    if not text or (heading and not text[heading.end():].strip()):
        return [], props
    base = {"notion_path": path, "title": title}
    if len(text) <= SPLIT_CHARS:
        return [Section(text, base)], props
    sections = []
    for part in markdown_sections(text)[0]:
        where = str(part.locator.get("heading", ""))
        where = where.removeprefix(title).removeprefix(" > ") if where.startswith(title) else where
        sections.append(Section(part.text, {**base, "heading": where} if where else dict(base)))
    return sections, props


def _rows(data: bytes, path: str, name: str) -> list[Section]:
    text, _ = decode_text(data)
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return []
    header = [h.strip() or f"column {i + 1}" for i, h in enumerate(rows[0])]
    sections = []
    for number, row in enumerate(rows[1:], start=1):
        cells = [(h, _CELL_LINK.sub("", v).strip()) for h, v in zip(header, row, strict=False)]
        cells = [(h, v) for h, v in cells if v]
        if cells:
            key = _CELL_LINK.sub("", row[0]).strip() or str(number)
            sections.append(Section("; ".join(f"{h}: {v}" for h, v in cells),
                                    {"notion_path": path, "row": key, "title": clean_name(name)}))
    return sections


def _databases(names: list[str]) -> set[str]:
    """The CSV files to read: `X_all.csv` where there is one, else `X.csv`."""
    chosen: dict[str, str] = {}
    for name in names:
        if name.lower().endswith(".csv"):
            key = notion_path(name)
            if key not in chosen or name[:-4].endswith("_all"):
                chosen[key] = name
    return set(chosen.values())


def _entries(trees: list[Tree]) -> Iterator[tuple[Tree, str, str]]:
    """(tree, name, name without the wrapping folders) of every page and database, in path order."""
    found: list[tuple[str, str, str, Tree]] = []
    for tree in trees:
        names = tree.names()
        cut = len(_wrapper(names))
        wanted = {n for n in names if n.lower().endswith(".md")} | _databases([n for n in names])
        found.extend((notion_path(n[cut:]), n, n[cut:], tree) for n in wanted)
    for _, name, inner, tree in sorted(found, key=lambda f: (f[0], f[1])):
        yield tree, name, inner


def notion_document(tree: Tree, source: str, doc_id: str) -> Document:
    """The Document for a Notion export read from `tree` (an archive or a folder)."""
    sections: list[Section] = []
    props: dict[str, Any] = {}
    warnings: list[str] = []
    with ExitStack() as stack:
        trees = _parts(tree, stack)
        for part, name, inner in _entries(trees):
            path = notion_path(inner)
            try:
                data = part.read(name)
            except MemberError as exc:
                warnings.append(str(exc))
                continue
            if name.lower().endswith(".csv"):
                try:
                    sections.extend(_rows(data, path, inner.rsplit("/", 1)[-1]))
                except csv.Error as exc:
                    warnings.append(f"{name}: not a readable CSV table ({exc}) — skipped")
                continue
            found, page_props = _page(data, path)
            sections.extend(found)
            if page_props:
                props[path] = page_props
        warnings.extend(w for t in trees if t is not tree for w in t.warnings)
    if not sections:
        raise LoaderError(f"{source}: no Markdown page or CSV database with text in the Notion export — "
                          "export again choosing \"Markdown & CSV\"")
    title = clean_name(Path(source).name.removesuffix(".zip")) if source else "Notion export"
    return Document(doc_id=doc_id, source=source, kind="notion", title=title, sections=tuple(sections),
                    meta={"properties": props, "warnings": tree.warnings + warnings})


def load_notion(path: Path, source: str, doc_id: str) -> Document:
    """A Notion export: the zip Notion gives, or the folder it unzips to."""
    with open_tree(path, source) as tree:
        return notion_document(tree, source, doc_id)


LOADERS: dict[str, LoaderSpec] = {"notion/": LoaderSpec("notion", "notion", load_notion)}
