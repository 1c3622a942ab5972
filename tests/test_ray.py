"""Ingest on a real local Ray instance (ingest/distributed.py) into a real PostgreSQL server: the same documents
as a plain ingest, each file still read in an isolated loader process, a Ray worker that dies costing only its
file. Ray takes long to start and much memory, so this is one slow test; without --ray nothing imports Ray."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rag import Index

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_docs"
EMBEDDER = "hashing-256"


def test_a_plain_ingest_never_imports_ray(tmp_path: Path) -> None:
    code = ("import sys; from rag import Index; idx = Index.open(sys.argv[1], embedder='hashing-256'); "
            "idx.ingest(sys.argv[2]); assert 'ray' not in sys.modules, 'ray imported'; print('ok')")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "index"), str(SAMPLES / "notes.md")],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


@pytest.mark.slow
def test_ingest_on_ray_matches_a_plain_ingest(pg_url: str, tmp_path: Path) -> None:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray = pytest.importorskip("ray")
    from ingest.loaders.spec import LoaderSpec
    from ingest.registry import default_registry

    docs = tmp_path / "docs"
    shutil.copytree(SAMPLES, docs, ignore=shutil.ignore_patterns("*.py", "README.md", "*.wav"))
    (docs / "crash.boom").write_text("this file kills the process that reads it\n")

    def kill_the_reader(path: Path, source: str, doc_id: str) -> object:   # local: runs in the Ray worker itself
        os._exit(1)

    registry = default_registry()
    registry[".boom"] = LoaderSpec("boom", "text", kill_the_reader)
    with Index.open(tmp_path / "plain", embedder=EMBEDDER) as idx:
        idx.ingest(docs)   # the default registry: crash.boom is not read at all
        expected = {d.source: (d.chunks, d.content_hash) for d in idx.documents() if d.source != "crash.boom"}

    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False,
             object_store_memory=150 * 2**20)
    try:
        with Index.open(pg_url, embedder=EMBEDDER) as idx:
            summary = idx.ingest(docs, registry=registry, ray="auto")
            got = {d.source: (d.chunks, d.content_hash) for d in idx.documents() if d.status == "ok"}
            assert [f.source for f in summary.failed] == ["crash.boom"]
            assert "the Ray worker reading it died twice" in summary.failed[0].error
            assert got == expected and summary.added == len(expected)
            assert idx.search("training corpus", 1)[0].source == "paper.pdf"
            again = idx.ingest(docs, registry=registry, ray="auto")
            assert (again.embedded_chunks, again.unchanged) == (0, len(expected))
    finally:
        ray.shutdown()
