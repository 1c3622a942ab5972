"""Read what we need from a GGUF file's metadata header (standard library only, no model load).

Used to learn a model's trained context length before llama.cpp allocates its context: llama.cpp
accepts a larger n_ctx than the model was trained for, and then generates garbage past it.
Format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

MAGIC = b"GGUF"
SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
STRING, ARRAY = 8, 9


def context_length(path: Path) -> int | None:
    """The context length the model was trained with (`<architecture>.context_length`), if recorded.

    Raises ValueError naming the file when it is not a GGUF file (version 2 or 3) or is cut short.
    """
    with path.open("rb") as f:
        if f.read(4) != MAGIC:
            raise ValueError(f"{path.name} is not a GGUF model file (it lacks the GGUF magic number)")
        version, _tensors, count = struct.unpack("<IQQ", read_exactly(f, 20))
        if version not in (2, 3):
            raise ValueError(f"{path.name}: GGUF version {version} is not supported (2 or 3 are)")
        wanted = None
        for _ in range(count):
            key, kind = read_string(f), read_count(f, "<I")
            if key == "general.architecture" and kind == STRING:
                wanted = f"{read_string(f)}.context_length"
            elif key == wanted and kind in SCALARS:
                value = struct.unpack(SCALARS[kind], read_exactly(f, struct.calcsize(SCALARS[kind])))[0]
                return int(value) if int(value) > 0 else None
            else:
                skip_value(f, kind)
    return None


def skip_value(f: BinaryIO, kind: int) -> None:
    if kind in SCALARS:
        f.seek(struct.calcsize(SCALARS[kind]), 1)
    elif kind == STRING:
        f.seek(read_count(f, "<Q"), 1)
    elif kind == ARRAY:
        item_kind, n = read_count(f, "<I"), read_count(f, "<Q")
        if item_kind in SCALARS:
            f.seek(n * struct.calcsize(SCALARS[item_kind]), 1)
        else:
            for _ in range(n):
                skip_value(f, item_kind)
    else:
        raise ValueError(f"unknown GGUF value type {kind} (the header is damaged)")


def read_string(f: BinaryIO) -> str:
    return read_exactly(f, read_count(f, "<Q")).decode("utf-8", errors="replace")


def read_count(f: BinaryIO, fmt: str) -> int:
    return int(struct.unpack(fmt, read_exactly(f, struct.calcsize(fmt)))[0])


def read_exactly(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise ValueError("the GGUF header is cut short (the file is truncated)")
    return data
