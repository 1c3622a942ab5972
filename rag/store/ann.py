"""Which FAISS index holds the base vectors, chosen by size, and how it is made and searched.

Up to `ANN_MIN` chunks: `flat`, exact inner product over float32 (IndexIDMap2 over IndexFlatIP), read
into memory. From `ANN_MIN` chunks: `ivf-sq8`, an inverted file of `nlist` k-means cells whose vectors
are stored as 8-bit scalar codes (384 bytes a 384-d chunk instead of 1,536), written with
faiss.write_index and memory-mapped by searches, which then read only the `nprobe` cells they visit. At
1M chunks that is a 390 MB file of which a search touches a few MB, against 1.5 GB held by a flat index.
The ranking that leaves retrieval is exact anyway: fusion scores every candidate with its stored float32
vector (rag/retrieve/fusion.py). Training takes `TRAIN_PER_CELL` vectors per cell, sampled across the index.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

ANN_MIN = 100_000        # chunks: from here on the base is approximate (ivf-sq8)
FLAT_AGAIN = 50_000      # an ivf-sq8 base shrunk below this is rebuilt flat
TRAIN_PER_CELL = 40
KINDS = ("flat", "ivf-sq8")


def kind_for(rows: int, current: str | None = None) -> str:
    """The kind of base for `rows` chunks; an existing ivf-sq8 base stays until the index shrinks a lot."""
    if current == "ivf-sq8" and rows >= FLAT_AGAIN:
        return current
    return "ivf-sq8" if rows >= ANN_MIN else "flat"


def params_for(kind: str, rows: int) -> dict[str, int]:
    """nlist ≈ √rows rounded to a power of two (1,024 at 1M: ~1,000 chunks a cell); nprobe 1/16 of them."""
    if kind == "flat":
        return {}
    nlist = 256
    while nlist * nlist < rows and nlist < 4096:
        nlist *= 2
    return {"nlist": nlist, "nprobe": max(8, nlist // 16)}


def empty(kind: str, dim: int, params: dict[str, int]) -> Any:
    import faiss

    if kind == "flat":
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFScalarQuantizer(quantizer, dim, params["nlist"], faiss.ScalarQuantizer.QT_8bit,
                                          faiss.METRIC_INNER_PRODUCT)
    index.own_fields = True
    quantizer.this.disown()  # type: ignore[attr-defined]
    return index


def train(index: Any, sample: np.ndarray, params: dict[str, int]) -> None:
    """k-means over the sample (10 iterations: enough for cells, and minutes less at 1M than the default)."""
    if not params:
        return
    index.cp.niter = 10
    index.cp.max_points_per_centroid = TRAIN_PER_CELL
    index.train(sample)


def search_params(kind: str, params: dict[str, int], removed: Any) -> tuple[Any, tuple[Any, ...]]:
    """FAISS search parameters (the cells to visit, the removed ids to skip), and the objects they point
    to, which the caller keeps alive as long as it uses them (SWIG does not)."""
    import faiss

    keep: tuple[Any, ...] = ()
    selector = None
    if removed is not None and len(removed):
        batch = faiss.IDSelectorBatch(removed)
        selector = faiss.IDSelectorNot(batch)
        keep = (removed, batch, selector)
    if kind == "flat":
        return (faiss.SearchParameters(sel=selector) if selector is not None else None), keep  # type: ignore[call-arg]
    out = faiss.SearchParametersIVF(nprobe=params["nprobe"])  # type: ignore[call-arg]
    if selector is not None:
        out.sel = selector
    return out, keep
