"""A llama-index reader of our own for tests/test_adapters_readers.py: a `.note` file is sections, each opened
by a line "== Title ==", and every section becomes one llama-index Document with {"heading": title}.

It is a module of its own (not defined in the test) so that the loader worker, another process, can import it."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from llama_index.core.readers.base import BasePydanticReader, BaseReader
from llama_index.core.schema import Document


class NoteReader(BaseReader):
    def __init__(self, marker: str = "==") -> None:
        self.marker = marker

    def load_data(self, file: Path, extra_info: dict[str, Any] | None = None) -> list[Document]:
        if os.environ.get("NOTE_READER_LOG"):   # which process read which file
            with open(os.environ["NOTE_READER_LOG"], "a", encoding="utf-8") as log:
                log.write(f"{os.getpid()} {Path(file).name}\n")
        if Path(file).name.startswith("crash"):   # a reader whose C library dies under it
            os.kill(os.getpid(), signal.SIGKILL)
        docs: list[Document] = []
        heading, lines = "", []
        for line in [*Path(file).read_text(encoding="utf-8").splitlines(), f"{self.marker} end {self.marker}"]:
            if line.startswith(self.marker) and line.rstrip().endswith(self.marker):
                if heading and lines:
                    docs.append(Document(text="\n".join(lines).strip(),
                                         metadata={"heading": heading, "file_name": Path(file).name}))
                heading, lines = line.strip(self.marker + " "), []
            else:
                lines.append(line)
        return docs


class PydanticNoteReader(BasePydanticReader):
    """The same, as a pydantic reader (llama-index's serialisable kind): its fields go to the worker as JSON."""

    marker: str = "=="

    def load_data(self, file: Path, extra_info: dict[str, Any] | None = None) -> list[Document]:
        return NoteReader(self.marker).load_data(file, extra_info)


class NotAReader:
    def load_data(self, file: Path) -> list[Any]:
        return []


READER = NoteReader(marker="##")   # a reader object registered by name: "note_reader:READER"
