"""Zip archives: the sample bundle, members read by their own loaders, and hostile archives.

Every hostile archive is built here, in a temporary folder: the loader returns what is good and names
the bad part in meta["warnings"], or raises LoaderError naming the file, the problem and the fix; it
never writes outside its own temporary folder.
"""

from __future__ import annotations

import io
import json
import re
import stat
import struct
import tempfile
import time
import zipfile
from pathlib import Path

import pytest
from conftest import SAMPLES, sample_script

from ingest.loaders.safezip import MemberError, ZipLimits, open_archive, safe_name
from ingest.registry import default_registry
from rag.core.errors import LoaderError
from rag.core.types import Document, render_locator


def zip_of(path: Path, members: list[tuple[str, bytes]]) -> Path:
    path.write_bytes(sample_script("make_exports").zip_bytes(members))
    return path


def load(path: Path, source: str | None = None) -> Document:
    return default_registry()[".zip"].load(path, source or path.name, "doc-1")


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder the loader unpacks into; tests check that it is left empty."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_samples_are_what_make_exports_writes(tmp_path: Path) -> None:
    sample_script("make_exports").main(tmp_path)
    for name in ("slack_export.zip", "notion_export.zip", "bundle.zip"):
        assert (tmp_path / name).read_bytes() == (SAMPLES / name).read_bytes(), f"rerun make_exports: {name}"


def test_bundle_members_keep_their_loaders_locators() -> None:
    doc = load(SAMPLES / "bundle.zip")
    assert (doc.kind, doc.title, doc.meta["members"]) == ("archive", "bundle", 2)
    assert [s.locator for s in doc.sections] == [
        {"member": "checklists/radio.txt", "title": "radio"},
        {"member": "older.zip/minutes/generator.md", "heading": "Generator log", "line": 1, "title": "Generator log"},
    ]
    assert "18:00 every day on VHF channel 16" in doc.sections[0].text
    assert "3 litres of diesel per hour" in doc.sections[1].text
    assert render_locator(doc.sections[1].locator) == "older.zip/minutes/generator.md, § Generator log"
    assert len(doc.meta["warnings"]) == 1 and "data/readings.bin" in doc.meta["warnings"][0]
    assert "no loader" in doc.meta["warnings"][0]
    json.dumps(doc.meta)


def test_pdf_member_keeps_pages_and_counts(tmp_path: Path, scratch: Path) -> None:
    path = zip_of(tmp_path / "papers.zip", [("papers/paper.pdf", (SAMPLES / "paper.pdf").read_bytes()),
                                            ("broken.pdf", b"not a pdf at all")])
    doc = load(path)
    assert [s.locator["page"] for s in doc.sections] == [1, 2, 3]
    assert doc.sections[1].locator["member"] == "papers/paper.pdf"
    assert doc.sections[1].locator["page_label"] == "102" and doc.meta["pages"] == 3
    assert render_locator(doc.sections[1].locator) == "papers/paper.pdf, p. 2 (printed 102)"
    assert any(w.startswith("broken.pdf: ") and "not a PDF" in w for w in doc.meta["warnings"])
    assert list(scratch.iterdir()) == []


def test_long_and_odd_member_names_are_unpacked_under_names_made_here(tmp_path: Path, scratch: Path) -> None:
    long_name = "docs/" + "é" * 200 + ".txt"   # 400 bytes: longer than a file system allows
    path = zip_of(tmp_path / "odd.zip", [(long_name, b"The long one."), ("tab\tbell\x07.md", b"# Odd\n\nStrange.")])
    doc = load(path)
    assert [s.locator["member"] for s in doc.sections] == [long_name, "tabbell.md"]
    assert list(scratch.iterdir()) == []


def test_nothing_readable_is_an_error(tmp_path: Path) -> None:
    path = zip_of(tmp_path / "junk.zip", [("broken.pdf", b"not a pdf"), ("x.bin", b"\x00\x01")])
    with pytest.raises(LoaderError, match=r"^junk\.zip: nothing in the archive could be read \(broken\.pdf: .* — "):
        load(path)
    with pytest.raises(LoaderError, match=r"^empty\.zip: nothing .*it holds no files.* — "):
        load(zip_of(tmp_path / "empty.zip", []))


@pytest.mark.parametrize("data", [b"just text, not a zip\n", b"", None])
def test_not_a_zip_or_truncated(tmp_path: Path, data: bytes | None) -> None:
    path = tmp_path / "bad.zip"
    path.write_bytes(data if data is not None else (SAMPLES / "bundle.zip").read_bytes()[:300])
    with pytest.raises(LoaderError, match=r"^in/bad\.zip: not a readable zip archive \(.+\) — .*again"):
        load(path, "in/bad.zip")


def _symlink_entry(name: str, target: bytes) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.create_system, info.external_attr = 3, (stat.S_IFLNK | 0o777) << 16
    return info, target


def test_zip_slip_entries_are_skipped_and_nothing_escapes(tmp_path: Path, scratch: Path) -> None:
    path = tmp_path / "slip.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name in ("../evil.txt", "/tmp/evil-abs.txt", "a/../../evil2.txt", "..\\evil3.txt", "C:/evil4.txt"):
            zf.writestr(zipfile.ZipInfo(name), b"escaped")
        zf.writestr(*_symlink_entry("link.txt", b"/etc/passwd"))
        zf.writestr("ok/fine.txt", b"The harbour master keeps the spare keys.")
    doc = load(path)
    assert [s.locator["member"] for s in doc.sections] == ["ok/fine.txt"]
    warned = "\n".join(doc.meta["warnings"])
    for name in ("../evil.txt", "/tmp/evil-abs.txt", "a/../../evil2.txt", "evil3.txt", "C:/evil4.txt"):
        assert name in warned
    assert "'link.txt': skipped — it is a symbolic link" in warned
    assert "outside the archive" in warned
    assert not list(tmp_path.parent.glob("evil*")) and not (Path("/tmp") / "evil-abs.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scratch", "slip.zip"]
    assert list(scratch.iterdir()) == []


def test_safe_names() -> None:
    assert safe_name("a/./b//c.txt") == "a/b/c.txt"
    assert safe_name("dir\\file.txt") == "dir/file.txt"
    assert safe_name("bell\x07name.md") == "bellname.md"
    for bad in ("../x", "a/../../x", "/etc/passwd", "C:\\x", "c:x", "..", ""):
        assert safe_name(bad) is None, bad


def _bomb(path: Path, megabytes: int, extra: list[tuple[str, bytes]]) -> Path:
    """A member of `megabytes` MB of zeros, compressed while it is written (nothing that size in memory)."""
    block = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("zeros.txt", "w", force_zip64=True) as f:
            for _ in range(megabytes):
                f.write(block)
        for name, data in extra:
            zf.writestr(name, data)
    return path


def test_zip_bomb_member_is_skipped_without_unpacking(tmp_path: Path, scratch: Path) -> None:
    path = _bomb(tmp_path / "bomb.zip", 200, [("ok.txt", b"The tide gauge is read at noon.")])
    assert path.stat().st_size < 2_000_000
    started = time.perf_counter()
    doc = load(path)
    assert time.perf_counter() - started < 2.0
    assert [s.locator["member"] for s in doc.sections] == ["ok.txt"]
    assert re.search(r"'zeros\.txt': skipped — it expands [\d,]+ times .*zip bomb", doc.meta["warnings"][0])
    with pytest.raises(LoaderError, match=r"^only\.zip: nothing in the archive could be read .*zip bomb"):
        load(_bomb(tmp_path / "only.zip", 20, []))
    assert list(scratch.iterdir()) == []


def test_declared_total_over_the_limit_is_refused(tmp_path: Path) -> None:
    path = zip_of(tmp_path / "big.zip", [(f"f{i}.txt", b"x" * 600) for i in range(3)])
    with pytest.raises(LoaderError, match=r"^big\.zip: the archive would expand to 1,800 bytes, more than the "
                                          r"limit of 1,000 — if you trust it, unzip it"):
        open_archive(path, "big.zip", ZipLimits(max_total=1000))


def _patch_size(data: bytes, name: bytes, size: int) -> bytes:
    """The zip with the uncompressed size of `name` rewritten in its local and central headers."""
    out = bytearray(data)
    local = out.index(b"PK\x03\x04")
    while out[local + 30: local + 30 + len(name)] != name:
        local = out.index(b"PK\x03\x04", local + 4)
    struct.pack_into("<I", out, local + 22, size)
    central = out.index(b"PK\x01\x02")
    while out[central + 46: central + 46 + len(name)] != name:
        central = out.index(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", out, central + 24, size)
    return bytes(out)


def test_member_whose_header_lies_is_cut_at_the_declared_size(tmp_path: Path) -> None:
    real = bytes(5 << 20)  # 5 MB of zeros that the headers call 100 bytes
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("liar.txt", real)
        zf.writestr("ok.txt", b"The weather balloon goes up at dawn.")
    path = tmp_path / "liar.zip"
    path.write_bytes(_patch_size(buffer.getvalue(), b"liar.txt", 100))
    with open_archive(path, "liar.zip") as archive:
        assert archive.size("liar.txt") == 100
        with pytest.raises(MemberError, match=r"^liar\.txt: is damaged .*CRC"):
            archive.read("liar.txt")
    doc = load(path)
    assert [s.locator["member"] for s in doc.sections] == ["ok.txt"]
    assert any(w.startswith("liar.txt: is damaged") for w in doc.meta["warnings"])


def test_encrypted_entry_is_reported(tmp_path: Path) -> None:
    zip_bytes = sample_script("make_exports").zip_bytes
    data = bytearray(zip_bytes([("secret.txt", b"hidden"), ("open.txt", b"Open to all readers.")]))
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.index(signature)  # the first entry's local and central headers: secret.txt
        struct.pack_into("<H", data, at + offset, struct.unpack_from("<H", data, at + offset)[0] | 0x1)
    (tmp_path / "locked.zip").write_bytes(bytes(data))
    doc = load(tmp_path / "locked.zip")
    assert [s.locator["member"] for s in doc.sections] == ["open.txt"]
    assert "'secret.txt': skipped — it is encrypted — export the archive without a password" in doc.meta["warnings"]


def test_too_many_entries(tmp_path: Path) -> None:
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(10_001):
            zf.writestr(f"f{i}.txt", b"")
    with pytest.raises(LoaderError, match=r"^many\.zip: the archive has 10001 entries, more than the limit of "
                                          r"10000 — if you trust it, unzip it and ingest the folder"):
        load(path)


def test_nesting_deeper_than_the_limit_is_skipped(tmp_path: Path) -> None:
    zip_bytes = sample_script("make_exports").zip_bytes
    inner = zip_bytes([("level4.txt", b"Level four is too deep to read.")])
    for level in (3, 2, 1):
        inner = zip_bytes([(f"level{level}.txt", f"Level {level} note about buoys.".encode()),
                           (f"n{level + 1}.zip", inner)])
    path = zip_of(tmp_path / "deep.zip", [("level0.txt", b"Level 0 note about buoys."), ("n1.zip", inner)])
    doc = load(path)
    assert [s.locator["member"] for s in doc.sections] == [
        "level0.txt", "n1.zip/level1.txt", "n1.zip/n2.zip/level2.txt", "n1.zip/n2.zip/n3.zip/level3.txt"]
    assert doc.meta["warnings"] == ["n1.zip/n2.zip/n3.zip: n4.zip: skipped — archives nested more than 3 deep"]


def test_nested_bad_zip_is_a_warning(tmp_path: Path) -> None:
    path = zip_of(tmp_path / "outer.zip", [("inner.zip", b"this is no zip"), ("a.txt", b"Anchor chain is 40 m.")])
    doc = load(path)
    assert [s.locator["member"] for s in doc.sections] == ["a.txt"]
    assert doc.meta["warnings"][0].startswith("inner.zip: skipped — not a readable zip archive")


def test_exports_inside_an_archive_are_read_as_exports(tmp_path: Path) -> None:
    path = zip_of(tmp_path / "backup.zip", [("exports/slack.zip", (SAMPLES / "slack_export.zip").read_bytes()),
                                            ("exports/notion.zip", (SAMPLES / "notion_export.zip").read_bytes())])
    doc = load(path)
    members = {s.locator["member"] for s in doc.sections}
    assert members == {"exports/slack.zip", "exports/notion.zip"}
    launch = next(s for s in doc.sections if "launch moves to March 3" in s.text)
    assert launch.locator["channel"] == "general" and launch.locator["author"] == "Ana Lima"
    assert render_locator(launch.locator).startswith("exports/slack.zip, #general, 2026-02-10, Ana Lima")
    assert any(s.locator.get("notion_path") == "Projects/Tasks" for s in doc.sections)
