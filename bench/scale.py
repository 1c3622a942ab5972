"""Scale: build indexes of 10k, 100k and 1M chunks and time what a user does with them.

    .venv/bin/python bench/scale.py [--sizes 10000,100000,1000000] [--json] [--work DIR] [--keep | --reuse]

Per size: build time (rows + vector index), disk size, `rag ingest` of one small new file and `rag rm` of
it (each a fresh process, timed from its start), `Index.search` p50/p95 warm (k=10, the shipped fusion),
the BM25 half alone (p50), `rag search` cold from process start (the first after the rm, which also reads
what that commit changed from disk; then two more, cold_search_again_s), recall@10 against exact search over the
same vectors, and the peak RSS of the process that ran the searches. `--json` prints one line per size.

How the corpus is made (embedding a million chunks here would take hours):
- Seed: the first SEED_DOCS SciFact abstracts (../shared/data/scifact/corpus.jsonl), split into chunks of
  about 90 words at sentence ends, embedded once by the shipped embedder (cached under --work).
- Synthetic chunk: two or three sentences of a seed chunk a, one or two of a seed b among a's 20 nearest
  seeds, titled after a. Its vector is normalise(0.6·a + 0.3·b + 0.1·c + noise): c a random seed, the noise
  Gaussian with norm 0.4× that of the mix, so it is not a copy of a seed (cosine to its nearest seed is
  typically 0.85–0.93, as between real abstracts on one topic) while keeping the real vectors'
  anisotropy and topic clusters. The isotropic noise makes the neighbourhoods harder for an approximate
  index than real data, not easier.
- Rows are written through the store's own row writer (rag/store/rows.py write_document: sealed rows,
  FTS5 rows) in transactions of many documents, 10 chunks a document, as ingest would leave them.
Recall: the queries are real SciFact test claims embedded by the same model; "exact" is brute-force
inner product over every vector of the index (read back from rag.sqlite in batches, outside the search
process). recall_at_10 is the share of the exact top 10 that the dense side hands fusion (FAISS's top
60, re-scored with the float32 vectors from rag.sqlite as fusion does); raw_recall_at_10 is FAISS's own
top 10.
lexical_recall_at_10 is the share of the whole BM25 top 10 (FTS5 scoring every matching row) that the
BM25 half as shipped finds. From 10,000 chunks that is the index's own postings (rag/store/postings.py,
lexical_kind "postings"), which score every matching row as FTS5 does, so it is 1.0 unless they are not
there; without them (lexical_kind "fts5") a query over more than 20,000 rows, or 5% of the chunks, ranks
only the candidates of its rarest terms (rag/store/focused_bm25.py). The synthetic texts reuse the words
of 800 abstracts, so at 1M every word occurs in thousands of chunks: many rows to score per query word.
postings_build_s is the time the build's (or, with --reuse, a kept index without them) postings took.
peak_rss_mb is the search process's VmHWM.
`--keep` keeps each index (and its build figures) in --work; `--reuse` measures a kept one again.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "scifact"
SIZES = (10_000, 100_000, 1_000_000)
SEED_DOCS = 800
CHUNKS_PER_DOC = 10
QUERIES = 100
DEPTH = 60
KEYS = ("size", "build_s", "disk_mb", "add_one_s", "remove_one_s", "query_p50_ms", "query_p95_ms",
        "lexical_p50_ms", "recall_at_10", "peak_rss_mb")


def split_chunks(text: str, words: int = 90) -> list[str]:
    out, current = [], []
    for sentence in re.split(r"(?<=[.!?])\s+", text.strip()):
        current.append(sentence)
        if sum(len(s.split()) for s in current) >= words:
            out.append(" ".join(current))
            current = []
    if current:
        out.append(" ".join(current))
    return [c for c in out if c.strip()]


def seed(work: Path) -> dict[str, Any]:
    """Real chunks and queries with their real vectors (embedded once, cached per embedder)."""
    import numpy as np

    from rag.embed.registry import make_embedder

    embedder = make_embedder()
    cache = work / f"seed-{embedder.name}-{SEED_DOCS}.npz"
    kept = sorted(work.glob(f"seed-*-{SEED_DOCS}.npz"))   # vectors of a same-sized model serve as well
    for path in [cache] * cache.exists() + kept:
        got = np.load(path, allow_pickle=False)
        if got["vectors"].shape[1] == embedder.dim:
            print(f"seed vectors from {path.name}", file=sys.stderr)
            return {"embedder": embedder, **{k: got[k] for k in got.files}}
    titles, texts = [], []
    with open(DATA / "corpus.jsonl", encoding="utf-8") as f:
        for line, _ in zip(f, range(SEED_DOCS), strict=False):
            doc = json.loads(line)
            for chunk in split_chunks(doc["text"]):
                titles.append(doc["title"])
                texts.append(chunk)
    test = {line.split("\t")[0] for line in (DATA / "qrels" / "test.tsv").read_text().splitlines()[1:]}
    queries = [q["text"] for q in map(json.loads, (DATA / "queries.jsonl").read_text().splitlines())
               if q["_id"] in test][:QUERIES]
    print(f"embedding {len(texts)} seed chunks and {len(queries)} queries once …", file=sys.stderr)
    vectors = embedder.embed([f"{t}\n{x}" for t, x in zip(titles, texts, strict=True)])
    qvectors = embedder.embed(queries)
    work.mkdir(parents=True, exist_ok=True)
    np.savez(cache, titles=np.array(titles), texts=np.array(texts), vectors=vectors,
             queries=np.array(queries), qvectors=qvectors)
    return seed(work)


def synthetic(s: dict[str, Any], start: int, count: int, rng: Any) -> tuple[list[str], list[str], Any]:
    """`count` chunks (titles, texts, vectors) numbered from `start`: seed chunks first, then mixes."""
    import numpy as np

    seeds, n = s["vectors"], len(s["vectors"])
    if "near" not in s:
        s["near"] = np.argsort(-(seeds @ seeds.T), axis=1)[:, 1:21]
        s["sentences"] = [re.split(r"(?<=[.!?])\s+", t) for t in s["texts"]]
    titles, texts, rows = [], [], []
    for i in range(start, start + count):
        if i < n:
            titles.append(str(s["titles"][i]))
            texts.append(str(s["texts"][i]))
            rows.append(seeds[i])
            continue
        a = int(rng.integers(n))
        b, c = int(s["near"][a][rng.integers(20)]), int(rng.integers(n))
        sa, sb = s["sentences"][a], s["sentences"][b]
        pick = [sa[j] for j in sorted(rng.choice(len(sa), min(len(sa), int(rng.integers(2, 4))), replace=False))]
        pick += [sb[j] for j in rng.choice(len(sb), min(len(sb), int(rng.integers(1, 3))), replace=False)]
        titles.append(f"{s['titles'][a]} ({i})")
        texts.append(" ".join(pick))
        mix = 0.6 * seeds[a] + 0.3 * seeds[b] + 0.1 * seeds[c]
        noise = rng.standard_normal(mix.shape[0]).astype(np.float32)
        rows.append(mix + noise * (0.4 * np.linalg.norm(mix) / np.linalg.norm(noise)))
    vectors = np.stack(rows).astype(np.float32)
    return titles, texts, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def write_corpus(folder: Path, size: int, s: dict[str, Any]) -> None:
    """An index of `size` chunks in `folder`, written through the store's row writer."""
    import numpy as np

    from rag.core.types import Chunk, Document, Section, content_hash
    from rag.index import Index
    from rag.store import rows

    index = Index.open(folder, embedder=s["embedder"])
    store, root, rng = index.store, str(folder.parent / f"corpus-{size}"), np.random.default_rng(size)
    per_txn = 2000
    for first in range(0, size, per_txn * CHUNKS_PER_DOC):
        count = min(per_txn * CHUNKS_PER_DOC, size - first)
        titles, texts, vectors = synthetic(s, first, count, rng)
        with store.transaction():
            for d in range(0, count, CHUNKS_PER_DOC):
                n = first + d
                doc_id, part = f"syn{n:08d}", slice(d, min(d + CHUNKS_PER_DOC, count))
                sections = (Section(" ".join(texts[part])),)
                doc = Document(doc_id, f"synthetic/{doc_id}.txt", "text", titles[d], sections)
                chunks = [Chunk(f"{doc_id}-{j}", doc_id, t, {}, 0, len(t), 0) for j, t in enumerate(texts[part])]
                hashes = [content_hash("scale", doc_id, str(j)) for j in range(len(chunks))]
                rows.write_document(store.db, root, doc, chunks, vectors[part], hashes,
                                    (content_hash(doc_id), 1000, 0), "text")
            store.bump_commit()
    store.checkpoint()
    index.close()


def rag(*args: str) -> tuple[float, str]:
    """Run the rag CLI in a fresh process; (wall seconds from its start, stdout)."""
    started = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).parent / "rag"), *args], capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"rag {' '.join(args)} failed: {done.stderr.strip()}")
    return wall, done.stdout


def probe(folder: Path, queries: list[str], qvectors_file: Path) -> dict[str, Any]:
    """Runs in a fresh process: warm Index.search timings, the BM25 half alone, the dense candidates."""
    import numpy as np

    from rag.index import Index
    from rag.retrieve.lexical import fts_query

    index = Index.open(folder, create=False)
    index.search(queries[0], k=10)   # loads the model and the vector index
    timings, lexical, raw, refined, focused = [], [], [], [], []
    for q in queries:
        started = time.perf_counter()
        index.search(q, k=10)
        timings.append(time.perf_counter() - started)
        if index.store.lexicons.state is not None:
            index.store.lexicons.state.last = ()   # not the scores the search just made
        started = time.perf_counter()
        focused.append([r for r, _ in index.store.lexical(fts_query(q), DEPTH)][:10])
        lexical.append(time.perf_counter() - started)
    qvectors = np.load(qvectors_file)
    table = dict(zip(queries, qvectors, strict=False))
    model = index.embedder

    class Known:   # the same searches with the query vector known: Index.search less the model's time
        name, dim, max_tokens = model.name, model.dim, model.max_tokens

        def embed(self, texts: list[str]) -> Any:
            return np.stack([table[t] for t in texts])

    index._embedder = Known()   # type: ignore[assignment]  # same process, same vector index (one mapping)
    retrieval = []
    for q in queries[:len(qvectors)]:
        started = time.perf_counter()
        index.search(q, k=10)
        retrieval.append(time.perf_counter() - started)
    vectors = index.vectors()
    for qv in qvectors:
        found = vectors.search(qv, DEPTH)
        raw.append([i for i, _ in found[:10]])
        ids, stored = index.store.vectors_of(np.array(sorted(i for i, _ in found), dtype=np.int64))
        refined.append([int(ids[j]) for j in np.argsort(-(stored @ qv))[:10]])
    peak = _peak_rss_mb()
    return {"timings": timings, "lexical": lexical, "raw": raw, "refined": refined, "kind": vectors.kind,
            "retrieval": retrieval, "rebuilt": vectors.rebuilt, "peak_rss_mb": peak,
            "lexical_kind": "postings" if index.store.lexicons.state is not None else "fts5",
            "lexical_recall_at_10": _lexical_recall(index.store.db, queries, focused)}


def _peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM). Not getrusage's ru_maxrss: Linux carries that across exec, so a
    child started by this script would report the peak of the parent that holds the corpus."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _lexical_recall(db: Any, queries: list[str], focused: list[list[int]]) -> float:
    """The share of every query's whole BM25 top 10 (no term left out) that the focused one found."""
    from rag.retrieve.lexical import fts_query

    sql = ("SELECT rowid, -bm25(chunks_fts, 2.0, 1.0) AS s FROM chunks_fts WHERE chunks_fts MATCH ? "
           "ORDER BY s DESC LIMIT 10")
    whole = [[int(r) for r, _ in db.execute(sql, (fts_query(q),))] if fts_query(q) else [] for q in queries]
    hits = sum(len(set(w) & set(f)) for w, f in zip(whole, focused, strict=True))
    return round(hits / max(1, sum(map(len, whole))), 3)


def build(work: Path, size: int, s: dict[str, Any]) -> dict[str, Any]:
    """Write the index of `size` chunks and its vector index; the build figures (also kept beside it)."""
    from rag.store.faiss import VectorIndex
    from rag.store.sqlite import SQLiteStore

    folder = work / f"index-{size}"
    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    write_corpus(folder, size, s)
    rows_s = time.perf_counter() - started
    store = SQLiteStore.open(folder, s["embedder"].name, s["embedder"].name, s["vectors"].shape[1], create=False,
                             write=True)
    VectorIndex.build(store).save(folder, [str(work / f"corpus-{size}")])
    postings_s = keep_postings(store)
    store.close()
    figures = {"build_s": round(time.perf_counter() - started, 1), "rows_s": round(rows_s, 1),
               "postings_build_s": postings_s,
               "disk_mb": round(sum(f.stat().st_size for f in folder.iterdir()) / 1e6)}
    (work / f"index-{size}.build.json").write_text(json.dumps(figures))
    return figures


def keep_postings(store: Any) -> float | None:
    """The BM25 postings of the store's commit written as a commit writes them (under the write lock); the
    seconds that took, or None when they were there already (or the index is below POSTINGS_MIN)."""
    from rag.store import postings
    from rag.store.lock import WriteLock

    if postings.read_sidecar(store.folder, store.commit_number()) is not None:
        return None
    lock = WriteLock(store.folder, 5.0)
    try:
        started = time.perf_counter()
        kept = postings.keep(store)
        return round(time.perf_counter() - started, 1) if kept != "none" else None
    finally:
        lock.release()


def exact_top10(folder: Path, qvectors: Any) -> Any:
    """Brute-force inner-product top 10 row ids of each query over every vector in rag.sqlite (in batches)."""
    import numpy as np

    from rag.store.schema import DB_NAME, connect

    db = connect(folder / DB_NAME, write=False)
    best_ids = np.zeros((len(qvectors), 0), np.int64)
    best = np.zeros((len(qvectors), 0), np.float32)
    last = 0
    while rows := db.execute("SELECT id, vector FROM chunks WHERE id > ? ORDER BY id LIMIT 50000", (last,)).fetchall():
        ids = np.array([r[0] for r in rows], np.int64)
        vectors = np.frombuffer(b"".join(r[1] for r in rows), np.float32).reshape(len(rows), -1)
        scores = np.concatenate([best, qvectors @ vectors.T], axis=1)
        every = np.concatenate([np.broadcast_to(best_ids, best.shape), np.broadcast_to(ids, (len(qvectors), len(ids)))],
                               axis=1)
        top = np.argpartition(-scores, 10, axis=1)[:, :10]
        best, best_ids = np.take_along_axis(scores, top, 1), np.take_along_axis(every, top, 1)
        last = int(ids[-1])
    db.close()
    return best_ids


def measure(work: Path, size: int, s: dict[str, Any], reuse: bool = False) -> dict[str, Any]:
    import numpy as np

    folder = work / f"index-{size}"
    kept = work / f"index-{size}.build.json"
    reused = reuse and (folder / "rag.sqlite").is_file()
    if reused:
        figures = json.loads(kept.read_text()) if kept.is_file() else {"build_s": None, "rows_s": None}
        from rag.store.sqlite import SQLiteStore

        store = SQLiteStore.open(folder, s["embedder"].name, s["embedder"].name, s["vectors"].shape[1],
                                 create=False, write=True)
        built = keep_postings(store)
        store.close()
        if built is not None:
            figures["postings_build_s"] = built
        figures["disk_mb"] = round(sum(f.stat().st_size for f in folder.iterdir()) / 1e6)
    else:
        figures = build(work, size, s)
    extra = work / f"extra-{size}"
    shutil.rmtree(extra, ignore_errors=True)
    extra.mkdir()
    (extra / "new.md").write_text("# Tidal notes\n\nThe harbour's tide gauge was recalibrated in March after "
                                  "the storm surge moved its benchmark by four millimetres.\n")
    add_s = rag("ingest", str(extra), "--index", str(folder))[0]
    remove_s = rag("rm", str(extra / "new.md"), "--index", str(folder))[0]
    qfile = work / "qvectors.npy"
    np.save(qfile, s["qvectors"])
    queries = [str(q) for q in s["queries"]]
    # the first search after the commit, then two more new processes: the first also reads what the commit
    # changed from disk, the others show a process's own start (the page cache warm)
    colds = [rag("search", queries[1], "--index", str(folder), "--json")[0] for _ in range(3)]
    cold_s = colds[0]
    out = subprocess.run([sys.executable, __file__, "--probe", str(folder), "--qfile", str(qfile)],
                         capture_output=True, text=True, check=True, input=json.dumps(queries))
    got = json.loads(out.stdout.strip().splitlines()[-1])
    exact = exact_top10(folder, s["qvectors"])
    ms = np.array(got["timings"]) * 1000
    return {"size": size, **figures, "reused": reused, "add_one_s": round(add_s, 2), "remove_one_s": round(remove_s, 2),
            "query_p50_ms": _ms(ms, 50), "query_p95_ms": _ms(ms, 95),
            "lexical_p50_ms": _ms(np.array(got["lexical"]) * 1000, 50),
            "lexical_recall_at_10": got["lexical_recall_at_10"],
            "search_known_vector_p50_ms": _ms(np.array(got.get("retrieval", [0.0])) * 1000, 50),
            "recall_at_10": _recall(got["refined"], exact), "raw_recall_at_10": _recall(got["raw"], exact),
            "cold_search_s": round(cold_s, 2), "cold_search_again_s": [round(c, 2) for c in colds[1:]],
            "peak_rss_mb": round(got["peak_rss_mb"]), "kind": got["kind"], "lexical_kind": got["lexical_kind"],
            "rebuilt": got["rebuilt"], "others_load": round(os.getloadavg()[0], 1)}


def _ms(values: Any, q: int) -> float:
    import numpy as np

    return round(float(np.percentile(values, q)), 1)


def _recall(found: list[list[int]], exact: Any) -> float:
    hits = sum(len(set(f) & set(int(x) for x in e)) for f, e in zip(found, exact, strict=True))
    return round(hits / (10 * len(found)), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--json", action="store_true", help="one JSON line per size")
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "rag-scale")
    parser.add_argument("--keep", action="store_true", help="keep the indexes (else each is deleted after)")
    parser.add_argument("--reuse", action="store_true", help="measure an index a --keep run left in --work "
                        "instead of building it again (its build figures are those that run kept)")
    parser.add_argument("--probe", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--qfile", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        print(json.dumps(probe(args.probe, json.loads(sys.stdin.read()), args.qfile)))
        return
    if not (DATA / "corpus.jsonl").exists():
        sys.exit(f"{DATA}: SciFact is absent — it sits beside the checkout (../shared/data/scifact)")
    s = seed(args.work)
    shown = KEYS + ("raw_recall_at_10", "lexical_recall_at_10", "search_known_vector_p50_ms", "cold_search_s",
                     "cold_search_again_s", "kind", "lexical_kind", "postings_build_s")
    if not args.json:
        print(" | ".join(shown))
    for size in (int(x) for x in args.sizes.split(",")):
        row = measure(args.work, size, s, args.reuse)
        print(json.dumps(row) if args.json else " | ".join(str(row.get(k)) for k in shown), flush=True)
        if not (args.keep or args.reuse):
            shutil.rmtree(args.work / f"index-{size}", ignore_errors=True)


if __name__ == "__main__":
    main()
