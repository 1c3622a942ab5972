"""Benchmark for the loaders of every source (issue 3), on the real files in ../shared/data/real_docs.

    .venv/bin/python bench/sources.py [--out bench/out/sources.json]

Measured in one run, each beside its baseline:
- OCR: character error rate against the .gt.txt files, for our loader and for plain pytesseract on the
  raw image (the baseline); seconds per page.
- Speech: word error rate of jfk.flac against jfk.txt; real-time factor (seconds of work per second of
  audio, model already loaded, and from a cold worker).
- Isolation: the same files loaded in the worker process and directly in this process (the overhead).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
REAL = ROOT.parent / "shared" / "data" / "real_docs"
OCR_FILES = [("images/tesseract_phototest.tif", "tesseract_phototest"),
             ("images/tesseract_eurotext.tif", "tesseract_eurotext"),
             ("pdfs/tesseract_phototest_scanned.pdf", "tesseract_phototest"),
             ("pdfs/tesseract_eurotext_scanned.pdf", "tesseract_eurotext"),
             ("images/donut_sample_document.png", "donut_sample_document"),
             ("images/cord_test_receipt_00004.png", "cord_test_receipt_00004")]


def _load(path: Path) -> Any:
    from ingest.registry import default_registry

    return default_registry()[path.suffix.lower()].load(path, path.name, "bench")


def _raw_ocr(path: Path) -> str:
    """The baseline: pytesseract's defaults on the image as it is (a PDF page rendered at 300 dpi)."""
    import pytesseract
    from PIL import Image

    if path.suffix == ".pdf":
        import pypdfium2

        image = pypdfium2.PdfDocument(str(path))[0].render(scale=300 / 72).to_pil()
    else:
        image = Image.open(path)
    return str(pytesseract.image_to_string(image))


def bench_ocr() -> list[dict[str, Any]]:
    from rag.eval.metrics import cer

    rows = []
    for name, truth in OCR_FILES:
        path = REAL / name
        reference = (REAL / "images" / f"{truth}.gt.txt").read_text(encoding="utf-8")
        started = time.perf_counter()
        doc = _load(path)
        seconds = time.perf_counter() - started
        ours = "\n".join(s.text for s in doc.sections)
        base_started = time.perf_counter()
        raw = _raw_ocr(path)
        base_seconds = time.perf_counter() - base_started
        pages = int(doc.meta.get("ocr_pages", 1)) or 1
        rows.append({"file": name, "cer": round(cer(reference, ours), 3),
                     "cer_raw_tesseract": round(cer(reference, raw), 3),
                     "numbers": _numbers_found(reference, ours),
                     "numbers_raw_tesseract": _numbers_found(reference, raw),
                     "pages": pages, "s_per_page": round(seconds / pages, 2),
                     "s_raw_tesseract": round(base_seconds, 2)})
    return rows


def _numbers_found(reference: str, text: str) -> str:
    """How many of the reference's numbers (amounts, dates) the text holds exactly: what a receipt is for."""
    import re

    numbers = re.findall(r"\d[\d.,:/%-]*\d|\d", reference)
    squashed = text.replace(" ", "")
    return f"{sum(n in squashed for n in numbers)}/{len(numbers)}"


def bench_speech() -> dict[str, Any]:
    import re

    from ingest.isolation import LoaderLimits, LoaderWorker, LoadJob
    from ingest.registry import default_registry
    from rag.eval.metrics import wer

    path = REAL / "audio" / "jfk.flac"
    norm = lambda t: re.sub(r"[^a-z0-9' ]", " ", t.lower())  # noqa: E731
    reference = norm((REAL / "audio" / "jfk.txt").read_text(encoding="utf-8"))
    spec = default_registry()[".flac"]
    with LoaderWorker(LoaderLimits()) as worker:
        started = time.perf_counter()
        worker.submit(LoadJob(spec, path, path.name, "bench", path.stat().st_size))
        doc = worker.result()
        cold = time.perf_counter() - started
        started = time.perf_counter()
        worker.submit(LoadJob(spec, path, path.name, "bench", path.stat().st_size))
        worker.result()
        warm = time.perf_counter() - started
    duration = float(doc.meta["duration"])
    text = norm(" ".join(s.text for s in doc.sections))
    return {"file": "audio/jfk.flac", "duration_s": round(duration, 2), "wer": round(wer(reference, text), 3),
            "rtf_warm": round(warm / duration, 3), "rtf_cold_worker": round(cold / duration, 3),
            "model": doc.meta.get("model")}


def bench_isolation() -> dict[str, Any]:
    from ingest.isolation import LoaderWorker, LoadJob
    from ingest.registry import default_registry

    samples = ROOT / "sample_docs"
    names = ["paper.pdf", "notes.md", "meeting.txt", "guide.html", "budget.docx", "roadmap.pptx",
             "invoice_email.eml", "talk.vtt", "standup.srt", "slack_export.zip", "notion_export.zip"]
    registry = default_registry()
    jobs = [LoadJob(registry[Path(n).suffix], samples / n, n, "bench") for n in names]
    for job in jobs:                                  # warm the imports in this process
        job.spec.load(job.path, job.source, job.doc_id)
    started = time.perf_counter()
    for _ in range(3):
        for job in jobs:
            job.spec.load(job.path, job.source, job.doc_id)
    direct = (time.perf_counter() - started) / 3
    started = time.perf_counter()
    with LoaderWorker() as worker:
        for _ in range(3):
            for job in jobs:
                worker.submit(job)
                worker.result()
    isolated = (time.perf_counter() - started) / 3
    return {"files": len(jobs), "direct_s": round(direct, 3), "worker_s_incl_start": round(isolated, 3),
            "ratio": round(isolated / direct, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "sources.json")
    args = parser.parse_args()
    if not REAL.is_dir():
        sys.exit(f"{REAL} is absent: this benchmark reads the real files beside the checkout")
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    result = {"ocr": bench_ocr(), "speech": bench_speech(), "isolation": bench_isolation(),
              "load_average": os.getloadavg()[0]}
    print(f"{'OCR file':<40}{'CER':>7}{'raw CER':>9}{'numbers':>9}{'raw':>7}{'s/page':>8}{'raw s':>7}")
    for r in result["ocr"]:
        print(f"{r['file']:<40}{r['cer']:>7.3f}{r['cer_raw_tesseract']:>9.3f}{r['numbers']:>9}"
              f"{r['numbers_raw_tesseract']:>7}{r['s_per_page']:>8.2f}{r['s_raw_tesseract']:>7.2f}")
    s = result["speech"]
    print(f"\nspeech {s['file']} ({s['duration_s']} s, {s['model']}): WER {s['wer']:.3f}, real-time factor "
          f"{s['rtf_warm']:.3f} (model loaded), {s['rtf_cold_worker']:.3f} (fresh worker, model load included)")
    i = result["isolation"]
    print(f"\nisolation: {i['files']} sample files loaded directly {i['direct_s']:.3f} s, in the worker "
          f"{i['worker_s_incl_start']:.3f} s (worker start included): {i['ratio']:.2f}x")
    print(f"load average at the end: {result['load_average']:.2f} (2 cores)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
