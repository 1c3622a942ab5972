"""llama.cpp's state after the fixed system prompt, kept on disk so that a new process skips evaluating it.

Every question's prompt starts with the same system turn. In one process llama.cpp reuses its KV cache for
that common prefix; across processes (each `rag ask`) the state is saved once to the model cache
(`prompt-cache/<key>.state`, about 1.5 MB for the 0.5B model) and loaded back in a few milliseconds. The
key covers the model file (path, size, mtime), the context size, the llama.cpp build and the prefix text,
so a changed prompt or model never restores a stale state. The file holds the prefix's tokens too: they
are compared with the prompt's before the state is used. Anything wrong with the file (missing, damaged,
another build) means the prefix is evaluated as before and the file rewritten.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llama_cpp import Llama


def state_path(model: Llama, model_file: Path, prefix: str, cache: Path) -> Path:
    import llama_cpp

    stat = model_file.stat()
    key = hashlib.sha256("\0".join(
        (str(model_file.resolve()), str(stat.st_size), str(stat.st_mtime_ns), str(model.n_ctx()),
         llama_cpp.__version__, prefix)).encode("utf-8")).hexdigest()[:24]
    return cache / "prompt-cache" / f"{key}.state"


def warm(model: Llama, model_file: Path, prefix: str, cache: Path) -> str:
    """Put `prefix` in the model's KV cache: from the saved state when there is a good one, else by
    evaluating it and saving the state. Returns "restored", "evaluated" or "kept" (already there)."""
    import llama_cpp

    tokens = model.tokenize(prefix.encode("utf-8"), special=True)  # as create_completion tokenizes
    if not tokens or len(tokens) >= model.n_ctx():
        return "kept"
    if model.n_tokens >= len(tokens) and list(model.input_ids[:len(tokens)]) == tokens:
        return "kept"
    path = state_path(model, model_file, prefix, cache)
    if path.is_file() and _restore(model, path, tokens):
        return "restored"
    model.reset()
    model.eval(tokens)
    array = (llama_cpp.llama_token * len(tokens))(*tokens)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(f"{path.name}.{os.getpid()}.part")
        if llama_cpp.llama_state_save_file(model._ctx.ctx, str(part).encode(), array, len(tokens)):
            os.replace(part, path)
        else:
            part.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only cache only costs the next process the prefix's evaluation
    return "evaluated"


def _restore(model: Llama, path: Path, tokens: list[int]) -> bool:
    import llama_cpp

    array = (llama_cpp.llama_token * len(tokens))()
    count = ctypes.c_size_t(0)
    model.reset()
    model._ctx.kv_cache_clear()
    try:
        ok = llama_cpp.llama_state_load_file(model._ctx.ctx, str(path).encode(), array, len(tokens),
                                             ctypes.byref(count))
    except (OSError, ValueError):
        ok = False
    if not ok or count.value != len(tokens) or list(array[:count.value]) != tokens:
        model._ctx.kv_cache_clear()
        model.reset()
        return False
    model.input_ids[:len(tokens)] = tokens
    model.n_tokens = len(tokens)
    model._requires_eval = True
    return True
