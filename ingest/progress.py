"""What the ingest shows and prepares while it runs: the progress bar's counts, the embedder's bulk path."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from ingest.plan import Plan
from rag.embed.registry import Embedder


class Progress:
    """The bar (files) gets a postfix: chunks embedded so far, their rate, the file just read."""

    def __init__(self, bar: Any) -> None:
        self.bar, self.chunks, self.started, self.source = bar, 0, time.perf_counter(), ""

    def embedded(self, count: int) -> None:
        self.chunks += count
        self.show(self.source)

    def show(self, source: str) -> None:
        self.source = source
        rate = self.chunks / max(time.perf_counter() - self.started, 1e-9)
        self.bar.set_postfix_str(f"{self.chunks} chunks, {rate:.1f} chunks/s, {source[-40:]}")


def warm_embedder(get_embedder: Callable[[], Embedder], plan: Plan) -> None:
    """Tell an embedder with a bulk path (BundledMiniLM: onnxruntime or torch) how much is coming (~4 bytes a token), so
    that it loads that path in a thread while the first files are read, not after them."""
    warm = getattr(get_embedder(), "warm", None) if plan.to_load else None
    if warm is not None:
        tokens = sum(p.entry.size for p in plan.to_load) // 4
        threading.Thread(target=warm, args=(tokens,), daemon=True, name="warm-embedder").start()
