"""all-MiniLM-L6-v2 with int8 products in torch: the integers of rag/embed/int8.py in onednn's kernels.

    embedder = TorchInt8BertEmbedder(folder, "all-MiniLM-L6-v2-int8", quant=numpy_int8.quant)

TorchBertEmbedder's forward pass (packed, unpadded sequences) with each product run by
`torch.ops.quantized.linear_dynamic` on the int8 weights that NumpyInt8BertEmbedder made (given, or made
here): onednn's u8 x s8 GEMM (AVX512-VNNI, or AMX where the CPU has it). Its activation scale is per call,
not per row, so each row is divided by its own largest |value| first and one extra row holding -1 and 1
pins the call's range to [-1, 1]: the quantised rows are exactly int8.py's, whatever else is in the call.

onednn's kernels are exact only where the CPU has VNNI (AVX512-VNNI, AVX-VNNI or AMX): without it they sum
u8 x s8 pairs in saturating 16-bit lanes (vpmaddubsw), which lost 0.005 of cosine to float32 on an AVX2 EPYC.
There the same integers are multiplied in float32 instead (exact: every sum stays below 2^24), as int8.py
does, at float32 speed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from rag.core.cpu import cpu_flags
from rag.embed.int8 import ACT_LEVELS, PRODUCTS, NumpyInt8BertEmbedder, QuantLinear
from rag.embed.minilm_torch import Linear, TorchBertEmbedder

if TYPE_CHECKING:
    from rag.embed.bert import Weights


def _engine() -> None:
    """onednn where torch has it (the fastest int8 GEMM measured here), else torch's default."""
    if "onednn" in torch.backends.quantized.supported_engines:
        torch.backends.quantized.engine = "onednn"


def int8_exact() -> bool:
    """True where the CPU has VNNI (or AMX), so onednn's int8 sums do not saturate."""
    return bool({"avx512_vnni", "avx_vnni", "amx_int8"} & cpu_flags())


def _packed(quant: QuantLinear) -> object:
    weight = torch._make_per_channel_quantized_tensor(
        torch.from_numpy(quant.q), torch.from_numpy(quant.w_scale).double(),
        torch.zeros(quant.q.shape[0], dtype=torch.long), 0)
    return torch.ops.quantized.linear_prepack(weight, None)


class TorchInt8BertEmbedder(TorchBertEmbedder):
    """TorchBertEmbedder whose products run in int8; `quant` from NumpyInt8BertEmbedder (else made here).
    Sets torch's quantized engine to onednn (a process-wide setting, like the thread count)."""

    def __init__(self, folder: Path, name: str, quant: list[dict[str, QuantLinear]] | None = None) -> None:
        self._quant = quant or NumpyInt8BertEmbedder(folder, name).quant
        super().__init__(folder, name)

    def _build(self, weights: Weights) -> None:
        super()._build(weights)
        _engine()
        biases = [{"qkv": layer.qkv_b, "out": layer.out_b, "ff1": layer.ff1_b, "ff2": layer.ff2_b}
                  for layer in self._layers]
        self._exact = int8_exact()
        self._int8 = [{p: (_packed(q[p]) if self._exact else torch.from_numpy(q[p].q.astype("float32")),
                           torch.from_numpy(q[p].inv_smooth), biases[i][p], torch.from_numpy(q[p].w_scale))
                       for p in PRODUCTS} for i, q in enumerate(self._quant)]

    def _linear(self, i: int) -> Linear | None:
        return self._onednn(i) if self._exact else self._emulated(i)

    def _emulated(self, i: int) -> Linear:
        """int8.py's arithmetic in torch: the rows' integers (as float32) times the weights' integers."""
        products = self._int8[i]

        def linear(x: torch.Tensor, name: str) -> torch.Tensor:
            weight, inv_smooth, bias, w_scale = products[name]
            rows = torch.mul(x, inv_smooth)
            scale = rows.abs().amax(dim=1, keepdim=True).clamp_(min=1e-12)
            rows.div_(scale).mul_(ACT_LEVELS / 2).round_().clamp_(-128, 127)
            out = F.linear(rows, weight)   # type: ignore[arg-type]
            return out.mul_(scale * (2 / ACT_LEVELS)).mul_(w_scale).add_(bias)

        return linear

    def _onednn(self, i: int) -> Linear:
        products = self._int8[i]

        def linear(x: torch.Tensor, name: str) -> torch.Tensor:
            packed, inv_smooth, bias, _ = products[name]
            n = x.shape[0]
            rows = torch.empty((n + 1, x.shape[1]), dtype=x.dtype)
            torch.mul(x, inv_smooth, out=rows[:n])
            scale = rows[:n].abs().amax(dim=1, keepdim=True).clamp_(min=1e-12)
            rows[:n].div_(scale)
            rows[n].zero_()
            rows[n, :2] = torch.tensor([-1.0, 1.0])
            out = torch.ops.quantized.linear_dynamic(rows, packed, False)[:n]
            return out.mul_(scale).add_(bias)

        return linear
