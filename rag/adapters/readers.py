"""Any llama-index reader (a `BaseReader`) as a loader in our registry, run in the isolated worker like ours.

    from ingest.registry import default_registry
    from rag.adapters import register_llamaindex_reader
    registry = register_llamaindex_reader(".note", "my_package.readers:NoteReader", default_registry())
    Index.open("./my-index").ingest("./notes", registry=registry)

The worker (ingest/worker.py) is another process: it finds a loader by the name "module:qualname" that
`ingest.worker.loader_name` reads off the function. So the loader made here is named
`rag.adapters.readers:reader_<hex>`, where the hex spells a small JSON description of the reader (its
importable class, or "module:attr", and its fields), and this module's `__getattr__` rebuilds the reader
from that name in the worker. Only that JSON crosses the process boundary, never a pickle.

The reader is called as `reader.load_data(path)` (the convention of llama-index's file readers); each
llama-index Document it returns becomes one Section, with a locator made from its metadata ("page_label",
"page", "heading", …), or `{"record": n}` when a file gave several documents that say nothing of where.
"""

from __future__ import annotations

import functools
import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.core.errors import LoaderError, RagError
from rag.core.types import Document, Locator, Section

if TYPE_CHECKING:
    from ingest.loaders.spec import Loader, LoaderSpec

PREFIX = "reader_"
# metadata keys a locator may take over as they are (rag/core/types.py renders them)
LOCATOR_KEYS = ("page", "page_label", "slide", "heading", "start", "end", "speaker", "channel", "date",
                "author", "notion_path", "record", "row", "line")


def describe(reader: Any) -> dict[str, Any]:
    """The reader as JSON the worker can rebuild it from: {"spec": "module:attr", "state": {...} | None}."""
    if isinstance(reader, str):
        module, _, attr = reader.partition(":")
        if not module or not attr:
            raise RagError(f"{reader!r}: a reader is named as 'package.module:ClassName' — give the module and "
                           "the class (or a reader object) it is defined in")
        return {"spec": reader, "state": None}
    cls = reader if isinstance(reader, type) else type(reader)
    spec = f"{cls.__module__}:{cls.__qualname__}"
    if cls.__module__ == "__main__" or "<" in cls.__qualname__:
        raise RagError(f"{cls.__qualname__}: the reader class is defined in a script or a function, so the "
                       "loader worker cannot import it — move it into an importable module")
    if isinstance(reader, type):
        return {"spec": spec, "state": None}
    state = reader.model_dump(mode="json") if hasattr(reader, "model_dump") else dict(vars(reader))
    try:
        json.dumps(state)
    except (TypeError, ValueError):
        raise RagError(f"{cls.__qualname__}: the reader holds values that are not JSON ({sorted(state)}), so it "
                       "cannot be sent to the loader worker — register its class or a 'module:attr' name "
                       "instead") from None
    return {"spec": spec, "state": state}


def token(description: dict[str, Any]) -> str:
    return PREFIX + json.dumps(description, sort_keys=True, separators=(",", ":")).encode("utf-8").hex()


def _lookup(spec: str) -> Any:
    module, _, attr = spec.partition(":")
    try:
        target: Any = importlib.import_module(module)
        for part in attr.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise RagError(f"{spec}: cannot import this reader ({exc}) — check the module and class name, and "
                       "that the module is importable (on PYTHONPATH)") from None
    return target


def build_reader(description: dict[str, Any]) -> Any:
    """The reader a description names: the class made with no arguments, or with its fields restored."""
    from llama_index.core.readers.base import BaseReader

    target: Any = _lookup(description["spec"])
    state = description.get("state")
    if isinstance(target, type):
        if state is None:
            reader = target()
        elif hasattr(target, "model_validate"):
            reader = target.model_validate(state)
        else:
            reader = object.__new__(target)
            reader.__dict__.update(state)
    else:
        reader = target
    if not isinstance(reader, BaseReader):
        raise RagError(f"{description['spec']}: is a {type(reader).__name__}, not a llama-index BaseReader — "
                       "register a reader (a class with load_data(file) returning Documents)")
    return reader


def locator_of(metadata: dict[str, Any], number: int, count: int) -> Locator:
    locator: Locator = {k: metadata[k] for k in LOCATOR_KEYS
                        if isinstance(metadata.get(k), (str, int, float)) and not isinstance(metadata[k], bool)}
    label = str(locator.get("page_label", ""))
    if "page" not in locator and label.isdigit():   # llama-index's PDF readers give only the printed label
        locator["page"] = int(label)
    if not locator and count > 1:
        locator["record"] = number
    return locator


def to_document(docs: list[Any], path: Path, source: str, doc_id: str, name: str) -> Document:
    """llama-index Documents (one file's) as our Document: one Section per document that holds text."""
    sections = []
    for number, doc in enumerate(docs, start=1):
        text = doc.text if isinstance(getattr(doc, "text", None), str) else doc.get_content()
        if text.strip():
            sections.append(Section(text, locator_of(dict(doc.metadata or {}), number, len(docs))))
    if not sections:
        raise LoaderError(f"{source}: the reader {name} found no text in it — check the file, or register "
                          f"another reader for {path.suffix or 'this kind of file'}")
    titles = [str(d.metadata["title"]) for d in docs if isinstance((d.metadata or {}).get("title"), str)]
    return Document(doc_id, source, "llamaindex", titles[0] if titles else path.stem, tuple(sections),
                    {"reader": name})


def load_with(description: dict[str, Any], path: Path, source: str, doc_id: str) -> Document:
    try:
        reader = _cached_reader(json.dumps(description, sort_keys=True))
    except RagError as exc:   # the worker cannot make the reader: say so for this file, not "damaged"
        raise LoaderError(f"{source}: {exc}") from None
    docs = reader.load_data(path)
    if not isinstance(docs, list):
        docs = list(docs)
    return to_document(docs, path, source, doc_id, description["spec"])


@functools.cache
def _cached_reader(description: str) -> Any:
    """One reader per worker process, made on its first file."""
    return build_reader(json.loads(description))


def reader_loader(reader: Any) -> Loader:
    """A loader function for `reader`, named so that the worker rebuilds it (see the module docstring)."""
    description = describe(reader)

    def load(path: Path, source: str, doc_id: str) -> Document:
        return load_with(description, path, source, doc_id)

    load.__module__ = __name__
    load.__qualname__ = load.__name__ = token(description)
    return load


def __getattr__(name: str) -> Callable[[Path, str, str], Document]:
    """In the worker: the loader that `reader_loader` named `name`."""
    if not name.startswith(PREFIX):
        raise AttributeError(name)
    try:
        description = json.loads(bytes.fromhex(name[len(PREFIX):]).decode("utf-8"))
    except ValueError:
        raise AttributeError(name) from None
    return functools.partial(load_with, description)


def register_llamaindex_reader(suffix: str, reader: Any,
                               registry: dict[str, LoaderSpec] | None = None) -> dict[str, LoaderSpec]:
    """File `reader` (a llama-index BaseReader: its class, an instance, or "module:attr") under `suffix` in
    `registry` (a fresh default registry when None) and return the registry, for `Index.ingest(registry=…)`."""
    from ingest.loaders.spec import LoaderSpec
    from ingest.registry import default_registry

    if not suffix.startswith(".") or len(suffix) < 2 or "/" in suffix:
        raise RagError(f"{suffix!r}: a suffix starts with a dot, like '.note'")
    if registry is None:
        registry = default_registry()
    description = describe(reader)
    build_reader(description)   # fail here, in the caller's process, rather than once per file
    name = f"llamaindex:{description['spec'].rpartition(':')[2]}"
    registry[suffix.lower()] = LoaderSpec(name, "llamaindex", reader_loader(reader))
    return registry
