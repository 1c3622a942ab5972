"""What the ingest shows and prepares while it runs: the progress bar's counts, the embedder's bulk path."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from ingest.plan import Plan
from rag.embed.registry import Embedder


class Progress:
    """The bar (files) gets a postfix: chunks embedded so far out of those known to be coming (the batch
    being embedded: one big file can take many minutes), their rate, the time left for them at that rate,
    and the file just read."""

    def __init__(self, bar: Any) -> None:
        self.bar, self.chunks, self.queued, self.started, self.source = bar, 0, 0, time.perf_counter(), ""

    def embedded(self, count: int, queued: int = 0) -> None:
        """`count` more chunks embedded; `queued` more about to be (a batch, before its first embed call)."""
        self.chunks += count
        self.queued += queued
        self.show(self.source)

    def show(self, source: str) -> None:
        self.source = source
        rate = self.chunks / max(time.perf_counter() - self.started, 1e-9)
        left = self.queued - self.chunks
        done = f"{self.chunks}/{self.queued}" if left > 0 else f"{self.chunks}"
        eta = f", {_duration(left / rate)} left" if left > 0 and self.chunks else ""
        self.bar.set_postfix_str(f"{done} chunks, {rate:.1f} chunks/s{eta}, {source[-40:]}")


def _duration(seconds: float) -> str:
    """About how long: "40 s", "12 min", "2 h 5 min"."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 90 else f"{minutes // 60} h {minutes % 60} min"


def warm_embedder(get_embedder: Callable[[], Embedder], plan: Plan) -> None:
    """Tell an embedder with a bulk path (BundledMiniLM: onnxruntime or torch) how much is coming (~4 bytes a token), so
    that it loads that path in a thread while the first files are read, not after them."""
    warm = getattr(get_embedder(), "warm", None) if plan.to_load else None
    if warm is not None:
        tokens = sum(p.entry.size for p in plan.to_load) // 4
        threading.Thread(target=warm, args=(tokens,), daemon=True, name="warm-embedder").start()
