"""The CPU's feature flags, as Linux lists them in /proc/cpuinfo (avx2, avx512f, avx512_vnni, amx_int8, ...)."""

from __future__ import annotations

from pathlib import Path


def cpu_flags() -> frozenset[str]:
    """The first processor's flags; empty where /proc/cpuinfo cannot be read (not Linux), so every check fails safe."""
    try:
        with Path("/proc/cpuinfo").open(encoding="ascii", errors="replace") as cpuinfo:
            return frozenset(next((line.split(":", 1)[-1].split() for line in cpuinfo if line.startswith("flags")), []))
    except OSError:
        return frozenset()
