"""Reading chunks for a search (rag/store/rows.py read_chunks) checks every row it hands out.

It reads each document's row once however many of its chunks are asked for, and checks the vectors'
lengths all together: damage to a shared document row still shows on every chunk of it, and a vector
whose length is wrong is refused even when its row's checksum was written to match (a bug, not a
flipped bit). The index is conftest's `built` (four sample files, hashing embedder), copied per test.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from index_faults import copy_index

from rag.store import rows
from rag.store.schema import CHUNK_COLUMNS, _text


@pytest.fixture
def db(built: Path, tmp_path: Path) -> sqlite3.Connection:
    folder = copy_index(built, tmp_path / "idx")
    connection = sqlite3.connect(folder / "rag.sqlite", isolation_level=None)
    connection.text_factory = _text
    return connection


def dim(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT value FROM meta WHERE key = 'dim'").fetchone()[0])


def all_ids(db: sqlite3.Connection) -> list[int]:
    return [int(r[0]) for r in db.execute("SELECT id FROM chunks ORDER BY id")]


def test_an_intact_index_reads_whole(db: sqlite3.Connection) -> None:
    ids = all_ids(db)
    found, bad = rows.read_chunks(db, 2, ids[::-1], dim(db))
    assert bad == [] and list(found) == ids   # ascending by row id, whatever order they were asked in
    assert all(found[i].vector == db.execute("SELECT vector FROM chunks WHERE id = ?", (i,)).fetchone()[0]
               for i in ids)


def test_a_damaged_document_row_shows_on_every_chunk_of_it(db: sqlite3.Connection) -> None:
    doc, source, count = db.execute("SELECT d.id, d.source, COUNT(*) FROM documents d JOIN chunks c ON c.doc = d.id "
                                    "GROUP BY d.id ORDER BY COUNT(*) DESC").fetchone()
    assert count > 1
    db.execute("UPDATE documents SET title = title || 'x' WHERE id = ?", (doc,))   # no new checksum
    found, bad = rows.read_chunks(db, 2, all_ids(db), dim(db))
    assert bad == [source] * count
    assert found and all(c.source != source for c in found.values())


def test_a_vector_of_the_wrong_length_is_refused_though_its_checksum_matches(db: sqlite3.Connection) -> None:
    ids = all_ids(db)
    row = next(r for r in db.execute(f"SELECT {CHUNK_COLUMNS} FROM chunks ORDER BY id")
               if np.linalg.norm(np.frombuffer(r[9], dtype=np.float32)) > 0.5)   # not a text without words
    ids.remove(row[0])
    ids = [row[0], *ids]
    longer = (np.frombuffer(row[9], dtype=np.float32) * np.float32(1.01)).tobytes()
    resealed = (*row[:9], longer)
    db.execute("UPDATE chunks SET vector = ?, checksum = ? WHERE id = ?", (longer, rows.digest(resealed), row[0]))
    source = db.execute("SELECT d.source FROM documents d JOIN chunks c ON c.doc = d.id WHERE c.id = ?",
                        (row[0],)).fetchone()[0]
    found, bad = rows.read_chunks(db, 2, ids, dim(db))
    assert bad == [source] and row[0] not in found and len(found) == len(ids) - 1
