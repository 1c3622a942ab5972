"""The CPU's feature flags, as Linux lists them in /proc/cpuinfo (avx2, avx512f, avx512_vnni, amx_int8, ...),
and the cores this process may use."""

from __future__ import annotations

import os
from pathlib import Path


def cpu_flags() -> frozenset[str]:
    """The first processor's flags; empty where /proc/cpuinfo cannot be read (not Linux), so every check fails safe."""
    try:
        with Path("/proc/cpuinfo").open(encoding="ascii", errors="replace") as cpuinfo:
            return frozenset(next((line.split(":", 1)[-1].split() for line in cpuinfo if line.startswith("flags")), []))
    except OSError:
        return frozenset()


def native_bf16() -> bool:
    """Whether the CPU multiplies bfloat16 natively (AVX512-BF16 or AMX): known without importing torch."""
    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


def usable_cores() -> int:
    """The cores this process may run on (its affinity where the OS says, else the machine's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
