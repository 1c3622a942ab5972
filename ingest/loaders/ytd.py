"""The data files of a Twitter/X archive: `window.YTD.<name>.part<N> = [...]`, read as JSON, never run.

Each file under `data/` is one JavaScript assignment whose right-hand side is a JSON array. The text
after the `=` is parsed with `json.loads` (a trailing `;` dropped); nothing is evaluated, so a file that
holds code instead of data is refused, not executed. A big account's tweets come in parts:
`tweets.js`, `tweets-part1.js`, `tweets-part2.js`, … (older archives say `tweet.js`).

    items = read_part(tree, "data/tweets.js", "tweets")   # the list after the assignment
"""

from __future__ import annotations

import json
import re
from typing import Any

from ingest.loaders.safezip import Archive, Folder, MemberError
from rag.core.errors import LoaderError

MAX_BYTES = 256 << 20   # one data file; a bigger one is refused before it is read
_ASSIGNMENT = re.compile(rb"\A\s*window\.YTD\.([A-Za-z0-9_]+)\.part(\d+)\s*=\s*")
REFETCH = "download the archive again (Settings → Your account → Download an archive of your data)"


def part_names(names: list[str], root: str, *bases: str) -> list[str]:
    """The files `<root>data/<base>.js` and `<root>data/<base>-partN.js` for each base, in part order."""
    found: list[tuple[int, int, str]] = []
    for order, base in enumerate(bases):
        pattern = re.compile(re.escape(f"{root}data/{base}") + r"(?:-part(\d+))?\.js")
        for name in names:
            match = pattern.fullmatch(name)
            if match:
                found.append((order, int(match.group(1) or 0), name))
    return [name for _, _, name in sorted(found)]


def member_size(tree: Archive | Folder, name: str) -> int:
    if isinstance(tree, Archive):
        return tree.size(name)
    return (tree.root / name).stat().st_size


def read_part(tree: Archive | Folder, name: str, source: str, max_bytes: int = MAX_BYTES) -> list[Any]:
    """The JSON array a data file assigns; LoaderError naming `source`, the file and the fix otherwise."""
    where = f"{source}: {name}"
    try:
        size = member_size(tree, name)
    except OSError as exc:
        raise LoaderError(f"{where}: cannot be read ({exc.strerror or exc}) — check its permissions") from exc
    if size > max_bytes:
        raise LoaderError(f"{where}: {size:,} bytes, over the limit of {max_bytes:,} for one archive file — "
                          "split it into parts (data/tweets-part1.js, data/tweets-part2.js, …, each "
                          "`window.YTD.tweets.partN = [...]`) or remove what you do not need from it")
    try:
        data = tree.read(name)
    except MemberError as exc:
        raise LoaderError(f"{source}: {exc} — {REFETCH}") from exc
    return parse_part(data, where)


def parse_part(data: bytes, where: str) -> list[Any]:
    """The array after `window.YTD.x.partN =`, parsed as JSON."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    match = _ASSIGNMENT.match(data)
    if not match:
        start = data[:40].decode("utf-8", "replace").strip()
        raise LoaderError(f"{where}: not a Twitter archive data file (it starts {start!r}, not "
                          f"'window.YTD.<name>.part0 = [') — {REFETCH}")
    body = data[match.end():].rstrip().rstrip(b";")
    try:
        items = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise LoaderError(f"{where}: not UTF-8 text (byte {exc.start}) — {REFETCH}") from exc
    except json.JSONDecodeError as exc:
        what = "damaged" if body.endswith(b"]") else "cut short"   # a whole file ends with its array's "]"
        raise LoaderError(f"{where}: the file is {what} (invalid JSON at line {exc.lineno}, column {exc.colno}: "
                          f"{exc.msg}) — {REFETCH}") from exc
    if not isinstance(items, list):
        raise LoaderError(f"{where}: holds a {type(items).__name__}, not the list of items an archive file "
                          f"holds — {REFETCH}")
    return items


def dig(item: Any, *path: str) -> Any:
    """item[path[0]][path[1]]…, or None where a level is missing or not an object."""
    for key in path:
        if not isinstance(item, dict):
            return None
        item = item.get(key)
    return item
